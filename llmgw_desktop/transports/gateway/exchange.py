"""What every gateway route reads and writes alike: the request's JSON body (`DoorBody`, as
the engine takes it), who is asking (`caller_info`), a compact JSON answer, a refusal in the
caller's envelope (`refusal`), and a streamed answer (`streamed`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    CallerInfo,
    EngineError,
    InvalidRequest,
    forwardable_headers,
    jsonio,
)
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import note_refusal, principal_of
from llmgw_desktop.transports.gateway.callers import (
    cache_control,
    caller_name,
    client_session,
    project_scope,
    session_named,
)
from llmgw_desktop.transports.http_errors import REFUSAL_CODE_KEY

__all__ = [
    "DoorBody",
    "caller_info",
    "json_body",
    "read_body",
    "read_door_body",
    "read_json",
    "refusal",
    "streamed",
]

log = logging.getLogger(__name__)

# A body taken from its stream at once (`_arrived_body`), for the request's next reader.
_BODY_KEY = web.RequestKey("body", bytes)


@dataclass(frozen=True)
class DoorBody:
    """A request's body as the engine takes it: its bytes, the object they hold, and the
    headers a door's wire carries inside its body (Bedrock's `anthropic_beta`), which go on
    as the headers they stand for."""

    raw: bytes
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def json_body(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A compact JSON response (no pretty printing on the hot path)."""
    return web.Response(
        body=jsonio.dumps(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        InvalidRequest: it is not JSON, or not an object.
    """
    return (await read_body(request))[1]


async def read_body(request: web.Request) -> tuple[bytes, dict[str, Any]]:
    """The request body's bytes, and the JSON object they hold.

    Raises:
        InvalidRequest: it is not JSON, or not an object.
    """
    raw = _arrived_body(request)
    if raw is None:  # still arriving, or none: read as it comes (`read` keeps it)
        raw = await request.read()
    if not raw or raw.isspace():  # `strip` would copy an agent's 40 KB body to ask this
        raise InvalidRequest("the request body is empty; send a JSON object")
    try:
        body = jsonio.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest(f"the request body must be a JSON object, not {type(body).__name__}")
    return raw, body


def _arrived_body(request: web.Request) -> bytes | None:
    """The request body when it has wholly arrived, the same for each route that reads it
    (Ollama's generate, then the fill-in-the-middle completion it hands a `suffix` to); None
    while it is still arriving, or when there is none.

    Taken from the stream at once: `request.read()` awaits the stream twice and copies the
    body into a `bytearray` and out again (about 13 k instructions a request). That leaves the
    stream at its end, so the bytes are kept on the request for its next reader, and `read`'s
    limit is kept here.
    """
    content = request.content
    if not content.is_eof() or content.at_eof():
        return request.get(_BODY_KEY)  # still arriving, none, or taken before
    raw = content.read_nowait()
    limit = request.client_max_size
    if limit and len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(limit, len(raw))
    request[_BODY_KEY] = raw
    return raw


async def read_door_body(request: web.Request) -> DoorBody:
    """The request body, as it came.

    Raises:
        InvalidRequest: it is not JSON, or not an object.
    """
    raw, body = await read_body(request)
    return DoorBody(raw, body)


def caller_info(
    request: web.Request,
    body: dict[str, Any],
    endpoint: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> CallerInfo:
    """Who is asking through `endpoint`: the principal, its caller and project, and the
    headers and query a same-dialect upstream is sent (`headers`: those a door's wire carried
    in its body, in place of the request's own of the same names)."""
    engine = request.app[ENGINE]
    principal = principal_of(request)
    asked = request.headers
    passthrough = forwardable_headers(asked.items(), private=(engine.auth.trusted_header,))
    if headers:
        passthrough |= {name.lower(): value for name, value in headers.items()}
    # Positional, in field order, as the request path calls classes (`engine/values.py`).
    return CallerInfo(
        principal.id,
        # An agent the gateway runs for an editor calls back on the editor's lane.
        principal.lane(caller_name(asked)),
        project_scope(asked, body, principal),
        endpoint,
        "http",
        # Sent on only to an upstream of the client's own dialect.
        passthrough,
        request.query_string,
        asked.get("X-Workspace") or None,
        session_named(asked),
        client_session(asked),
        cache_control(asked),
        None,  # replay_of
        None,  # opened_rows
        principal,
    )


def refusal(
    request: web.Request, error: EngineError, render: Callable[[EngineError], web.Response]
) -> web.Response:
    """`error` answered in the caller's own envelope (`render`). One the gateway never saw (a
    body that is no JSON object, refused here) is counted with the edge's refusals, as the
    edge's own are; the gateway's are in its recorder already."""
    answer = render(error)
    if error.trace_headers is None:
        engine = request.app[ENGINE]
        answer[REFUSAL_CODE_KEY] = error.code
        note_refusal(engine.refusals, engine.auth, request, answer, "")
    return answer


async def streamed(
    request: web.Request,
    chunks: AsyncIterator[bytes],
    headers: Mapping[str, str],
    *,
    closes: AsyncIterator[Any] | None = None,
) -> web.StreamResponse:
    """A streamed answer, written chunk by chunk as the engine makes them. The engine's chunks
    are closed however this ends, written or not (`closes`: the engine's own, where `chunks`
    is made of them and closes nothing if it never started); a client that leaves mid-answer
    is a normal end (its row says the answer was cut)."""
    response = web.StreamResponse(headers=headers)
    engine_chunks: Any = closes or chunks
    try:
        # Closed as `contextlib.aclosing` closes them, without its object and two coroutines.
        try:
            await response.prepare(request)
            async for piece in chunks:
                await response.write(piece)
        finally:
            await engine_chunks.aclose()
        await response.write_eof()
    except ConnectionError as exc:  # "Cannot write to closing transport", "Connection lost"
        log.debug("%s %s: the client left mid-answer (%s)", request.method, request.path, exc)
    return response
