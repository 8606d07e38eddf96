"""A stream that keeps sending bytes of an event it never ends is cut at the stall limit.

A fault pass (2026-11-29, F1): with `gateway.upstream_timeout_ms` at 10 s, an upstream that
sent one event and then one byte a second of an event it never finished held the client until
the client's own limit (60 s and 75 s in its runs): each byte restarted the limit on a read, so
the stream never stalled by it, and `/health` said nothing. Now reads that end no event while
part of one is held have the stall limit of their own (`AnswerFrames`): the stream is cut with
an error the client reads, and the row says so.

A whole answer trickled out the same way was bounded, but said as one that broke off (a 502);
it is a timeout (a 504), as one whose head never came.

Beside it the legitimate path: SSE comments alone, for longer than the limit, between events
that do come (OpenRouter's `: OPENROUTER PROCESSING` while a model thinks; the pass had taken
comments-only for a stall too) leave the stream whole. The upstream is an OpenAI Chat server
written here (the shared scripted one writes whole events only); the client is the official
`openai` SDK, streaming as it does by default.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import openai
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.loopback import LoopbackApp
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

STALL_MS = 1_500  # gateway.upstream_timeout_ms here
GAP_S = 0.2  # between the trickle's bytes, far inside the limit
CUT_WITHIN_S = 10.0  # the limit, a read's gap and a loaded machine's slack; the trickle is endless
EVENTS_WITH_COMMENTS = 2


def _chunk(text: str, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    return b"data: " + json.dumps({**body, "choices": [choice]}).encode() + b"\n\n"


class TricklingUpstream(LoopbackApp):
    """OpenAI Chat whose stream, after a first event, goes as the test's `how` says."""

    how = "trickle"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if self.how == "whole":
            return await self._whole(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_chunk("first "))
        if self.how == "comments-between-events":
            for n in range(EVENTS_WITH_COMMENTS):
                # Comments alone for longer than the limit: a model thinking, its server alive.
                for _ in range(int(STALL_MS * 1.5 / 1000 / GAP_S)):
                    await response.write(b": keep-alive\n\n")
                    await asyncio.sleep(GAP_S)
                await response.write(_chunk(f"part{n} "))
            await response.write(_chunk("", "stop") + b"data: [DONE]\n\n")
            return response
        unended = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"delta":'
        for n in range(10_000):  # endless, as far as the test goes
            await response.write(unended[n % len(unended) : n % len(unended) + 1])
            await asyncio.sleep(GAP_S)
        return response

    async def _whole(self, request: web.Request) -> web.StreamResponse:
        """A whole answer's head at once, then its body a byte at a time, never ended."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 100_000
        await response.prepare(request)
        for _ in range(10_000):
            await response.write(b" ")
            await asyncio.sleep(GAP_S)
        return response

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)


@pytest.fixture
async def trickling() -> AsyncIterator[TricklingUpstream]:
    async with TricklingUpstream() as up:
        yield up


async def _gateway(
    start_gateway: GatewayFactory,  # noqa: F811
    up: TricklingUpstream,
    how: str,
) -> GatewayRuntime:
    """A gateway whose one provider is `up`, streaming as `how` says."""
    up.how = how
    providers = {
        "alpha": {
            "kind": "openai-compatible",
            "base_url": up.base_url + "/v1",
            "models": ["m"],
            "api_key": "sk-alpha-key-0123456789",
        }
    }
    gateway: GatewayRuntime = await start_gateway(
        {"gateway.providers": providers, "gateway.upstream_timeout_ms": STALL_MS}
    )
    return gateway


async def _read(client: openai.AsyncOpenAI) -> tuple[str, BaseException | None, float]:
    """The streamed text, what ended it (None: its own end), and how long it took."""
    began, text, error = time.monotonic(), "", None
    try:
        stream = await client.chat.completions.create(
            model="alpha/m", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
    except openai.APIError as exc:
        error = exc
    return text, error, time.monotonic() - began


async def test_a_stream_of_bytes_but_no_whole_event_is_cut_at_the_stall_limit(
    start_gateway: GatewayFactory,  # noqa: F811
    trickling: TricklingUpstream,
) -> None:
    gateway = await _gateway(start_gateway, trickling, "trickle")
    async with openai_client(gateway) as client, asyncio.timeout(CUT_WITHIN_S):
        text, error, took = await _read(client)
    assert text == "first ", text
    assert error is not None and "no whole event" in str(error), error
    assert STALL_MS / 1000 <= took < CUT_WITHIN_S, took
    (row,) = await gateway.engine.recorder.recent(limit=1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken"), row


async def test_comments_alone_past_the_limit_between_events_leave_the_stream_whole(
    start_gateway: GatewayFactory,  # noqa: F811
    trickling: TricklingUpstream,
) -> None:
    gateway = await _gateway(start_gateway, trickling, "comments-between-events")
    async with openai_client(gateway) as client:
        text, error, _took = await _read(client)
    assert error is None, error
    assert text == "first " + "".join(f"part{n} " for n in range(EVENTS_WITH_COMMENTS)), text
    (row,) = await gateway.engine.recorder.recent(limit=1)
    assert row["state"] == "completed", row


async def test_a_whole_answer_trickled_out_is_a_timeout_at_its_limit(
    start_gateway: GatewayFactory,  # noqa: F811
    trickling: TricklingUpstream,
) -> None:
    """It was bounded already, but said as an answer that "broke off" (outcome `broken`, a
    502); it is the answer's limit, a 504 `upstream_timeout` as one whose head never came."""
    gateway = await _gateway(start_gateway, trickling, "whole")
    async with openai_client(gateway) as client, asyncio.timeout(CUT_WITHIN_S):
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(
                model="alpha/m", messages=[{"role": "user", "content": "hi"}]
            )
    assert caught.value.status_code == 504, caught.value
    assert "gateway.upstream_timeout_ms" in caught.value.message, caught.value.message
    (row,) = await gateway.engine.recorder.recent(limit=1)
    assert [a["outcome"] for a in row["route"]["attempts"]] == ["timeout"], row
