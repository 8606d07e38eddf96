"""The embedding endpoints: OpenAI's `POST /v1/embeddings` and Gemini's `embedContent` and
`batchEmbedContents` (the Gemini route hands those here; Ollama's are `ollama_routes.py`).

Each reads the body into the engine's `EmbedRequest`, hands it to the gateway (routing, keys,
budgets, the response cache and the recorder are the engine's), and answers in the front
door's own shape, its errors in the caller's own envelope.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    EMBED_GEMINI,
    EMBED_GEMINI_BATCH,
    EMBED_OPENAI,
    EngineError,
    answer_follows,
    embedding_answer,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.gateway.exchange import caller_info, json_body, read_json, refusal

__all__ = ["GEMINI_EMBED_ACTIONS", "embed_answer", "gemini_embeddings", "openai_embeddings"]

# Gemini's embedding methods (`MODEL:embedContent`), served beside its chat methods.
GEMINI_EMBED_ACTIONS = ("embedContent", "batchEmbedContents")


async def openai_embeddings(request: web.Request) -> web.Response:
    """OpenAI's embeddings: a string, strings or token arrays in; vectors out (numbers, or
    base64 when `encoding_format` says so)."""
    return await embed_answer(request, EMBED_OPENAI, "/v1/embeddings", _in(DIALECT_OPENAI_CHAT))


async def gemini_embeddings(request: web.Request, model: str, action: str) -> web.Response:
    """Gemini's `embedContent` (one text) and `batchEmbedContents` (its `requests`)."""
    front = EMBED_GEMINI_BATCH if action == "batchEmbedContents" else EMBED_GEMINI
    return await embed_answer(
        request, front, f"gemini:{action}", _in(DIALECT_GEMINI), url_model=model
    )


async def embed_answer(
    request: web.Request,
    front: str,
    endpoint: str,
    refused: Callable[[EngineError], web.Response],
    *,
    url_model: str | None = None,
) -> web.Response:
    """The request's body embedded by the engine as the front door `front` sends it, and
    answered in its shape, an error as `refused` renders it (`endpoint`: the recorder's name
    of the route)."""
    engine = request.app[ENGINE]
    answer_follows()  # the row is finished before the answer; its watchers hear after it
    started = time.perf_counter_ns()
    try:
        body = await read_json(request)
        answer = await engine.gateway.embeddings(
            front, body, caller_info(request, body, endpoint), url_model=url_model
        )
    except EngineError as exc:
        return refusal(request, exc, refused)
    out = embedding_answer(answer, elapsed_ns=time.perf_counter_ns() - started)
    return json_body(out, headers=answer.route.headers())


def _in(dialect: str) -> Callable[[EngineError], web.Response]:
    """An error in `dialect`'s envelope."""
    return functools.partial(dialect_error, dialect)
