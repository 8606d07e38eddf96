"""Writing one scripted reply to the wire: ok, error, cut and malformed, JSON or SSE."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import web

from .schema import fill_schema
from .script import Reply, without_usage
from .sse import DialectCodec, JsonObject, StreamAnswer, dumps

_SSE_HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
}
# The header each API family carries its request id in; SDKs surface it on errors.
_REQUEST_ID_HEADERS: Final[Mapping[str, str]] = {
    "anthropic": "request-id",
    "responses": "x-request-id",
    "chat": "x-request-id",
    "gemini": "x-request-id",
    "bedrock": "x-amzn-RequestId",
}

# What the real APIs also send with every answer: the account the key belongs to.
ACCOUNT_HEADERS: Final[Mapping[str, Mapping[str, str]]] = {
    "anthropic": {"anthropic-organization-id": "0f1e2d3c-fake-operator-org"},
    "responses": {"openai-organization": "org-fake-operator", "openai-project": "proj_fake_op"},
    "chat": {"openai-organization": "org-fake-operator", "openai-project": "proj_fake_op"},
    "gemini": {},
    "bedrock": {},
}


def answer_text(codec: DialectCodec, body: JsonObject, reply: Reply) -> str:
    """JSON that fills the schema of a JSON-mode request, otherwise the reply's prose."""
    schema = codec.wanted_schema(body)
    if schema is not None:
        return dumps(fill_schema(schema))
    facts = codec.facts(body)
    return reply.answer_text(facts.message_count, facts.last_user)


async def write_reply(
    request: web.Request,
    codec: DialectCodec,
    reply: Reply,
    body: JsonObject,
    model: str,
    *,
    stream: bool,
    midway: Callable[[], Awaitable[bool]] | None = None,
    gap_s: float = 0.0,
) -> web.StreamResponse:
    """Answer one LLM call as `reply` says (any delay has already been waited out); a stream
    awaits `midway` once half its frames are out (False: the server is closing, drop it), and
    `gap_s` between its frames."""
    request_id = {
        _REQUEST_ID_HEADERS[codec.name]: "req_fake",
        **ACCOUNT_HEADERS[codec.name],
        **dict(reply.headers),
    }
    if reply.kind == "error":
        return error_response(codec, reply, request_id)
    if reply.kind == "empty":
        return empty_answer(request, request_id)
    # A tool call's leading text is sent as scripted: no facts, no schema filling.
    text = reply.text if reply.call is not None else answer_text(codec, body, reply)
    if stream:
        answer = codec.stream_answer(body, text, model, reply.call)
        return await _write_stream(request, codec, reply, answer, request_id, midway, gap_s)
    if reply.kind == "malformed":
        return web.Response(body=codec.malformed_json(), content_type="application/json")
    whole = codec.json_answer(body, text, model, reply.call)
    payload = reply.on_wire(dumps(whole if reply.usage else without_usage(whole)).encode())
    if reply.kind == "cut":
        # Promise the whole body, deliver half: the client sees a short read.
        response = web.StreamResponse(headers={"Content-Type": "application/json", **request_id})
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        return drop_connection(request, response)
    return web.Response(body=payload, content_type="application/json", headers=request_id)


async def _write_stream(
    request: web.Request,
    codec: DialectCodec,
    reply: Reply,
    answer: StreamAnswer,
    headers: dict[str, str],
    midway: Callable[[], Awaitable[bool]] | None = None,
    gap_s: float = 0.0,
) -> web.StreamResponse:
    # Bedrock streams AWS event-stream messages, not server-sent events.
    framing = getattr(codec, "STREAM_HEADERS", _SSE_HEADERS)
    if reply.kind == "cut":
        sent = answer.through_finish() if reply.after_finish else answer.cut_prefix()
        if reply.unframed:
            return _unframed(request, {**framing, **headers}, sent)
        response = web.StreamResponse(headers={**framing, **headers})
        await response.prepare(request)
        await response.write(sent)
        return drop_connection(request, response)
    response = web.StreamResponse(headers={**framing, **headers})
    await response.prepare(request)
    frames = codec.malformed_stream() if reply.kind == "malformed" else answer.frames
    # One write per frame, as a real server flushes each event when it is ready (back to back
    # they usually reach the gateway in one read; `gap_s` apart, each in its own).
    for index, frame in enumerate(frames):
        if midway is not None and index == len(frames) // 2 and not await midway():
            return drop_connection(request, response)
        if gap_s and index:
            await asyncio.sleep(gap_s)
        await response.write(reply.on_wire(frame))
    await response.write_eof()
    return response


def _unframed(request: web.Request, headers: Mapping[str, str], body: bytes) -> web.StreamResponse:
    """A 200 whose body ends with the connection, without a length or chunks. aiohttp frames
    every HTTP/1.1 body it writes, so the head and body go to the socket as bytes."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    raw = f"HTTP/1.1 200 OK\r\n{head}Connection: close\r\n\r\n".encode("latin-1") + body
    assert request.transport is not None
    request.transport.write(raw)
    return drop_connection(request)


def empty_answer(request: web.Request, headers: Mapping[str, str]) -> web.StreamResponse:
    """A 200 head, then the connection closes before any of the body (`Reply.empty`)."""
    return _unframed(request, headers, b"")


def error_response(codec: DialectCodec, reply: Reply, headers: dict[str, str]) -> web.Response:
    """The reply's HTTP error in the codec's envelope, with retry-after headers if asked."""
    body, extra = codec.error(reply.status, reply.message)
    headers = {**headers, **extra}
    if reply.retry_after_s is not None:
        # Integer seconds (rounded up, so nobody retries early) is the standard form; the
        # Anthropic and OpenAI SDKs read the more precise -ms header first.
        headers["retry-after"] = str(max(0, math.ceil(reply.retry_after_s)))
        headers["retry-after-ms"] = str(max(0, round(reply.retry_after_s * 1000)))
        google = body.get("error")
        if isinstance(google, dict) and "status" in google:
            # Google's API says the wait in its error body, as a RetryInfo detail.
            delay = f"{max(0, math.ceil(reply.retry_after_s))}s"
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
            google["details"] = [*google.get("details", []), retry]
    return web.json_response(body, status=reply.status, headers=headers)


def drop_connection(
    request: web.Request, response: web.StreamResponse | None = None
) -> web.StreamResponse:
    """End the TCP connection under a response that is not finished.

    close() rather than abort(): it flushes what was written first, so the client always
    gets the partial data before the connection ends (an abort could race it).
    """
    if request.transport is not None:
        request.transport.close()
    # aiohttp refuses to write to a closing transport, so this placeholder never goes out.
    return response or web.Response(status=503)
