"""The official `openai` SDK against the gateway: Chat Completions and Responses, both ways."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    DEFAULT_ANSWER,
    OPENAI_CACHED_TOKENS,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    Reply,
    ScriptedUpstream,
)
from tests.sdk_clients import openai_client


async def test_chat_completion_reaches_the_owner_and_reports_the_route(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await openai_client(gateway).chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    )
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == OPENAI_PROMPT_TOKENS
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == OPENAI_CACHED_TOKENS
    extra = reply.model_extra or {}
    assert extra["x_gateway"]["resolvedProvider"] == "openai"
    assert extra["x_gateway"]["resolvedModel"] == "gpt-4o"
    assert extra["x_gateway"]["fallbackUsed"] is False
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/chat/completions"
    assert seen.body["model"] == "gpt-4o"
    assert seen.headers["authorization"].startswith("<redacted")


async def test_chat_stream_passes_chunks_through_with_usage_when_asked(
    gateway: GatewayRuntime,
) -> None:
    stream = await openai_client(gateway).chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert text.startswith(DEFAULT_ANSWER)
    assert finish == "stop"
    assert usage is not None and usage.prompt_tokens == OPENAI_PROMPT_TOKENS


async def test_chat_stream_without_include_usage_gets_no_usage_chunk(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    stream = await openai_client(gateway).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    # The gateway still asked for usage upstream, for the flight recorder.
    assert upstream.llm_requests[0].body["stream_options"] == {"include_usage": True}


async def test_openai_client_on_an_anthropic_upstream_keeps_cache_tokens(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await openai_client(gateway).chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
    )
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/messages"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == (
        ANTHROPIC_INPUT_TOKENS + ANTHROPIC_CACHE_READ_TOKENS + ANTHROPIC_CACHE_CREATION_TOKENS
    )
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert reply.usage.completion_tokens == ANTHROPIC_OUTPUT_TOKENS
    assert (reply.model_extra or {})["x_gateway"]["resolvedProvider"] == "anthropic"


async def test_openai_stream_from_an_anthropic_upstream_keeps_cache_tokens(
    gateway: GatewayRuntime,
) -> None:
    stream = await openai_client(gateway).chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        text += "".join(c.delta.content or "" for c in chunk.choices)
        usage = chunk.usage or usage
    assert text.startswith(DEFAULT_ANSWER)
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert usage.prompt_tokens == (
        ANTHROPIC_INPUT_TOKENS + ANTHROPIC_CACHE_READ_TOKENS + ANTHROPIC_CACHE_CREATION_TOKENS
    )


async def test_responses_api_passes_through_to_openai(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await openai_client(gateway).responses.create(model="gpt-4o", input="hello there")
    assert reply.output_text.startswith(DEFAULT_ANSWER)
    assert reply.usage is not None and reply.usage.input_tokens == OPENAI_PROMPT_TOKENS
    assert upstream.llm_requests[0].path == "/v1/responses"


async def test_responses_stream_from_an_anthropic_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    stream = await openai_client(gateway).responses.create(
        model="claude-sonnet-4-6", input="hello", stream=True
    )
    text, final = "", None
    async for event in stream:
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            final = event.response
    assert text.startswith(DEFAULT_ANSWER)
    assert final is not None and final.usage is not None
    assert final.usage.input_tokens_details.cached_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert upstream.llm_requests[0].path == "/v1/messages"


async def test_models_lists_what_has_credentials(gateway: GatewayRuntime) -> None:
    models = [m.id async for m in openai_client(gateway).models.list()]
    assert "gpt-4o" in models and "claude-sonnet-4-6" in models
    assert "llama-3.3-70b-versatile" not in models  # no Groq key configured


async def test_unknown_model_is_a_404_naming_it(gateway: GatewayRuntime) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client(gateway).chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert "no-such-model" in str(caught.value)
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]


async def test_the_upstreams_own_400_reaches_a_client_of_its_dialect_as_it_was_sent(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Same dialect: the upstream judges the request, and its error comes back unchanged.
    upstream.script(Reply.error(400, "[] is too short - 'messages'"))
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client(gateway).chat.completions.create(model="gpt-4o", messages=[])
    assert caught.value.message.endswith("[] is too short - 'messages'")
    assert caught.value.body == {
        "message": "[] is too short - 'messages'",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert upstream.llm_requests[-1].body["messages"] == []


async def test_missing_messages_for_another_dialect_is_a_400_naming_the_field(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # Another dialect: the gateway must understand the request to translate it.
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client(gateway).chat.completions.create(model="claude-sonnet-4-6", messages=[])
    assert "messages" in str(caught.value)
    assert upstream.llm_requests == []


async def test_usage_counts_are_consistent(gateway: GatewayRuntime) -> None:
    reply = await openai_client(gateway).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.usage is not None
    assert reply.usage.completion_tokens == OPENAI_OUTPUT_TOKENS
    assert reply.usage.total_tokens == OPENAI_PROMPT_TOKENS + OPENAI_OUTPUT_TOKENS
