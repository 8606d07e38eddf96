"""The chat endpoints of the four dialects (the model lists are `model_routes.py`).

Each handler reads the body, names the caller and project, hands the request to the engine's
gateway, and writes the answer back: whole, or streamed chunk by chunk as the upstream sends
it. Errors are answered in the caller's own dialect with the status the engine chose. A door
whose wire differs from its dialect's (the clouds' doors onto Messages, `cloud_routes.py`)
serves through `serve_chat` with its own reading of the body and framing of the stream.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
    Completed,
    Engine,
    EngineError,
    NotFound,
    SseParser,
    TokenCount,
    answer_follows,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.gateway.completion_routes import openai_completions
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.gateway.embedding_routes import (
    GEMINI_EMBED_ACTIONS,
    gemini_embeddings,
    openai_embeddings,
)
from llmgw_desktop.transports.gateway.exchange import (
    DoorBody,
    caller_info,
    json_body,
    read_body,
    refusal,
    streamed,
)
from llmgw_desktop.transports.gateway.model_routes import GEMINI_ACTIONS, add_model_routes
from llmgw_desktop.transports.gateway.ollama_routes import add_ollama_routes
from llmgw_desktop.transports.path_aliases import add_route

__all__ = [
    "StreamFraming",
    "add_chat_routes",
    "chat_completions",
    "count_answer",
    "count_tokens",
    "gemini",
    "messages",
    "responses",
    "serve_chat",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamFraming:
    """How a door writes a streamed answer: its content type, and its frames made of the
    engine's server-sent events (the engine's chunks are closed however the frames end)."""

    content_type: str
    frames: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]


def add_chat_routes(app: web.Application, engine: Engine) -> None:
    """Mount the chat, count-tokens and model-list routes of every dialect."""
    app[ENGINE] = engine  # the handlers below read it from their request's app
    # Each at its path and at the paths other gateways' users have for it (`path_aliases`).
    add_route(app, "POST", "/v1/chat/completions", chat_completions)
    add_route(app, "POST", "/v1/responses", responses)
    add_route(app, "POST", "/v1/messages", messages)
    add_route(app, "POST", "/v1/messages/count_tokens", count_tokens)
    add_route(app, "POST", "/v1/embeddings", openai_embeddings)
    add_route(app, "POST", "/v1/completions", openai_completions)
    add_ollama_routes(app)
    for prefix in ("/v1beta/models/", "/v1/models/"):
        add_route(app, "POST", prefix + "{target:.+}", gemini)
    add_model_routes(app, engine)


async def serve_chat(
    request: web.Request,
    front: str,
    endpoint: str,
    *,
    url_model: str | None = None,
    stream: bool | None = None,
    read: Callable[[web.Request], Awaitable[DoorBody]] | None = None,
    framing: StreamFraming | None = None,
) -> web.StreamResponse:
    """One chat request of the dialect `front` through `endpoint`: its body as `read` makes it
    (None: as it came, `read_body`), the engine's answer whole or streamed (as server-sent
    events, or in `framing`), or its refusal in the dialect's envelope."""
    engine = request.app[ENGINE]
    # The row is finished in the step that writes the answer (aiohttp writes what this
    # returns, the last chunk's end follows the last chunk): who only watches rows hears of
    # it after that step, off the path to the answer.
    answer_follows()
    # One span per request (does nothing while OpenTelemetry export is off); it continues
    # the client's `traceparent` and lasts until the answer's last byte. The answer is made
    # here rather than in a coroutine of its own: a request's await chain is one frame
    # shorter at each of its resumptions.
    attributes = {
        "gen_ai.operation.name": "chat",
        "http.route": endpoint,
        "llmgw.dialect": front,
    }
    telemetry = engine.telemetry
    # Export off: every call on the span is a no-op, and each would still be a call.
    traced = telemetry.enabled
    with telemetry.request_span("chat", request.headers, attributes) as span:
        try:
            if read is None:  # the body as it came: one coroutine and one `DoorBody` fewer
                raw, body = await read_body(request)
                carried = None
            else:
                door = await read(request)
                raw, body, carried = door.raw, door.body, door.headers
            if traced:
                model = body.get("model") if isinstance(body.get("model"), str) else url_model
                if model:
                    span.rename(f"chat {model}")
                    span.set("gen_ai.request.model", model)
                telemetry.capture(span, "gen_ai.input.messages", raw)
            answer = await engine.gateway.chat(
                front,
                body,
                caller_info(request, body, endpoint, headers=carried),
                raw=raw,
                url_model=url_model,
                stream=stream,
            )
        except EngineError as exc:
            span.failed(str(exc.code))
            span.set("llmgw.request_id", exc.details.get("requestId"))
            return refusal(request, exc, functools.partial(dialect_error, front))
        if traced:
            span.set("llmgw.request_id", answer.route.request_id)
        if isinstance(answer, Completed):
            payload = answer.payload()
            if traced:
                telemetry.capture(span, "gen_ai.output.messages", payload)
            return web.Response(
                body=payload,
                content_type="application/json",
                headers={**answer.headers, **answer.route.headers()},
            )
        content_type = "text/event-stream" if framing is None else framing.content_type
        relayed = answer.headers
        if "cache-control" in relayed:
            # The stream's own directive is ours; the upstream's would be a second line.
            relayed = {k: v for k, v in relayed.items() if k != "cache-control"}
        headers = {
            **relayed,
            "Content-Type": content_type,
            "Cache-Control": "no-cache",
            **answer.route.headers(),
        }
        # A framing's frames are a generator of the engine's chunks, which closes nothing if it
        # never started: the engine's own are closed.
        chunks = answer.chunks if framing is None else framing.frames(answer.chunks)
        return await streamed(request, chunks, headers, closes=answer.chunks)


# OpenAI Chat Completions, OpenAI Responses and Anthropic Messages, whole or streamed: each
# mounted as `serve_chat` with its dialect bound, not as a coroutine that awaits it (a request's
# task passes every coroutine of its await chain at each of its resumptions).
chat_completions = functools.partial(
    serve_chat, front=DIALECT_OPENAI_CHAT, endpoint="/v1/chat/completions"
)
responses = functools.partial(serve_chat, front=DIALECT_OPENAI_RESPONSES, endpoint="/v1/responses")
messages = functools.partial(serve_chat, front=DIALECT_ANTHROPIC, endpoint="/v1/messages")


async def count_tokens(request: web.Request) -> web.Response:
    """Anthropic's token count: the provider's where it can count, else an estimate."""
    return await _count(request, DIALECT_ANTHROPIC, "/v1/messages/count_tokens", "input_tokens")


async def _count(
    request: web.Request, front: str, endpoint: str, field: str, url_model: str | None = None
) -> web.Response:
    """A token count asked through `front`'s door, answered in its shape (`field`: its count)."""
    engine = request.app[ENGINE]
    try:
        raw, body = await read_body(request)
        counted = await engine.gateway.count_tokens(
            front, body, caller_info(request, body, endpoint), raw=raw, url_model=url_model
        )
    except EngineError as exc:
        return dialect_error(front, exc)
    return count_answer(counted, field)


async def gemini(request: web.Request) -> web.StreamResponse:
    """Gemini's `MODEL:generateContent`, `:streamGenerateContent` and `:countTokens`."""
    model, _, action = request.match_info["target"].rpartition(":")
    if model and action in GEMINI_EMBED_ACTIONS:
        return await gemini_embeddings(request, model, action)
    if not model or action not in GEMINI_ACTIONS:
        return dialect_error(
            DIALECT_GEMINI,
            NotFound(
                f"no Gemini method {action!r}; use one of "
                f"{', '.join((*GEMINI_ACTIONS, *GEMINI_EMBED_ACTIONS))} "
                "as in /v1beta/models/MODEL:generateContent"
            ),
        )
    if action == "countTokens":
        return await _count(request, DIALECT_GEMINI, "gemini:countTokens", "totalTokens", model)
    streaming = action == "streamGenerateContent"
    return await serve_chat(
        request,
        DIALECT_GEMINI,
        f"gemini:{action}",
        url_model=model,
        stream=streaming,
        framing=GEMINI_ARRAY if streaming and request.query.get("alt") != "sse" else None,
    )


def count_answer(counted: TokenCount, field: str, *, relayed: bool = True) -> web.Response:
    """A count in the dialect's shape (the upstream's own body where it counted in the
    client's dialect and `relayed`: a door whose wire has its own shape writes `field`
    alone); whether it is exact is said in a header and in the body's `x_gateway` object,
    with who counted or why it is an estimate."""
    kind = "exact" if counted.exact else "estimate"
    body: dict[str, Any] = (
        dict(counted.body) if counted.body is not None and relayed else {field: counted.tokens}
    )
    body["x_gateway"] = {"tokenCount": kind, "source": counted.source}
    return json_body(body, headers={"x-gateway-token-count": kind})


async def _as_json_array(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Gemini's non-SSE stream: one JSON array whose elements arrive as they are made."""
    parser = SseParser()
    first = True
    try:
        async for piece in chunks:
            out = []
            for _, data in parser.feed(piece):
                out.append(("[" if first else "\r\n,") + data)
                first = False
            if out:
                yield "".join(out).encode()
        yield b"[]" if first else b"]"
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


# Gemini's stream without `alt=sse`: one JSON array.
GEMINI_ARRAY = StreamFraming("application/json", _as_json_array)
