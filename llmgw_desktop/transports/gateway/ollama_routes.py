"""Ollama's API on the gateway's address: `/api/chat`, `/api/generate`, `/api/embed`,
`/api/embeddings`, `/api/tags`, `/api/show`, `/api/ps` and `/api/version`.

Each is another front door to the engine's own paths: a chat (and a generate without a
`suffix`) goes as an OpenAI Chat request through the whole chat path (`gateway/ollama/`), a
generate with a `suffix` is a fill-in-the-middle completion, an embed an embedding. Streams
are written as Ollama writes them, newline-delimited JSON. The edge's access rules apply as on
every route (an Ollama client on a locked gateway sends its key as a header it is given).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    EMBED_OLLAMA,
    EMBED_OLLAMA_LEGACY,
    FIM_OLLAMA,
    OLLAMA_API_VERSION,
    Completed,
    EngineError,
    NotFound,
    answer_follows,
    ollama_answer,
    ollama_lines,
    ollama_show,
    ollama_tags,
    ollama_to_openai,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import principal_of
from llmgw_desktop.transports.gateway.completion_routes import complete
from llmgw_desktop.transports.gateway.dialect_errors import ollama_error
from llmgw_desktop.transports.gateway.embedding_routes import embed_answer
from llmgw_desktop.transports.gateway.exchange import (
    caller_info,
    json_body,
    read_json,
    refusal,
    streamed,
)

__all__ = ["OLLAMA_ROUTES", "add_ollama_routes"]

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"


async def chat(request: web.Request) -> web.StreamResponse:
    """`/api/chat`: a chat, streamed unless `stream: false`."""
    return await _chat(request, generate=False)


async def generate(request: web.Request) -> web.StreamResponse:
    """`/api/generate`: fill-in-the-middle with a `suffix`, else a one-turn chat."""
    try:
        body = await read_json(request)
    except EngineError as exc:
        return refusal(request, exc, ollama_error)
    if body.get("suffix") is not None:
        # Recorded as a completion (`ollama:fim`), not as the chat a generate otherwise is.
        return await complete(request, FIM_OLLAMA, "ollama:fim", ollama_error)
    return await _chat(request, generate=True, body=body)


async def embed(request: web.Request) -> web.Response:
    """`/api/embed`: `input` (a string or strings) embedded."""
    return await embed_answer(request, EMBED_OLLAMA, "/api/embed", ollama_error)


async def embeddings(request: web.Request) -> web.Response:
    """`/api/embeddings`, the older form: one `prompt`, one `embedding`."""
    return await embed_answer(request, EMBED_OLLAMA_LEGACY, "/api/embeddings", ollama_error)


async def tags(request: web.Request) -> web.Response:
    """`/api/tags`: the models this caller may use."""
    try:
        rows = await _models(request)
    except EngineError as exc:
        return ollama_error(exc)
    return json_body(ollama_tags(rows))


async def show(request: web.Request) -> web.Response:
    """`/api/show`: one model the caller may use."""
    try:
        body = await read_json(request)
        wanted = body.get("model") or body.get("name")
        for row in await _models(request):
            if row["id"] == wanted:
                return json_body(ollama_show(row))
        raise NotFound(f"model {wanted!r} not found; see GET /api/tags")
    except EngineError as exc:
        return ollama_error(exc)


async def running(request: web.Request) -> web.Response:
    """`/api/ps`: the gateway loads no model itself."""
    return json_body({"models": []})


async def version(request: web.Request) -> web.Response:
    """`/api/version`: the version of Ollama's API these routes follow."""
    return json_body({"version": OLLAMA_API_VERSION})


# (method, path, handler): the routes, and the access table's rows for them.
OLLAMA_ROUTES = (
    ("POST", "/api/chat", chat),
    ("POST", "/api/generate", generate),
    ("POST", "/api/embed", embed),
    ("POST", "/api/embeddings", embeddings),
    ("GET", "/api/tags", tags),
    ("POST", "/api/show", show),
    ("GET", "/api/ps", running),
    ("GET", "/api/version", version),
)


def add_ollama_routes(app: web.Application) -> None:
    """Mount Ollama's API (the engine is the app's `ENGINE`, set by the chat routes)."""
    for method, path, handler in OLLAMA_ROUTES:
        app.router.add_route(method, path, handler)


async def _models(request: web.Request) -> list[dict[str, Any]]:
    """The models this caller may use, embedding models among them (Ollama lists every model
    it has, and its clients find their embedding models there)."""
    engine = request.app[ENGINE]
    return await engine.providers.models(None, principal_of(request).id, embeddings=True)


async def _chat(
    request: web.Request, *, generate: bool, body: dict[str, Any] | None = None
) -> web.StreamResponse:
    engine = request.app[ENGINE]
    answer_follows()
    endpoint = "/api/generate" if generate else "/api/chat"
    started = time.perf_counter_ns()
    try:
        body = body if body is not None else await read_json(request)
        asked = ollama_to_openai(body, generate=generate)
        answer = await engine.gateway.chat(
            DIALECT_OPENAI_CHAT, asked, caller_info(request, body, endpoint)
        )
    except EngineError as exc:
        return refusal(request, exc, ollama_error)
    if isinstance(answer, Completed):
        out = ollama_answer(
            answer.json(), asked, generate=generate, elapsed_ns=time.perf_counter_ns() - started
        )
        return json_body(out, headers=answer.route.headers())
    headers = {"Content-Type": NDJSON, "Cache-Control": "no-cache", **answer.route.headers()}
    lines: AsyncIterator[bytes] = ollama_lines(
        answer.chunks, asked, generate=generate, started_ns=started
    )
    return await streamed(request, lines, headers)
