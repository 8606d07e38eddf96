"""Amazon Bedrock's InvokeModel and Google Vertex AI's rawPredict as doors onto Anthropic
Messages: what a client set up for either cloud sends (Claude Code with `CLAUDE_CODE_USE_BEDROCK`
or `CLAUDE_CODE_USE_VERTEX`, the clouds' own SDKs) reaches the gateway's Messages route, with
any model behind it, budgets, the guard, the recorder and the cache as there.

Each door translates its wire, the engine decides:

- Bedrock, base URL the gateway's own (`ANTHROPIC_BEDROCK_BASE_URL=http://127.0.0.1:PORT`):
  `POST /model/{id}/invoke` (an answer), `/model/{id}/invoke-with-response-stream` (a stream,
  each of Anthropic's events in a `chunk` message of AWS's event-stream framing: `eventstream.
  invoke_chunk`), `/model/{id}/count-tokens` (`{"input": {"invokeModel": {"body": base64}}}`,
  answered `{"inputTokens": n}`). The body is a Messages body without its model, with
  `anthropic_version` (`bedrock-2023-05-31`) and the betas in `anthropic_beta`, which go on as
  the `anthropic-beta` header they stand for. `GET /inference-profiles` (the control plane's
  list, asked without a credential at start) is answered with none: the gateway names its
  models itself.
- Vertex, base URL the gateway's `/v1` (`ANTHROPIC_VERTEX_BASE_URL=http://127.0.0.1:PORT/v1`):
  `POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{id}:rawPredict` (an answer,
  or a stream when the body asks), `:streamRawPredict` (server-sent events, as Messages), and
  `.../models/count-tokens:rawPredict` (a Messages count whose body names the model). The body
  has no model and `anthropic_version` (`vertex-2023-10-16`). The project and location are
  the client's own names, not used.

The model is the cloud's name (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`,
`claude-sonnet-4-5@20250929`) or any the gateway serves (`gpt-4.1`, an alias): the router
sends a cloud's name of a Claude model to the gateway's own cloud when it is set up, else to
Anthropic's same model (`router.py`). Errors are in Anthropic's envelope, which the SDKs of both
clouds read from an error answer as from Anthropic's own (Claude Code's recovery matches on its
type and message).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_ANTHROPIC,
    EVENT_STREAM_TYPE,
    EngineError,
    InvalidRequest,
    NotFound,
    SseParser,
    invoke_chunk,
    jsonio,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.doors import VERTEX_ANTHROPIC_PATH
from llmgw_desktop.transports.gateway.chat_routes import StreamFraming, count_answer, serve_chat
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.gateway.exchange import DoorBody, caller_info, json_body, read_body

__all__ = [
    "add_cloud_routes",
    "bedrock_count_tokens",
    "bedrock_invoke",
    "inference_profiles",
    "vertex_raw_predict",
]

_BEDROCK_STREAM = "invoke-with-response-stream"
_VERTEX_METHODS = ("rawPredict", "streamRawPredict")
# The model Vertex's count names instead of a model's (its body names the model).
_VERTEX_COUNT = "count-tokens"
# What each cloud's body carries beside a Messages body: its version of the API (the
# `anthropic-version` header's part), and on Bedrock the betas (the `anthropic-beta` header's).
_VERSION_FIELD = "anthropic_version"
_BETA_FIELD = "anthropic_beta"
_BETA_HEADER = "anthropic-beta"


def add_cloud_routes(app: web.Application) -> None:
    """Mount Bedrock's and Vertex's doors onto Messages."""
    app.router.add_post("/model/{model:.+}/invoke", bedrock_invoke)
    app.router.add_post("/model/{model:.+}/" + _BEDROCK_STREAM, bedrock_invoke)
    app.router.add_post("/model/{model:.+}/count-tokens", bedrock_count_tokens)
    app.router.add_get("/inference-profiles", inference_profiles)
    app.router.add_post(VERTEX_ANTHROPIC_PATH, vertex_raw_predict)


async def bedrock_invoke(request: web.Request) -> web.StreamResponse:
    """Bedrock's InvokeModel and InvokeModelWithResponseStream of an Anthropic model's body."""
    model = request.match_info["model"]
    streams = request.path.endswith("/" + _BEDROCK_STREAM)

    async def read(request: web.Request) -> DoorBody:
        return _bedrock_body(request, (await read_body(request))[1], model, stream=streams)

    action = _BEDROCK_STREAM if streams else "invoke"
    return await serve_chat(
        request,
        DIALECT_ANTHROPIC,
        f"bedrock:{action}",
        url_model=model,
        stream=streams,
        read=read,
        framing=_EVENT_STREAM if streams else None,
    )


async def bedrock_count_tokens(request: web.Request) -> web.Response:
    """Bedrock's CountTokens of an InvokeModel body, answered `{"inputTokens": n}`."""
    engine = request.app[ENGINE]
    model = request.match_info["model"]
    try:
        door = _bedrock_body(request, _invoke_body(await read_body(request)), model, stream=False)
        counted = await engine.gateway.count_tokens(
            DIALECT_ANTHROPIC,
            door.body,
            caller_info(request, door.body, "bedrock:count-tokens", headers=door.headers),
            raw=door.raw,
        )
    except EngineError as exc:
        return dialect_error(DIALECT_ANTHROPIC, exc)
    return count_answer(counted, "inputTokens", relayed=False)


async def inference_profiles(request: web.Request) -> web.Response:
    """Bedrock's list of system-defined inference profiles: none here (the gateway's models
    are asked for by name; `GET /v1/models` lists them)."""
    return json_body({"inferenceProfileSummaries": []})


async def vertex_raw_predict(request: web.Request) -> web.StreamResponse:
    """Vertex's rawPredict and streamRawPredict of an Anthropic model, and its token count."""
    model, _, method = request.match_info["target"].rpartition(":")
    if not model or method not in _VERTEX_METHODS:
        return dialect_error(
            DIALECT_ANTHROPIC,
            NotFound(
                f"no Vertex method {method!r} for Anthropic's models; use "
                f"{', '.join(_VERTEX_METHODS)}, as in .../anthropic/models/MODEL:rawPredict"
            ),
        )
    if model == _VERTEX_COUNT:
        return await _vertex_count_tokens(request)
    streams = True if method == "streamRawPredict" else None

    async def read(request: web.Request) -> DoorBody:
        return _vertex_body((await read_body(request))[1], model, stream=streams)

    return await serve_chat(
        request,
        DIALECT_ANTHROPIC,
        f"vertex:{method}",
        url_model=model,
        stream=streams,
        read=read,
    )


async def _vertex_count_tokens(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    try:
        _, body = await read_body(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest("model: Vertex's count-tokens body names the model", param="model")
        door = _vertex_body(body, model, stream=None)
        counted = await engine.gateway.count_tokens(
            DIALECT_ANTHROPIC,
            door.body,
            caller_info(request, door.body, "vertex:count-tokens"),
            raw=door.raw,
        )
    except EngineError as exc:
        return dialect_error(DIALECT_ANTHROPIC, exc)
    return count_answer(counted, "input_tokens")


def _bedrock_body(
    request: web.Request, body: dict[str, Any], model: str, *, stream: bool
) -> DoorBody:
    """An InvokeModel body as the Messages body it stands for: the model of the URL, the
    stream of the action, its betas in the `anthropic-beta` header (after the request's own).

    Raises:
        InvalidRequest: `anthropic_beta` is not a list of names.
    """
    betas = body.pop(_BETA_FIELD, None)
    if betas is not None and not (
        isinstance(betas, list) and all(isinstance(b, str) and b for b in betas)
    ):
        raise InvalidRequest(
            f'{_BETA_FIELD}: a list of beta names, such as ["interleaved-thinking-2025-05-14"]',
            param=_BETA_FIELD,
        )
    headers: dict[str, str] = {}
    if betas:
        given = [b.strip() for b in request.headers.get(_BETA_HEADER, "").split(",") if b.strip()]
        headers[_BETA_HEADER] = ",".join(dict.fromkeys([*given, *betas]))
    return _messages_body(body, model, stream=stream, headers=headers)


def _vertex_body(body: dict[str, Any], model: str, *, stream: bool | None) -> DoorBody:
    return _messages_body(body, model, stream=stream, headers={})


def _messages_body(
    body: dict[str, Any], model: str, *, stream: bool | None, headers: dict[str, str]
) -> DoorBody:
    """`body` as Messages takes it: its cloud's version out, the model the URL names in, and
    `stream` as the cloud's action says (None: as the body says)."""
    body.pop(_VERSION_FIELD, None)
    body["model"] = model
    if stream is True:
        body["stream"] = True
    elif stream is False:
        body.pop("stream", None)
    return DoorBody(jsonio.dumps(body), body, headers)


def _invoke_body(read: tuple[bytes, dict[str, Any]]) -> dict[str, Any]:
    """The InvokeModel body a CountTokens request counts (`input.invokeModel.body`, base64).

    Raises:
        InvalidRequest: the request holds no such body, or it is not a JSON object.
    """
    given = read[1].get("input")
    invoke = given.get("invokeModel") if isinstance(given, dict) else None
    encoded = invoke.get("body") if isinstance(invoke, dict) else None
    if not isinstance(encoded, str):
        raise InvalidRequest(
            "input.invokeModel.body: the InvokeModel body to count, base64-encoded "
            "(Converse's input is not counted here)",
            param="input",
        )
    try:
        body = jsonio.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            "input.invokeModel.body: not base64 of a JSON object", param="input"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest("input.invokeModel.body: not a JSON object", param="input")
    return body


async def _event_stream(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The Messages stream's events, each in an event-stream `chunk` message."""
    parser = SseParser()
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for piece in chunks:
            framed = b"".join(invoke_chunk(data.encode()) for _, data in parser.feed(piece))
            if framed:
                yield framed


_EVENT_STREAM = StreamFraming(EVENT_STREAM_TYPE, _event_stream)
