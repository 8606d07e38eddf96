"""Text completions: OpenAI's `POST /v1/completions` (`prompt` and `suffix` for
fill-in-the-middle, or the legacy prompt alone), whole or streamed; Ollama's `/api/generate`
answers through `complete` too (`ollama_routes.py`).

The engine routes and records the call; this writes its answer, and a client that hangs up
mid-stream cancels the handler (`handler_cancellation`), which closes the engine's pieces and
with them the upstream's connection.
"""

from __future__ import annotations

import contextlib
import logging
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
from llmgw_desktop.transports.auth_edge import note_refusal
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.gateway.exchange import caller_info, json_body, read_json
from llmgw_desktop.transports.http_errors import REFUSAL_CODE_KEY

__all__ = ["complete", "openai_completions"]

log = logging.getLogger(__name__)

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
        refusal = refused(exc)
        if exc.trace_headers is None:
            refusal[REFUSAL_CODE_KEY] = exc.code
            note_refusal(engine.refusals, engine.auth, request, refusal, "")
        return refusal
    if answer.pieces is None:
        return json_body(completion_answer(answer), headers=answer.route.headers())
    kind = "application/x-ndjson" if front == FIM_OLLAMA else "text/event-stream"
    response = web.StreamResponse(
        headers={"Content-Type": kind, "Cache-Control": "no-cache", **answer.route.headers()}
    )
    chunks = completion_chunks(answer)
    try:
        async with contextlib.aclosing(chunks):  # type: ignore[type-var]
            await response.prepare(request)
            async for piece in chunks:
                await response.write(piece)
        await response.write_eof()
    except ConnectionError as exc:  # the client left mid-answer: its row says it was cut
        log.debug("%s %s: the client left mid-answer (%s)", request.method, request.path, exc)
    return response
