"""A stream the client cuts is counted at its estimate, not at $0 (SECURITY.md 31).

OpenAI Chat (and Responses) streams report usage only in their last event, so a caller that
reads the first chunk and hangs up leaves a row with no usage, while the vendor bills the
prompt (and whatever it generated) anyway. Such a row is settled at the gateway's estimate
(the prompt's estimated tokens plus about a token for each event relayed), says so
(`cost_source` "estimate"), and counts against a hard dollar budget like any other spend.

The upstream here is a small real HTTP server on loopback that answers like OpenAI's Chat
Completions: one content chunk, then (after the client left) the usage chunk it would bill.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from aiohttp import web

from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._budget_support import (
    HeldChat,
    chat_completion,
    mallory_openai,
    openai_served_by,
    start_under_a_hard_budget,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    provider_env,
    start,
)

MODEL = "gpt-5"  # priced: a dollar budget counts it
PROMPT_TOKENS = 40_000  # what the vendor bills for the prompt below (about 4 bytes a token)


class _SlowChat(HeldChat):
    """OpenAI Chat Completions on loopback: first chunk at once, usage only at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests += 1
        if not body.get("stream"):
            usage = {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": 5,
                "total_tokens": PROMPT_TOKENS + 5,
            }
            return web.json_response(chat_completion(MODEL, "whole", usage))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        def chunk(delta: dict[str, Any], usage: dict[str, int] | None = None) -> bytes:
            event = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}]
                if usage is None
                else [],
                "usage": usage,
            }
            return f"data: {json.dumps(event)}\n\n".encode()

        await response.write(chunk({"role": "assistant", "content": "partial"}))
        try:
            async with asyncio.timeout(10):
                await self.release.wait()
            await response.write(
                chunk(
                    {},
                    {
                        "prompt_tokens": PROMPT_TOKENS,
                        "completion_tokens": 500,
                        "total_tokens": PROMPT_TOKENS + 500,
                    },
                )
            )
            await response.write(b"data: [DONE]\n\n")
        except (TimeoutError, ConnectionError):
            pass
        return response


# The fixture: the fake, the gateway's OpenAI provider pointed at it.
slow_chat = openai_served_by(_SlowChat)


def _watch(gateway: GatewayRuntime) -> tuple[list[RequestFinished], asyncio.Event]:
    """Rows as they end, and an event set at each."""
    finished: list[RequestFinished] = []
    seen = asyncio.Event()

    def on_finished(event: RequestFinished) -> None:
        finished.append(event)
        seen.set()

    gateway.engine.events.subscribe(RequestFinished, on_finished)
    return finished, seen


async def _row(gateway: GatewayRuntime, record_id: str) -> dict[str, Any]:
    await gateway.engine.recorder.flush()
    detail = await gateway.engine.recorder_query.detail(record_id)
    assert detail is not None
    return detail.record


PROMPT = "x " * (PROMPT_TOKENS * 2)  # about PROMPT_TOKENS tokens by the 4-bytes rule


async def test_cut_streams_are_charged_against_a_hard_budget(
    start: Start,  # noqa: F811
    slow_chat: _SlowChat,
) -> None:
    fake = slow_chat
    # $0.25 a day for everyone: one call of a 160 KB prompt of gpt-5, held at a token a byte
    # ($0.20), is admitted with the output the rest pays for, and, cut, is counted at that
    # hold: it uses it up.
    gateway = await start_under_a_hard_budget(start, 0.25)
    finished, seen = _watch(gateway)
    client = mallory_openai(gateway)
    admitted = 0
    async with asyncio.timeout(30):
        for _ in range(3):
            try:
                stream = await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True
                )
            except openai.APIStatusError as refused:
                assert refused.status_code == 402, refused.body
                break
            admitted += 1
            async for _chunk in stream:
                break  # the first chunk, then hang up
            seen.clear()
            await stream.close()
            await seen.wait()
    # The vendor billed the cut call's prompt: it is counted, so the budget stops the next one.
    assert fake.requests == admitted == 1
    cut = [e for e in finished if e.state == "canceled"]
    assert len(cut) == 1, finished
    assert cut[0].input_tokens >= len(PROMPT)  # what was held: the most it can be billed
    assert cut[0].cost_usd is not None and cut[0].cost_usd > 0.01, cut[0]
    row = await _row(gateway, cut[0].record_id)
    assert row["cost_source"] == "estimate"
    assert row["error_code"] == "client_disconnected"


async def test_a_stream_read_to_its_end_is_charged_its_reported_usage(
    start: Start,  # noqa: F811
    slow_chat: _SlowChat,
) -> None:
    slow_chat.release.set()  # the upstream sends its usage chunk at once
    gateway = await start_under_a_hard_budget(start, 10.0)
    finished, seen = _watch(gateway)
    async with asyncio.timeout(30):
        stream = await mallory_openai(gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        text = [c.choices[0].delta.content async for c in stream if c.choices]
        await seen.wait()
    assert text == ["partial"]
    (done,) = finished
    assert (done.state, done.input_tokens, done.output_tokens) == ("completed", PROMPT_TOKENS, 500)
    row = await _row(gateway, done.record_id)
    assert row["cost_source"] == "table"
