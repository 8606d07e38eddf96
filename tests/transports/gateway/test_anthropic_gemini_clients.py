"""The official `anthropic` and `google-genai` SDKs against the gateway, both ways."""

from __future__ import annotations

import anthropic
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    COUNT_TOKENS_ANSWER,
    DEFAULT_ANSWER,
    GEMINI_CACHED_TOKENS,
    GEMINI_PROMPT_TOKENS,
    OPENAI_CACHED_TOKENS,
    OPENAI_PROMPT_TOKENS,
    ScriptedUpstream,
)
from tests.sdk_clients import claude_client, claude_stream, gemini_client


async def test_anthropic_message_passes_through_with_cache_usage(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await claude_client(gateway).messages.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert reply.content[0].type == "text" and reply.content[0].text.startswith(DEFAULT_ANSWER)
    assert reply.usage.input_tokens == ANTHROPIC_INPUT_TOKENS
    assert reply.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert reply.usage.cache_creation_input_tokens == ANTHROPIC_CACHE_CREATION_TOKENS
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/messages"
    assert seen.headers["anthropic-version"]


async def test_anthropic_stream_keeps_the_cache_fields_to_the_end(
    gateway: GatewayRuntime,
) -> None:
    text, final = await claude_stream(gateway, "claude-sonnet-4-6")
    assert text.startswith(DEFAULT_ANSWER)
    assert final.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert final.usage.output_tokens == ANTHROPIC_OUTPUT_TOKENS


async def test_anthropic_client_on_an_openai_upstream_keeps_cache_tokens(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await claude_client(gateway).messages.create(
        model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    )
    assert upstream.llm_requests[0].path == "/v1/chat/completions"
    assert reply.usage.input_tokens == OPENAI_PROMPT_TOKENS - OPENAI_CACHED_TOKENS
    assert reply.usage.cache_read_input_tokens == OPENAI_CACHED_TOKENS


async def test_anthropic_stream_from_an_openai_upstream_keeps_cache_tokens(
    gateway: GatewayRuntime,
) -> None:
    text, final = await claude_stream(gateway, "gpt-4o")
    assert text.startswith(DEFAULT_ANSWER)
    assert final.usage.cache_read_input_tokens == OPENAI_CACHED_TOKENS
    assert final.usage.input_tokens == OPENAI_PROMPT_TOKENS - OPENAI_CACHED_TOKENS


async def test_count_tokens_asks_anthropic_when_it_owns_the_model(
    gateway: GatewayRuntime,
) -> None:
    counted = await claude_client(gateway).messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
    )
    assert counted.input_tokens == COUNT_TOKENS_ANSWER


async def test_count_tokens_asks_openai_when_it_owns_the_model(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    counted = await claude_client(gateway).messages.count_tokens(
        model="gpt-4o", messages=[{"role": "user", "content": "x" * 400}]
    )
    assert counted.input_tokens == COUNT_TOKENS_ANSWER
    (seen,) = [r for r in upstream.requests if r.endpoint == "input_tokens"]
    assert seen.body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x" * 400}]}
    ]


async def test_count_tokens_estimates_where_the_owner_cannot_count(
    gateway: GatewayRuntime,
) -> None:
    # Groq has no counting endpoint (and no key here): an estimate, said to be one.
    response = await claude_client(gateway).messages.with_raw_response.count_tokens(
        model="groq/llama-3.1-8b-instant", messages=[{"role": "user", "content": "x" * 400}]
    )
    counted = await response.parse()
    assert counted.input_tokens == 100 + 3 + 3  # its text, and the chat template around it
    assert response.headers["x-gateway-token-count"] == "estimate"
    assert response.http_response.json()["x_gateway"]["tokenCount"] == "estimate"


async def test_anthropic_errors_come_in_the_anthropic_envelope(gateway: GatewayRuntime) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        await claude_client(gateway).messages.create(
            model="nope-9", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert "nope-9" in caught.value.body["error"]["message"]  # type: ignore[index]


async def test_gemini_generate_passes_through(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await gemini_client(gateway).aio.models.generate_content(
        model="gemini-2.5-flash", contents="hello"
    )
    assert (reply.text or "").startswith(DEFAULT_ANSWER)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata.prompt_token_count == GEMINI_PROMPT_TOKENS
    assert reply.usage_metadata.cached_content_token_count == GEMINI_CACHED_TOKENS
    assert upstream.llm_requests[0].path.endswith("gemini-2.5-flash:generateContent")


async def test_gemini_stream_from_an_anthropic_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    text, usage = "", None
    async for chunk in await gemini_client(gateway).aio.models.generate_content_stream(
        model="claude-sonnet-4-6", contents="hello"
    ):
        text += chunk.text or ""
        usage = chunk.usage_metadata or usage
    assert text.startswith(DEFAULT_ANSWER)
    assert upstream.llm_requests[0].path == "/v1/messages"
    assert usage is not None
    assert usage.cached_content_token_count == ANTHROPIC_CACHE_READ_TOKENS
    assert usage.prompt_token_count == (
        ANTHROPIC_INPUT_TOKENS + ANTHROPIC_CACHE_READ_TOKENS + ANTHROPIC_CACHE_CREATION_TOKENS
    )


async def test_gemini_client_on_an_openai_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await gemini_client(gateway).aio.models.generate_content(
        model="gpt-4o", contents="hello"
    )
    assert (reply.text or "").startswith(DEFAULT_ANSWER)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata.cached_content_token_count == OPENAI_CACHED_TOKENS
    assert upstream.llm_requests[0].path == "/v1/chat/completions"
