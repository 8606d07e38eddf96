"""`GET /acp?agent=NAME`: an editor's ACP connection to an agent the gateway runs (a WebSocket).

`llmgw-desktop acp --agent NAME`, launched by the editor, relays the editor's stdin and stdout
here byte for byte (`shell/acp_mode.py`); the edge has authenticated the connection already (the
instance token proves the local user; a gateway key or an OAuth token is that caller, held to
its workspace grant and scope), checked its Origin and its capability (`gateway.use`). The
bytes are newline-delimited JSON-RPC, framed as on stdio (`engine.NdjsonPipe`: a malformed
line is answered with a JSON-RPC error), and served by `AgentFront`. When the socket closes,
the editor's running turns are cancelled (their agents' process groups killed) and the
connection's key is revoked.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.http import WSMsgType  # not `aiohttp.WSMsgType`: see shell/startup.py

from llmgw_desktop import __version__
from llmgw_desktop.engine.api import ErrorCode, NotFound
from llmgw_desktop.transports.acp.front_sessions import FrontSessions, fronted_provider
from llmgw_desktop.transports.app_keys import ENGINE
from llmgw_desktop.transports.auth_edge import charge_rate, principal_of, still_proven
from llmgw_desktop.transports.gateway.callers import caller_name
from llmgw_desktop.transports.http_errors import error_response

__all__ = ["ACP_PATH", "FRONT_SESSIONS", "acp_socket", "add_acp_routes"]

ACP_PATH = "/acp"
# The editor sessions `session/load` can find, across this app's connections.
FRONT_SESSIONS = web.AppKey("acp_front_sessions", FrontSessions)


def add_acp_routes(app: web.Application) -> None:
    """Mount `GET /acp` (the engine is the app's `ENGINE`)."""
    app[FRONT_SESSIONS] = FrontSessions()
    app.router.add_get(ACP_PATH, acp_socket)


async def acp_socket(request: web.Request) -> web.StreamResponse:
    """Serve one editor's ACP connection to the agent `?agent=NAME` until either side closes."""
    engine = request.app[ENGINE]
    name = request.query.get("agent", "")
    catalog = engine.providers.catalog()
    try:
        provider = fronted_provider(catalog, name)
    except KeyError:
        return error_response(
            NotFound(
                f"no agent {name!r}; one of {', '.join(catalog.ids)}",
                code=ErrorCode.UNKNOWN_PROVIDER,
                param="agent",
            )
        )
    # The ACP SDK loads with the first editor, not with the app.
    from llmgw_desktop.transports.acp.agent_front import AgentFront
    from llmgw_desktop.transports.acp.stdio import MAX_LINE_BYTES, serve_agent

    socket = web.WebSocketResponse(max_msg_size=MAX_LINE_BYTES)
    if not socket.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="GET /acp is a WebSocket: connect with llmgw-desktop acp")
    await socket.prepare(request)
    principal = principal_of(request)
    front = AgentFront(
        engine,
        principal,
        provider,
        sessions=request.app[FRONT_SESSIONS],
        gateway_url=_own_address(request),
        version=__version__,
        # The name the operator gave the key (SECURITY 99), else the editor's own.
        caller=principal.lane(caller_name(request.headers), "acp-editor"),
        recheck=lambda: still_proven(request, engine.auth),
        charge=lambda: charge_rate(engine.auth, principal),
    )
    reader = asyncio.StreamReader()
    try:
        async with asyncio.TaskGroup() as group:
            pump = group.create_task(_pump(socket, reader), name="acp-socket-in")
            try:
                await serve_agent(front, reader, _SocketWriter(socket))  # type: ignore[arg-type]
            finally:
                pump.cancel()
    finally:
        await front.close()
        await socket.close()
    return socket


async def _pump(socket: web.WebSocketResponse, reader: asyncio.StreamReader) -> None:
    """The editor's bytes into the reader the framing reads; end of input when it closes."""
    try:
        async for message in socket:
            if message.type is WSMsgType.BINARY:
                reader.feed_data(message.data)
            elif message.type is WSMsgType.TEXT:
                reader.feed_data(message.data.encode())
            else:
                break
    finally:
        reader.feed_eof()


class _SocketWriter:
    """The writer side of the framing (`NdjsonPipe`): each write is one binary message."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self._socket = socket
        self._queued: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._queued.append(data)

    async def drain(self) -> None:
        queued, self._queued = b"".join(self._queued), []
        if queued:
            try:
                await self._socket.send_bytes(queued)
            except ConnectionResetError as exc:
                raise ConnectionResetError(f"the editor's connection closed ({exc})") from None

    def is_closing(self) -> bool:
        return self._socket.closed

    def close(self) -> None:
        """Nothing to do here: the route closes the socket when the agent is done."""


def _own_address(request: web.Request) -> str:
    """Where this gateway answers on the connection's own address: what an agent it runs
    calls its models through (on loopback, never a public name)."""
    transport = request.transport
    where: Any = transport.get_extra_info("sockname") if transport is not None else None
    if not where:
        return ""
    host, port = str(where[0]), where[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
