"""Run an ASGI application (the MCP SDK's Streamable HTTP) inside an aiohttp handler.

One aiohttp request becomes one ASGI `http` scope. The body is streamed to the app as
`http.request` messages; the app's `http.response.*` messages become an aiohttp
`StreamResponse`, written as they come so server-sent events reach the client at once.

The app runs in a task of its own. A client that goes away cancels the aiohttp handler (the
runner enables handler cancellation); the bridge then tells the app with `http.disconnect`, as
an ASGI server would, and lets it finish, instead of cancelling it mid-flight. (The MCP SDK
decides whether a new session was established only when its call returns: cancelling it
right after a client has read its answer and hung up would throw the session away.) A client
can also leave before aiohttp notices, between two writes: the write that finds the connection
closed counts as the same disconnect, one line at DEBUG, as an ASGI server drops sends after a
disconnect, instead of an exception inside the app (the MCP SDK logged each as a 30-line
ERROR).

The off-the-shelf aiohttp-asgi 0.7.1 hung on the first request when tried; this is the part
of it we need, small enough to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import web

__all__ = ["ASGIApp", "post_to_app", "read_capped", "serve_asgi"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]
log = logging.getLogger(__name__)
BODY_CHUNK = 64 * 1024
DISCONNECT_GRACE_S = 5.0  # how long an app may take to wind down after its client left


async def serve_asgi(
    app: ASGIApp,
    request: web.Request,
    *,
    state: dict[str, Any] | None = None,
    user: Any = None,
    max_body_bytes: int | None = None,
    body: bytes | None = None,
    started: dict[str, Any] | None = None,
) -> web.StreamResponse:
    """Answer `request` with the ASGI `app`; `state` is handed to it as `scope["state"]`, and
    `user` (who the edge decided is calling) as `scope["user"]`, where Starlette's
    authentication would put it. With `max_body_bytes`, the body is read first, whole, and
    reading stops at that many bytes; `body` is the whole body, read already (`read_capped`).
    `started` gets the app's response status and headers (names in lower case) as it starts
    the response: a caller reads them even when the client left before the end (the handler
    is then cancelled); and `left: True` when the client went away before the response ended.

    Raises:
        web.HTTPRequestEntityTooLarge: the body is longer than `max_body_bytes` (a body with no
            length is counted as it arrives; the edge refuses a declared one).
    """
    if body is None and max_body_bytes is not None:
        # The MCP SDK reads a POST body whole anyway; reading it here, counted, means a body
        # with no Content-Length (chunked) cannot grow past the cap in memory.
        body = await read_capped(request, max_body_bytes)
    scope = _scope(request, state or {})
    if user is not None:
        scope["user"] = user
    exchange = _Exchange(request, body, started)
    try:
        await exchange.run(app, scope)
    finally:
        if started is not None and exchange.disconnected.is_set() and not exchange.finished:
            started["left"] = True
    return exchange.answer()


class _Exchange:
    """One request's ASGI exchange: the body fed to the app, its answer written to aiohttp."""

    def __init__(
        self, request: web.Request, body: bytes | None, started: dict[str, Any] | None
    ) -> None:
        self.request = request
        self.body = body  # the whole body, read already; None: streamed as it arrives
        self.body_done = False
        self.started = started
        self.disconnected = asyncio.Event()
        self.client_left = False
        self.response: web.StreamResponse | None = None
        self.start: Message | None = None
        self.finished = False

    async def run(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        """Run `app` in a task of its own; a client that leaves is told, and given a grace."""
        request = self.request
        try:
            async with asyncio.TaskGroup() as group:
                running = group.create_task(
                    self._call(app, scope), name=f"asgi {request.method} {request.path}"
                )
                try:
                    await asyncio.shield(running)
                except asyncio.CancelledError:
                    if running.done():
                        raise  # the app failed and the group stopped us to report it
                    self.client_left = True
                    self.disconnected.set()
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await asyncio.wait_for(running, DISCONNECT_GRACE_S)
                    raise
        except ExceptionGroup as failed:
            # The group wraps the app's own error; aiohttp (and a caller) sees it unwrapped.
            raise failed.exceptions[0] from None

    def answer(self) -> web.StreamResponse:
        """What the aiohttp handler returns once the app is done."""
        if self.response is not None:
            return self.response
        if self.start is None:
            return web.Response(status=500, text="the MCP endpoint sent no response")
        # Unprepared: aiohttp sends it, and copes with a client that is already gone.
        return _response(self.start)

    async def _call(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            if self.client_left:
                return  # nobody waits for this answer any more: its failure is dropped
            raise

    async def receive(self) -> Message:
        if self.body is not None and not self.body_done:
            self.body_done = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not self.body_done and not self.disconnected.is_set():
            content = self.request.content
            chunk = await content.read(BODY_CHUNK)
            more = not content.at_eof()
            self.body_done = not more
            return {"type": "http.request", "body": chunk, "more_body": more}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        try:
            await self._write(message)
        except ConnectionResetError as exc:  # aiohttp's "Cannot write to closing transport"
            if not self.disconnected.is_set():
                request = self.request
                log.debug(
                    "%s %s: the client left mid-answer (%s)", request.method, request.path, exc
                )
            self.disconnected.set()

    async def _write(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._start(message)
            return
        if kind != "http.response.body" or self.finished or self.disconnected.is_set():
            return
        if self.response is None:
            self.response = await _prepare(self.request, self.start)
        body = message.get("body", b"")
        if body:
            await self.response.write(body)
        if not message.get("more_body", False):
            self.finished = True
            await self.response.write_eof()

    async def _start(self, message: Message) -> None:
        self.start = message
        if self.started is not None:
            self.started["status"] = int(message["status"])
            self.started["headers"] = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in message.get("headers", ())
            }
        if _is_event_stream(message) and not self.disconnected.is_set():
            # An event stream may stay silent for a long time (the MCP SDK's standalone GET
            # stream sends nothing until its first ping, 15 s later): send the headers now, as
            # an ASGI server does, so the client knows the stream is open.
            self.response = await _prepare(self.request, message)


async def post_to_app(
    app: ASGIApp,
    request: web.Request,
    body: bytes,
    *,
    state: dict[str, Any] | None = None,
    user: Any = None,
) -> int | None:
    """Send `body` to `app` as a POST with `request`'s headers (its length made the new
    body's), as if the same client had sent it next; the status it answered (None: none),
    its body dropped. `state` and `user` as for `serve_asgi`."""
    scope = _scope(request, state or {})
    scope["method"] = "POST"
    length = (b"content-length", b"transfer-encoding")
    kept = [(name, value) for name, value in scope["headers"] if name not in length]
    scope["headers"] = [*kept, (b"content-length", str(len(body)).encode())]
    if user is not None:
        scope["user"] = user
    sent = False
    status: int | None = None

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}  # nobody reads this answer

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def _prepare(request: web.Request, start: Message | None) -> web.StreamResponse:
    if start is None:
        raise RuntimeError("ASGI app sent a body before http.response.start")
    response = _response(start)
    await response.prepare(request)
    return response


def _response(start: Message) -> web.StreamResponse:
    response = web.StreamResponse(status=int(start["status"]))
    for name, value in start.get("headers", ()):
        response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
    return response


def _is_event_stream(start: Message) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(b"text/event-stream")
        for name, value in start.get("headers", ())
    )


def _scope(request: web.Request, state: dict[str, Any]) -> dict[str, Any]:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    sock = transport.get_extra_info("sockname") if transport is not None else None
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode("latin-1"),
        "query_string": request.query_string.encode("latin-1"),
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
        "client": tuple(peer[:2]) if peer else None,
        "server": tuple(sock[:2]) if sock else None,
        "state": state,
    }


async def read_capped(request: web.Request, max_bytes: int) -> bytes:
    """The request's body, read a chunk at a time and refused once over `max_bytes`.

    Raises:
        web.HTTPRequestEntityTooLarge: it is longer than `max_bytes`.
    """
    pieces: list[bytes] = []
    size = 0
    while chunk := await request.content.read(BODY_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=size)
        pieces.append(chunk)
    return b"".join(pieces)
