"""The scripted upstream speaks each wire format well enough for the official SDKs."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import aiohttp
import anthropic
import openai
import pydantic
import pytest
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from tests.fakes.direct_clients import (
    CLIENT_TIMEOUT_S,
    FAKE_KEY,
    GENAI_SESSION_WARNING,
    claude,
    gemini_client,
    gpt,
)
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    COUNT_TOKENS_ANSWER,
    GEMINI_CACHED_TOKENS,
    GEMINI_CANDIDATES_TOKENS,
    GEMINI_PROMPT_TOKENS,
    GEMINI_THOUGHTS_TOKENS,
    OPENAI_CACHED_TOKENS,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    OPENAI_REASONING_TOKENS,
    Reply,
    ScriptedUpstream,
)

pytestmark = GENAI_SESSION_WARNING

# Any: the SDKs type messages as TypedDicts, which plain literals do not satisfy.
HELLO: Any = [{"role": "user", "content": "Say hello"}]


# ---------------------------------------------------------------------- Anthropic


async def test_anthropic_plain_answer_carries_cache_usage(up: ScriptedUpstream) -> None:
    up.script(Reply.ok("hi"))
    async with claude(up) as client:
        message = await client.messages.create(model="claude-x", max_tokens=64, messages=HELLO)

    assert message.content[0].type == "text"
    assert message.content[0].text == "hi msgs=1 last_user='Say hello'"
    assert message.model == "claude-x"
    assert message.stop_reason == "end_turn"
    usage = message.usage
    assert usage.input_tokens == ANTHROPIC_INPUT_TOKENS
    assert usage.cache_creation_input_tokens == ANTHROPIC_CACHE_CREATION_TOKENS
    assert usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert usage.output_tokens == ANTHROPIC_OUTPUT_TOKENS
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_5m_input_tokens == ANTHROPIC_CACHE_CREATION_TOKENS


async def test_anthropic_stream_keeps_cache_usage_to_the_end(up: ScriptedUpstream) -> None:
    history: Any = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]
    async with (
        claude(up) as client,
        client.messages.stream(model="claude-x", max_tokens=64, messages=history) as stream,
    ):
        deltas = [text async for text in stream.text_stream]
        message = await stream.get_final_message()

    assert len(deltas) == 3
    assert "".join(deltas) == "FAKE-OK msgs=3 last_user='second'"
    assert message.usage.output_tokens == ANTHROPIC_OUTPUT_TOKENS
    assert message.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert message.usage.cache_creation_input_tokens == ANTHROPIC_CACHE_CREATION_TOKENS
    assert up.llm_requests[0].stream


async def test_anthropic_429_raises_rate_limit_error_without_retry(up: ScriptedUpstream) -> None:
    up.script(Reply.error(429, "slow down", retry_after_s=7))
    async with claude(up, max_retries=0) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(model="claude-x", max_tokens=64, messages=HELLO)

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
        "request_id": "req_fake",
    }
    assert len(up.llm_requests) == 1


async def test_anthropic_sdk_waits_retry_after_before_retrying(up: ScriptedUpstream) -> None:
    # Longer than the SDK's own first backoff (at most 0.5 s), so only the header explains it.
    retry_after_s = 0.8
    up.script(Reply.error(429, retry_after_s=retry_after_s))
    async with claude(up, max_retries=1) as client:
        message = await client.messages.create(model="claude-x", max_tokens=64, messages=HELLO)

    first, second = up.llm_requests
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("FAKE-OK")
    assert second.arrived_at - first.arrived_at >= retry_after_s
    assert second.headers["x-stainless-retry-count"] == "1"


async def test_anthropic_529_is_overloaded_error(up: ScriptedUpstream) -> None:
    up.script(Reply.error(529))
    async with claude(up) as client:
        with pytest.raises(anthropic.OverloadedError) as caught:
            await client.messages.create(model="claude-x", max_tokens=64, messages=HELLO)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"] == {
        "type": "overloaded_error",
        "message": "Overloaded (fake)",
    }


async def test_anthropic_count_tokens_is_not_an_llm_call(up: ScriptedUpstream) -> None:
    up.script(Reply.error(500))
    async with claude(up) as client:
        counted = await client.messages.count_tokens(model="claude-x", messages=HELLO)
    assert counted.input_tokens == COUNT_TOKENS_ANSWER
    assert up.llm_requests == []
    assert up.pending_replies == 1


# ---------------------------------------------------------------------- OpenAI Responses


async def test_responses_stream_reports_cached_and_reasoning_tokens(up: ScriptedUpstream) -> None:
    async with gpt(up) as client:
        stream = await client.responses.create(model="gpt-x", input="Say hello", stream=True)
        events = [event async for event in stream]

    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds.count("response.output_text.delta") == 3
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "FAKE-OK msgs=1 last_user='Say hello'"
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == text
    usage = final.response.usage
    assert usage is not None
    assert usage.input_tokens == OPENAI_PROMPT_TOKENS
    assert usage.input_tokens_details.cached_tokens == OPENAI_CACHED_TOKENS
    assert usage.output_tokens == OPENAI_OUTPUT_TOKENS
    assert usage.output_tokens_details.reasoning_tokens == OPENAI_REASONING_TOKENS


async def test_responses_plain_answer(up: ScriptedUpstream) -> None:
    items: Any = [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "input_text", "text": "Say hello"}]},
    ]
    async with gpt(up) as client:
        response = await client.responses.create(model="gpt-x", input=items)
    assert response.output_text == "FAKE-OK msgs=2 last_user='Say hello'"
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == OPENAI_CACHED_TOKENS


async def test_responses_websocket_upgrade_is_refused(up: ScriptedUpstream) -> None:
    headers = {"Upgrade": "websocket", "Connection": "Upgrade"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{up.base_url}/v1/responses", headers=headers) as response,
    ):
        assert response.status == 426
        assert "error" in await response.json()
    assert up.llm_requests == []


# ---------------------------------------------------------------------- OpenAI Chat


async def test_chat_stream_sends_usage_chunk_only_when_asked(up: ScriptedUpstream) -> None:
    async with gpt(up) as client:
        asked = await client.chat.completions.create(
            model="gpt-x", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        with_usage = [chunk async for chunk in asked]
        plain = [
            c
            async for c in await client.chat.completions.create(
                model="gpt-x", messages=HELLO, stream=True
            )
        ]

    text = "".join(c.choices[0].delta.content or "" for c in with_usage if c.choices)
    assert text == "FAKE-OK msgs=1 last_user='Say hello'"
    assert with_usage[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_usage if c.choices][-1] == "stop"
    last = with_usage[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == OPENAI_PROMPT_TOKENS
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == OPENAI_CACHED_TOKENS
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == OPENAI_REASONING_TOKENS
    assert all(c.usage is None and c.choices for c in plain)


async def test_chat_plain_answer(up: ScriptedUpstream) -> None:
    messages: Any = [{"role": "system", "content": "be brief"}, *HELLO]
    async with gpt(up) as client:
        completion = await client.chat.completions.create(model="gpt-x", messages=messages)
    assert completion.choices[0].message.content == "FAKE-OK msgs=2 last_user='Say hello'"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == OPENAI_OUTPUT_TOKENS
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == OPENAI_CACHED_TOKENS


async def test_openai_errors_use_the_openai_envelope(up: ScriptedUpstream) -> None:
    up.script(Reply.error(401))
    async with gpt(up) as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.chat.completions.create(model="gpt-x", messages=HELLO)
    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.body == {
        "message": "Invalid API key (fake)",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


# ---------------------------------------------------------------------- Gemini


async def test_gemini_generate_content_reports_usage(up: ScriptedUpstream) -> None:
    async with gemini_client(up).aio as client:
        response = await client.models.generate_content(model="gemini-x", contents="Say hello")

    assert response.text == "FAKE-OK msgs=1 last_user='Say hello'"
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == GEMINI_PROMPT_TOKENS
    assert usage.cached_content_token_count == GEMINI_CACHED_TOKENS
    assert usage.candidates_token_count == GEMINI_CANDIDATES_TOKENS
    assert usage.thoughts_token_count == GEMINI_THOUGHTS_TOKENS
    [request] = up.llm_requests
    assert request.path == "/v1beta/models/gemini-x:generateContent"
    assert request.headers["x-goog-api-key"].startswith("<redacted")


async def test_gemini_stream_puts_usage_on_the_last_chunk(up: ScriptedUpstream) -> None:
    async with gemini_client(up).aio as client:
        stream = await client.models.generate_content_stream(model="gemini-x", contents="Say hello")
        chunks = [chunk async for chunk in stream]

    assert len(chunks) == 3
    assert "".join(c.text or "" for c in chunks) == "FAKE-OK msgs=1 last_user='Say hello'"
    final_usage = chunks[-1].usage_metadata
    assert final_usage is not None
    assert final_usage.cached_content_token_count == GEMINI_CACHED_TOKENS
    assert up.llm_requests[0].query == {"alt": "sse"}
    assert up.llm_requests[0].stream


async def test_gemini_json_mode_answer_satisfies_the_schema(up: ScriptedUpstream) -> None:
    schema = {
        "type": "object",
        "properties": {
            "complexity_reasoning": {"type": "string"},
            "complexity_score": {"type": "integer", "minimum": 1},
            "model_choice": {"type": "string", "enum": ["flash", "pro"]},
        },
        "required": ["complexity_reasoning", "complexity_score", "model_choice"],
    }
    config = genai_types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=schema
    )
    async with gemini_client(up).aio as client:
        response = await client.models.generate_content(
            model="gemini-x", contents="route this", config=config
        )
    assert response.parsed == {
        "complexity_reasoning": "fake",
        "complexity_score": 1,
        "model_choice": "flash",
    }


async def test_gemini_errors_use_the_google_envelope(up: ScriptedUpstream) -> None:
    up.script(Reply.error(429))
    async with gemini_client(up).aio as client:
        with pytest.raises(genai_errors.ClientError) as caught:
            await client.models.generate_content(model="gemini-x", contents="Say hello")
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"


async def test_openai_structured_output_satisfies_the_schema(up: ScriptedUpstream) -> None:
    class Verdict(pydantic.BaseModel):
        label: Literal["yes", "no"]
        score: int
        reasons: list[str]

    async with gpt(up) as client:
        completion = await client.chat.completions.parse(
            model="gpt-x", messages=HELLO, response_format=Verdict
        )
    assert completion.choices[0].message.parsed == Verdict(label="yes", score=0, reasons=["fake"])


async def test_model_lists_and_token_counts_are_not_llm_calls(up: ScriptedUpstream) -> None:
    up.script(Reply.error(500))
    async with claude(up) as client:
        claude_models = [m.id async for m in client.models.list()]
    async with gpt(up) as client:
        gpt_models = [m.id async for m in client.models.list()]
    async with gemini_client(up).aio as client:
        gemini_models = [m.name async for m in await client.models.list()]
        counted = await client.models.count_tokens(model="gemini-x", contents="Say hello")

    assert "claude-sonnet-4-5" in claude_models
    assert "gpt-5-fake" in gpt_models
    assert "models/gemini-2.5-flash" in gemini_models
    assert counted.total_tokens == COUNT_TOKENS_ANSWER
    assert up.llm_requests == []
    assert up.pending_replies == 1


# ---------------------------------------------------------------------- script and recording


async def test_replies_follow_the_script_then_the_default(up: ScriptedUpstream) -> None:
    up.script(Reply.ok("one", verbatim=True), Reply.ok("two", verbatim=True))
    async with gpt(up) as client:
        answers = [
            (await client.chat.completions.create(model="m", messages=HELLO))
            .choices[0]
            .message.content
            for _ in range(3)
        ]
        up.default = Reply.ok("changed", verbatim=True)
        later = await client.chat.completions.create(model="m", messages=HELLO)

    assert answers[:2] == ["one", "two"]
    assert answers[2] is not None and answers[2].startswith("FAKE-OK msgs=1")
    assert later.choices[0].message.content == "changed"
    assert up.pending_replies == 0


async def test_requests_are_recorded_with_secrets_redacted(up: ScriptedUpstream) -> None:
    async with claude(up) as client:
        # Claude Code's beta client adds ?beta=true; this SDK's beta resource does not.
        await client.messages.create(
            model="claude-x", max_tokens=64, messages=HELLO, extra_query={"beta": "true"}
        )
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{up.base_url}/v1beta/models?key=secret") as listing:
            assert "models" in await listing.json()
        async with session.post(f"{up.base_url}/nowhere", data=b"not json") as missing:
            assert missing.status == 404
            assert "error" in await missing.json()

    llm, models, unknown = up.requests
    assert (llm.method, llm.path, llm.query, llm.dialect) == (
        "POST",
        "/v1/messages",
        {"beta": "true"},
        "anthropic",
    )
    # anthropic 2.x sends the key as a bearer token (Claude Code sends x-api-key).
    assert llm.headers["authorization"] == f"<redacted {len('Bearer ' + FAKE_KEY)} chars>"
    assert FAKE_KEY not in repr(llm)
    assert llm.body["messages"] == HELLO
    assert llm.reply == Reply.ok()
    assert (models.dialect, models.endpoint, models.query, models.reply) == (
        "gemini",
        "models",
        {"key": "<redacted>"},
        None,
    )
    assert (unknown.dialect, unknown.body, unknown.raw_body) == (None, None, b"not json")
    assert llm.arrived_at <= models.arrived_at <= unknown.arrived_at
    assert up.llm_requests == [llm]


async def test_wait_for_requests_wakes_on_arrival_of_a_slow_call(up: ScriptedUpstream) -> None:
    up.script(Reply.slow(30))
    async with gpt(up) as client:
        call = asyncio.ensure_future(client.chat.completions.create(model="m", messages=HELLO))
        [request] = await up.wait_for_requests(1, timeout=CLIENT_TIMEOUT_S)
        assert not call.done()
        assert request.reply == Reply.slow(30)
        with pytest.raises(TimeoutError):
            await up.wait_for_requests(2, timeout=0.05)
        # Closing ends the delayed reply at once: the client sees a dropped connection.
        await up.close()
        with pytest.raises(openai.APIConnectionError):
            await asyncio.wait_for(call, CLIENT_TIMEOUT_S)
