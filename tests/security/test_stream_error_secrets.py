"""Finding 16 (issue 26, item 8): the operator's key echoed in an upstream's stream error.

An upstream's error *body* was scrubbed of the key it was sent, but an `error` event inside a
stream was relayed as it came (same-dialect passthrough), or its message put into the error
the client got (a stream that failed at its start, or a translated one), key and all. Now every
event is scrubbed of that key, and error events of anything unmistakably secret, before any of
it reaches the client.

The upstream is a stand-in (`HostileUpstream`) that echoes the key it was sent inside an SSE
error event, after a first ordinary event or as the first one, for every dialect the gateway
relays streams in, and for a translated stream; the client reads the real gateway's raw bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.security._edge_support import Launch, _launch  # noqa: F401 - fixtures
from tests.security._stream_support import _hostile, sse  # noqa: F401 - fixtures
from tests.transports.gateway.conftest import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY
from tests.transports.gateway.hostile_upstream import HostileUpstream, RawRequest, response_head

ANSWER_TIMEOUT_S = 20.0
MESSAGES = [{"role": "user", "content": "hi"}]
CLAUDE = {"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": MESSAGES, "stream": True}

# Per client door: its path and streaming body.
DOORS: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", {"model": "gpt-4o", "messages": MESSAGES, "stream": True}),
    "responses": ("/v1/responses", {"model": "gpt-4o", "input": "hi", "stream": True}),
    "anthropic": ("/v1/messages", CLAUDE),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
    ),
    # Translated: an OpenAI Chat client, a Claude model, an Anthropic stream upstream.
    "chat-to-anthropic": (
        "/v1/chat/completions",
        {"model": "claude-sonnet-4-6", "messages": MESSAGES, "stream": True},
    ),
}


def upstream_dialect(path: str) -> str:
    if "streamGenerateContent" in path:
        return "gemini"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    return "chat"


def key_sent(request: RawRequest) -> str:
    """The key the gateway sent, whichever header it went in."""
    for name in ("x-api-key", "x-goog-api-key", "authorization"):
        for value in request.values(name):
            return value.removeprefix("Bearer ").strip()
    raise AssertionError(f"no key in {request.header_lines}")


def first_event(dialect: str) -> bytes:
    if dialect == "anthropic":
        message = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
        message |= {"model": "claude-sonnet-4-6", "usage": {"input_tokens": 5, "output_tokens": 1}}
        return sse("message_start", {"type": "message_start", "message": message})
    if dialect == "responses":
        response = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}
        return sse("response.created", {"type": "response.created", "response": response})
    if dialect == "gemini":
        part = {"content": {"role": "model", "parts": [{"text": "h"}]}, "index": 0}
        return sse(None, {"candidates": [part]})
    delta = {"index": 0, "delta": {"role": "assistant", "content": "h"}}
    return sse(None, {"id": "c1", "object": "chat.completion.chunk", "choices": [delta]})


def error_event(dialect: str, key: str) -> bytes:
    """The upstream's own error event, its message quoting the key it was sent."""
    message = f"Incorrect API key provided: {key}. You can find your key at the console."
    if dialect == "anthropic":
        error = {"type": "authentication_error", "message": message}
        return sse("error", {"type": "error", "error": error})
    if dialect == "responses":
        return sse("error", {"type": "error", "code": "invalid_api_key", "message": message})
    if dialect == "gemini":
        return sse(None, {"error": {"code": 400, "message": message, "status": "INVALID"}})
    return sse(None, {"error": {"message": message, "type": "invalid_request_error"}})


def echoing(answer_began: asyncio.Event | None) -> Any:
    """An answer: the stream's error event quoting the key; with `answer_began`, after one
    ordinary event, once the client has the answer's head (so the error comes mid-stream)."""

    async def answer(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        dialect = upstream_dialect(request.path.split("?")[0])
        head = [("Content-Type", "text/event-stream"), ("Connection", "close")]
        writer.write(response_head(200, head))
        if answer_began is not None:
            writer.write(first_event(dialect))
            await writer.drain()
            await asyncio.wait_for(answer_began.wait(), ANSWER_TIMEOUT_S)
        writer.write(error_event(dialect, key_sent(request)))
        await writer.drain()

    return answer


async def post(
    base_url: str, path: str, body: dict[str, Any], answer_began: asyncio.Event
) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(ANSWER_TIMEOUT_S),
        session.post(
            base_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        answer_began.set()
        return response.status, await response.read()


@pytest.mark.parametrize("door", list(DOORS))
async def test_key_echoed_in_stream_error_is_scrubbed(
    launch: Launch, hostile: HostileUpstream, door: str
) -> None:
    gateway = await launch()
    path, body = DOORS[door]
    for first in (False, True):
        began = asyncio.Event()
        hostile.answer = echoing(None if first else began)
        status, answer = await post(gateway.base_url, path, body, began)
        assert status == (502 if first else 200), answer
        text = answer.decode()
        for key in (OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY):
            assert key not in text, f"{door} ({'first' if first else 'mid-stream'}): {text}"
        # The error itself still reaches the client, with the key masked.
        assert "Incorrect API key provided" in text, text
        assert "REDACTED" in text, text
    # The legitimate path: the gateway sent each upstream its real key.
    assert {key_sent(r) for r in hostile.llm_requests} <= {OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY}
