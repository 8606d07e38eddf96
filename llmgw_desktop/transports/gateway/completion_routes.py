"""Text completions: OpenAI's `POST /v1/completions` (`prompt` and `suffix` for
fill-in-the-middle, or the legacy prompt alone), whole or streamed; Ollama's `/api/generate`
answers through `complete` too (`ollama_routes.py`).

The engine routes and records the call; this writes its answer, and a client that hangs up
mid-stream cancels the handler (`handler_cancellation`), which closes the engine's pieces and
with them the upstream's connection.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    FIM_OLLAMA,
    FIM_OPENAI,
    EngineError,
    answer_follows,
    completion_answer,
    completion_chunks,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.gateway.exchange import (
    caller_info,
    json_body,
    read_json,
    refusal,
    streamed,
)

__all__ = ["complete", "openai_completions"]

ErrorAnswer = Callable[[EngineError], web.Response]


async def openai_completions(request: web.Request) -> web.StreamResponse:
    """OpenAI's text completions, whole or streamed (SSE)."""
    return await complete(
        request, FIM_OPENAI, "/v1/completions", lambda exc: dialect_error(DIALECT_OPENAI_CHAT, exc)
    )


async def complete(
    request: web.Request, front: str, endpoint: str, refused: ErrorAnswer
) -> web.StreamResponse:
    """The request's completion from the engine, written in `front`'s shape; an error as
    `refused` renders it (`endpoint`: the recorder's name of the route)."""
    engine = request.app[ENGINE]
    answer_follows()
    try:
        body = await read_json(request)
        answer = await engine.gateway.completions(front, body, caller_info(request, body, endpoint))
    except EngineError as exc:
        return refusal(request, exc, refused)
    if answer.pieces is None:
        return json_body(completion_answer(answer), headers=answer.route.headers())
    kind = "application/x-ndjson" if front == FIM_OLLAMA else "text/event-stream"
    headers = {"Content-Type": kind, "Cache-Control": "no-cache", **answer.route.headers()}
    return await streamed(request, completion_chunks(answer), headers)
