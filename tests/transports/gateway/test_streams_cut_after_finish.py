"""A stream its upstream ends after the answer's finish but before its last event (an OpenAI Chat
stream's usage chunk and `[DONE]`, an Anthropic stream's `message_stop`) was cut, however cleanly
its body ended (one delimited by the connection's close ends as cleanly as a whole one): the
client gets an error event after the text it did get, the row is failed (`stream_broken`) and
counted at what the upstream had reported, else at the gateway's estimate (never at nothing),
and the response cache never keeps it. Beside each, the legitimate path: the same stream whole
is completed and kept with its real usage, and a stream that ends with `[DONE]` without a usage
chunk (servers that ignore `stream_options.include_usage`) is complete, not cut.

Before: an Anthropic SDK client of an OpenAI Chat upstream cut after its finish_reason got a
clean `message_stop` with 0 tokens of usage, the row said completed, and the cache kept that
answer with 0 usage and replayed it to the next caller without asking the upstream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors
from google.genai import types

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
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.hostile_upstream import HostileUpstream, streamed
from tests.transports.gateway.test_response_cache import _rows

QUESTION = "What is the capital of France?"
MESSAGES: Any = [{"role": "user", "content": QUESTION}]
# A soft token budget counts what each call spent and holds nothing (under a hard one a cut
# call is counted at least at its output limit, which would hide what was estimated).
COUNTED = [{"scope": "global", "unit": "tokens", "period": "daily", "soft": 1_000_000}]
SETTINGS = {"cache.enabled": True, "budgets": COUNTED}
# The only greedy requests are cached; the anthropic SDK no longer names `temperature`.
GREEDY = {"temperature": 0}
CLAUDE = "claude-sonnet-4-6"
MAX_TOKENS = 64
# A model of an OpenAI-compatible provider that speaks Chat Completions only: a Responses
# client's request to it is translated (one to `gpt-4o` goes to OpenAI's own Responses API).
CHAT_ONLY = "groq/openai/gpt-oss-120b"
SETTLE_S = 10.0


@pytest.fixture
async def start(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> AsyncIterator[GatewayFactory]:
    """`start_gateway` with Groq's Chat Completions also served by the scripted upstream."""

    async def start_with_groq(overrides: dict[str, Any]) -> GatewayRuntime:
        groq = {"api_key": "gsk-test-key", "base_url": upstream.base_url + "/v1"}
        runtime: GatewayRuntime = await start_gateway(
            overrides | {"gateway.providers": {"groq": groq}}
        )
        return runtime

    yield start_with_groq


async def _spent(gateway: GatewayRuntime, at_least: float) -> float:
    """The budget's spend once it has counted `at_least` tokens (bounded wait)."""
    async with asyncio.timeout(SETTLE_S):
        while True:
            spent = gateway.engine.budgets.statuses()[0].spent
            if spent >= at_least:
                return spent
            await asyncio.sleep(0.02)


def _tokens(row: dict[str, Any]) -> int:
    """Every token a row counts, as a token budget sums them."""
    return int(
        row["input_tokens"]
        + row["output_tokens"]
        + row["cache_read_tokens"]
        + row["cache_write_tokens"]
    )


async def _claude_stream(gateway: GatewayRuntime, model: str) -> tuple[str, Any, str]:
    """An Anthropic SDK stream's text, final message and `x-gateway-cache` header."""
    async with claude_client(gateway).messages.stream(
        model=model, max_tokens=MAX_TOKENS, messages=MESSAGES, extra_body=GREEDY
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
        return text, final, stream.response.headers["x-gateway-cache"]


async def _claude_cut(gateway: GatewayRuntime, model: str) -> str:
    """The text an Anthropic SDK stream got before the error that ends it."""
    pieces: list[str] = []
    with pytest.raises(anthropic.APIStatusError, match="upstream stream broke"):
        async with claude_client(gateway).messages.stream(
            model=model, max_tokens=MAX_TOKENS, messages=MESSAGES, extra_body=GREEDY
        ) as stream:
            async for piece in stream.text_stream:
                pieces.append(piece)
    return "".join(pieces)


async def _chat_chunks(gateway: GatewayRuntime, model: str) -> list[Any]:
    stream = await openai_client(gateway).chat.completions.create(
        model=model,
        messages=MESSAGES,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    return [chunk async for chunk in stream]


async def _chat_cut(gateway: GatewayRuntime, model: str) -> str:
    """The text an OpenAI SDK chat stream got before the error chunk that ends it."""
    pieces: list[str] = []
    with pytest.raises(openai.APIError, match="upstream stream broke"):
        async for chunk in await openai_client(gateway).chat.completions.create(
            model=model, messages=MESSAGES, temperature=0, stream=True
        ):
            pieces += [choice.delta.content or "" for choice in chunk.choices]
    return "".join(pieces)


async def test_an_anthropic_sdk_stream_of_a_chat_upstream_ended_by_close_after_finish_is_cut(
    start: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start(SETTINGS)
    upstream.script(Reply.cut(after_finish=True, unframed=True), Reply.ok())
    text = await _claude_cut(gateway, "gpt-4o")
    assert text.startswith(DEFAULT_ANSWER) and text.endswith(f"{QUESTION!r}")  # all of it
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    # No usage came: counted at the estimate (the prompt, and a token per event sent).
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert await _spent(gateway, 1) == _tokens(row)

    # Not kept: the repeat asks the upstream, and that whole stream is kept with its usage.
    text, whole, cached = await _claude_stream(gateway, "gpt-4o")
    assert cached == "miss" and text.startswith(DEFAULT_ANSWER)
    assert whole.usage.output_tokens == OPENAI_OUTPUT_TOKENS
    assert whole.usage.cache_read_input_tokens == OPENAI_CACHED_TOKENS
    completed, _ = await _rows(gateway, 2)
    assert (completed["state"], completed["error_code"]) == ("completed", None)
    assert completed["output_tokens"] == OPENAI_OUTPUT_TOKENS
    assert _tokens(completed) == OPENAI_PROMPT_TOKENS + OPENAI_OUTPUT_TOKENS
    assert await _spent(gateway, _tokens(row) + 1) == _tokens(row) + _tokens(completed)
    _, replayed, cached = await _claude_stream(gateway, "gpt-4o")
    assert cached == "hit" and replayed.usage == whole.usage
    assert len(upstream.llm_requests) == 2


async def test_under_a_hard_budget_a_stream_cut_after_finish_counts_at_least_its_hold(
    start: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # Taken as whole, it was counted at the estimate of what was seen (5 output tokens): a
    # reasoning model bills thinking no event shows, so a cut call counts what was held for it.
    hard = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}]
    gateway = await start({"budgets": hard})
    upstream.script(Reply.cut(after_finish=True, unframed=True))
    await _claude_cut(gateway, "gpt-4o")
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["output_tokens"]) == ("failed", MAX_TOKENS)
    assert await _spent(gateway, 1) == _tokens(row)


async def test_a_chat_upstream_dropped_after_finish_is_cut_for_an_anthropic_sdk_stream(
    start: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # A chunked body that breaks off says so itself: the same end, by another way.
    gateway = await start(SETTINGS)
    upstream.script(Reply.cut(after_finish=True), Reply.ok())
    assert (await _claude_cut(gateway, "gpt-4o")).startswith(DEFAULT_ANSWER)
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert (await _claude_stream(gateway, "gpt-4o"))[2] == "miss"


async def _responses_kinds(gateway: GatewayRuntime) -> list[str]:
    """The event types of an OpenAI SDK Responses stream, in order."""
    stream = await openai_client(gateway).responses.create(
        model=CHAT_ONLY, input=QUESTION, temperature=0, stream=True
    )
    return [event.type async for event in stream]


async def _gemini_texts(gateway: GatewayRuntime) -> list[str]:
    """The texts of a google-genai SDK stream's chunks."""
    stream = await gemini_client(gateway).aio.models.generate_content_stream(
        model="gpt-4o", contents=QUESTION, config=types.GenerateContentConfig(temperature=0)
    )
    return [chunk.text or "" async for chunk in stream]


@pytest.mark.parametrize("client", ["responses", "gemini"])
async def test_a_chat_upstream_ended_by_close_after_finish_is_cut_for_other_clients(
    start: GatewayFactory, upstream: ScriptedUpstream, client: str
) -> None:
    gateway = await start(SETTINGS)
    upstream.script(Reply.cut(after_finish=True, unframed=True), Reply.ok())
    if client == "responses":
        kinds = await _responses_kinds(gateway)
        assert "response.output_text.delta" in kinds and kinds[-1] == "error"
        assert "response.completed" not in kinds
    else:
        with pytest.raises(genai_errors.APIError, match="upstream stream broke"):
            await _gemini_texts(gateway)
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert await _spent(gateway, 1) == _tokens(row)
    assert upstream.llm_requests[0].path == "/v1/chat/completions"
    # Not kept: the repeat reaches the upstream, and is whole.
    if client == "responses":
        assert (await _responses_kinds(gateway))[-1] == "response.completed"
    else:
        assert "".join(await _gemini_texts(gateway)).startswith(DEFAULT_ANSWER)
    assert len(upstream.llm_requests) == 2


async def test_an_openai_sdk_stream_of_an_anthropic_upstream_ended_after_message_delta_is_cut(
    start: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start(SETTINGS)
    upstream.script(Reply.cut(after_finish=True, unframed=True), Reply.ok())
    assert (await _chat_cut(gateway, CLAUDE)).startswith(DEFAULT_ANSWER)
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    # message_delta had said what the answer used: counted at that, not at an estimate.
    assert row["input_tokens"] == ANTHROPIC_INPUT_TOKENS
    assert row["output_tokens"] == ANTHROPIC_OUTPUT_TOKENS
    assert row["cache_read_tokens"] == ANTHROPIC_CACHE_READ_TOKENS
    assert row["cache_write_tokens"] == ANTHROPIC_CACHE_CREATION_TOKENS
    assert await _spent(gateway, 1) == _tokens(row)
    # Not kept; the whole stream that follows is, with the same usage.
    chunks = await _chat_chunks(gateway, CLAUDE)
    assert chunks[-1].usage.completion_tokens == ANTHROPIC_OUTPUT_TOKENS
    completed, _ = await _rows(gateway, 2)
    assert completed["state"] == "completed" and _tokens(completed) == _tokens(row)
    assert [c.model_dump() for c in await _chat_chunks(gateway, CLAUDE)][-1]["usage"] == (
        chunks[-1].model_dump()["usage"]
    )
    assert len(upstream.llm_requests) == 2


async def test_a_relayed_chat_stream_ended_by_close_after_finish_is_cut(
    start: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start(SETTINGS)
    upstream.script(Reply.cut(after_finish=True, unframed=True), Reply.ok())
    assert (await _chat_cut(gateway, "gpt-4o")).startswith(DEFAULT_ANSWER)
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert await _spent(gateway, 1) == _tokens(row)
    chunks = await _chat_chunks(gateway, "gpt-4o")
    assert chunks[-1].usage.completion_tokens == OPENAI_OUTPUT_TOKENS
    assert len(upstream.llm_requests) == 2


# -- a stream that ends with [DONE] but no usage is complete --------------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


# What a server that ignores `stream_options.include_usage` sends: no usage chunk, a body
# delimited by the connection's close.
WITHOUT_USAGE = (
    _chunk({"role": "assistant", "content": "Par"}),
    _chunk({"content": "is"}),
    _chunk({}, finish="stop"),
    b"data: [DONE]\n\n",
)


# What a server that leaves `[DONE]` out sends (or a cut just before it): the usage chunk came.
WITHOUT_DONE = (
    *WITHOUT_USAGE[:3],
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
    b'"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}}\n\n',
)


@pytest.mark.parametrize("client", ["openai", "anthropic"], ids=["relayed", "translated"])
@pytest.mark.parametrize(
    ("answer", "usage"),
    [
        (WITHOUT_USAGE, None),  # no usage chunk: its estimate, never 0
        (WITHOUT_DONE, (11, 3)),  # only `[DONE]` missing: the upstream's own count
    ],
    ids=["done-without-usage", "usage-without-done"],
)
async def test_a_chat_stream_that_lost_nothing_that_counts_is_complete_and_kept(
    start_gateway: GatewayFactory,
    hostile: HostileUpstream,
    client: str,
    answer: tuple[bytes, ...],
    usage: tuple[int, int] | None,
) -> None:
    # Beside the cuts above: a stream with `[DONE]` and no usage chunk (a server that ignores
    # `stream_options.include_usage`), and one whose usage came but not `[DONE]`, are whole.
    gateway: GatewayRuntime = await start_gateway(SETTINGS)
    hostile.answer = streamed(*answer, gap_s=0.05)
    for _ in range(2):
        if client == "openai":
            chunks = await _chat_chunks(gateway, "gpt-4o")
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            text, final, _ = await _claude_stream(gateway, "gpt-4o")
            assert final.stop_reason == "end_turn"
        assert text == "Paris"
    hit, row = await _rows(gateway, 2)
    assert (row["state"], row["error_code"]) == ("completed", None)
    if usage is None:
        assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    else:
        assert (row["input_tokens"], row["output_tokens"]) == usage
    assert hit["state"] == "completed" and len(hostile.llm_requests) == 1


async def test_text_in_a_last_frame_without_its_blank_line_reaches_the_client_before_the_error(
    start_gateway: GatewayFactory, hostile: HostileUpstream
) -> None:
    # Some servers put the last text in the finish chunk, and some end without the blank line
    # after the last frame: it is read at the end, and was lost when the end was found cut.
    gateway: GatewayRuntime = await start_gateway(SETTINGS)
    hostile.answer = streamed(WITHOUT_USAGE[0], _chunk({"content": "is"}, "stop")[:-1], gap_s=0.05)
    assert await _claude_cut(gateway, "gpt-4o") == "Paris"
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
