"""Run an ASGI application (the MCP SDK's Streamable HTTP) inside an aiohttp handler.

One aiohttp request becomes one ASGI `http` scope. The body is streamed to the app as
`http.request` messages; the app's `http.response.*` messages become an aiohttp
`StreamResponse`, written as they come so server-sent events reach the client at once. A
client that goes away cancels the aiohttp handler (the runner enables handler cancellation),
which cancels the app's call: that is how an ASGI app learns of a disconnect here.

The off-the-shelf aiohttp-asgi 0.7.1 hung on the first request when tried; this is the part
of it we need, small enough to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import web

__all__ = ["ASGIApp", "serve_asgi"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]
BODY_CHUNK = 64 * 1024


async def serve_asgi(
    app: ASGIApp, request: web.Request, *, state: dict[str, Any] | None = None
) -> web.StreamResponse:
    """Answer `request` with the ASGI `app`; `state` is handed to it as `scope["state"]`."""
    scope = _scope(request, state or {})
    body_done = False
    never = asyncio.Event()

    async def receive() -> Message:
        nonlocal body_done
        if not body_done:
            chunk = await request.content.read(BODY_CHUNK)
            more = not request.content.at_eof()
            if not more:
                body_done = True
            return {"type": "http.request", "body": chunk, "more_body": more}
        # The body is consumed; the app is listening for a disconnect, which arrives as the
        # cancellation of this handler instead.
        await never.wait()
        return {"type": "http.disconnect"}

    response: web.StreamResponse | None = None
    start: Message | None = None

    async def send(message: Message) -> None:
        nonlocal response, start
        kind = message["type"]
        if kind == "http.response.start":
            start = message
            return
        if kind != "http.response.body":
            return
        if response is None:
            response = await _prepare(request, start)
        body = message.get("body", b"")
        if body:
            await response.write(body)
        if not message.get("more_body", False):
            await response.write_eof()

    await app(scope, receive, send)
    if response is None:
        if start is None:
            return web.Response(status=500, text="the MCP endpoint sent no response")
        response = await _prepare(request, start)
        await response.write_eof()
    return response


async def _prepare(request: web.Request, start: Message | None) -> web.StreamResponse:
    if start is None:
        raise RuntimeError("ASGI app sent a body before http.response.start")
    response = web.StreamResponse(status=int(start["status"]))
    for name, value in start.get("headers", ()):
        response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
    await response.prepare(request)
    return response


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
