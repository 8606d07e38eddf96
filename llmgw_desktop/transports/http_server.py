"""Serve the aiohttp app on one socket; say clearly when the port is taken.

The server is created here rather than through aiohttp's `SockSite` so that each connection's
protocol can be wrapped by the `ConnectionGuard` (timeouts for slow clients, a per-address cap,
the connection's owner), and so that a drain can stop listening without losing a connection
a client had already opened (`stop_accepting`).

Closing a listening socket resets every connection the kernel completed for it and nobody took
yet, and the kernel completes handshakes until the very close: taking the backlog first leaves
a window between the last accept and the close (milliseconds when another thread holds the
GIL), and a client that connected in it has often sent its request already. A proxy passes a
refused connection to another replica, but never a request it has sent (a POST may have run):
the caller gets a 502. So on Linux the socket first stops beginning handshakes (a socket filter
drops each new SYN; the client sends it again a second later and is refused then, as the
socket is closed), the handshakes already begun complete and are taken as usual, and only then
is the backlog taken and the socket closed.

`reuse_port` lets several gateway processes listen on one port (`SO_REUSEPORT`, `http.workers`):
the kernel spreads new connections across them. It is off unless asked for: any process of the
same account could then listen on the port too and be handed a share of its connections.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import logging
import os
import socket
import struct
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

from aiohttp import web

from llmgw_desktop.transports.connections import ConnectionGuard

__all__ = [
    "HttpFrontDoor",
    "PortInUse",
    "base_url",
    "find_free_port",
    "probe_gateway",
    "reserve_port",
]

log = logging.getLogger(__name__)

_ADDR_IN_USE = {errno.EADDRINUSE, 10048}  # 10048 is WSAEADDRINUSE on Windows
BACKLOG = 128
# A stop must stay within about a second. aiohttp waits this long for in-flight handlers, then
# cancels them and waits up to as long again.
HANDLERS_STOP_GRACE_S = 0.3
# How long a drain lets the handshakes begun before it stopped new ones complete: a round trip
# (microseconds on loopback, well under a millisecond on a LAN), with room to spare. Each
# client whose handshake begins meanwhile waits about a second (its SYN sent again), then is
# refused and goes elsewhere: the shorter, the fewer wait.
HANDSHAKES_SETTLE_S = 0.01
# A classic BPF socket filter (Linux `SO_ATTACH_FILTER`) that drops a segment whose TCP flags
# are SYN without ACK, a new handshake, and keeps every other whole: the handshakes already
# begun complete and open connections keep their data. It sees the segment from its TCP
# header, for IPv4 and IPv6 alike.
_SO_ATTACH_FILTER = 26
_DROP_NEW_HANDSHAKES = (
    (0x30, 0, 0, 13),  # load the byte of TCP flags
    (0x54, 0, 0, 0x12),  # keep SYN and ACK
    (0x15, 0, 1, 0x02),  # SYN alone: the next instruction, else the one after
    (0x06, 0, 0, 0),  # drop
    (0x06, 0, 0, 0xFFFFFFFF),  # keep
)


class PortInUse(Exception):
    """Another program already listens on the address the front door wants."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(f"port {port} on {host} is already in use")


class HttpFrontDoor:
    """Owns the listening socket for one aiohttp app."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        guard: ConnectionGuard | None = None,
        *,
        reuse_port: bool = False,
    ) -> None:
        self._app = app
        self.host = host
        self.requested_port = port
        self.port = port
        self.guard = guard
        self.reuse_port = reuse_port
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        # The same app served on another address too (`also_listen`).
        self._more: list[asyncio.AbstractServer] = []
        # Each listening socket with its server, for `stop_accepting`.
        self._listening: list[tuple[asyncio.AbstractServer, socket.socket]] = []
        self._factory: Callable[[], asyncio.Protocol] | None = None

    @property
    def listening(self) -> bool:
        """Whether a socket still takes new connections (False once a drain stopped them)."""
        return bool(self._listening)

    @property
    def app(self) -> web.Application:
        """The application served (its router lists every route, for audits and tests)."""
        return self._app

    async def start(self) -> None:
        """Bind and serve.

        Raises:
            PortInUse: the address is taken; nothing is left running.
        """
        # Binding our own socket tells us the port (when 0 asked for any) and surfaces
        # "address in use" before any server machinery exists.
        try:
            sock = _bind_listening_socket(self.host, self.requested_port, self.reuse_port)
        except OSError as exc:
            if exc.errno in _ADDR_IN_USE:
                raise PortInUse(self.host, self.requested_port) from None
            raise
        runner = web.AppRunner(
            self._app,
            access_log=None,
            handle_signals=False,
            # In-flight requests get this long at stop, then are cut (their recorder rows say
            # `interrupted`): running jobs have ended by then, so only streams still go on.
            shutdown_timeout=HANDLERS_STOP_GRACE_S,
            # A client that disconnects cancels its handler: long-lived responses (MCP event
            # streams) learn of the disconnect that way.
            handler_cancellation=True,
        )
        await runner.setup()
        handlers = runner.server
        assert handlers is not None  # set by setup()
        factory = handlers if self.guard is None else self.guard.protocol_factory(handlers)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(factory, sock=sock, backlog=BACKLOG)
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        if self.guard is not None:
            self.guard.start()
        self._runner = runner
        self._factory = factory
        self._listening.append((self._server, sock))
        self.port = sock.getsockname()[1]
        log.info("HTTP front door listening on %s:%d", self.host, self.port)

    async def also_listen(self, host: str, port: int) -> bool:
        """Serve the same app (the same handlers, guard and rules) on `host:port` as well,
        once started; False, and nothing bound, when that address is taken."""
        if self._runner is None or self._runner.server is None:
            raise RuntimeError("the front door is not started")
        try:
            sock = _bind_listening_socket(host, port)
        except OSError as exc:
            if exc.errno in _ADDR_IN_USE:
                return False
            raise
        handlers = self._runner.server
        factory = handlers if self.guard is None else self.guard.protocol_factory(handlers)
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(factory, sock=sock, backlog=BACKLOG)
        except BaseException:
            sock.close()
            raise
        self._more.append(server)
        self._listening.append((server, sock))
        log.info("HTTP front door also listening on %s:%d", host, port)
        return True

    async def stop_accepting(self) -> None:
        """Listen no more: a new connection is refused (a balancer tries another gateway), and
        one a client completed already is served, never reset (the module's docstring says
        how). Open connections carry on."""
        loop = asyncio.get_running_loop()
        stopped = [_stop_new_handshakes(sock) for _, sock in self._listening]
        if any(stopped):
            await asyncio.sleep(HANDSHAKES_SETTLE_S)  # the loop takes them meanwhile
        waiting: list[socket.socket] = []
        for server, sock in self._listening:
            waiting.extend(_accept_waiting(sock))
            server.close()  # no await between the last accept and the close
        self._listening.clear()
        # A connection the loop took just before the close reaches the guard (its
        # `connection_made`) a loop turn later: after this the drain's first look counts it.
        await asyncio.sleep(0)
        if self._factory is not None:
            for connection in waiting:
                await loop.connect_accepted_socket(self._factory, connection)
        if waiting:
            log.info(
                "took %d connection(s) waiting in the backlog as listening ended", len(waiting)
            )

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests briefly, close the socket."""
        for server in self._more:
            server.close()
        self._more.clear()
        self._listening.clear()
        if self._server is not None:
            self._server.close()  # no new connections; open ones finish below
            self._server = None
        if self.guard is not None:
            self.guard.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("HTTP front door stopped")


def base_url(host: str, port: int) -> str:
    """`http://host:port`, with IPv6 literals bracketed."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _accept_waiting(sock: socket.socket) -> list[socket.socket]:
    """The connections waiting in a listening socket's backlog, accepted (non-blocking)."""
    taken: list[socket.socket] = []
    while True:
        try:
            connection, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return taken
        except OSError as exc:  # closed already, or out of descriptors: nothing more to take
            log.warning("could not take a waiting connection: %s", exc)
            return taken
        connection.setblocking(False)
        taken.append(connection)


def _stop_new_handshakes(sock: socket.socket) -> bool:
    """Make a listening socket begin no new handshake (Linux); False where it cannot, and then
    a client connecting as the socket closes may be reset."""
    if not sys.platform.startswith("linux"):
        return False
    code = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *op) for op in _DROP_NEW_HANDSHAKES)
    )
    program = struct.pack("HP", len(_DROP_NEW_HANDSHAKES), ctypes.addressof(code))
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, program)
    except OSError as exc:
        log.warning("could not stop new handshakes before closing a listening socket: %s", exc)
        return False
    return True


def _bind_listening_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # on Windows this flag would let two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` (0: a free port) with SO_REUSEPORT and not listening: it
    holds the port for the processes that listen on it with SO_REUSEPORT (`http.workers`), and
    is handed none of their connections (the kernel spreads them over listening sockets only).

    Raises:
        PortInUse: a process listens there without SO_REUSEPORT, or as another account.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno in _ADDR_IN_USE:
            raise PortInUse(host, port) from None
        raise
    return sock


def find_free_port(host: str, start: int, attempts: int = 50) -> int | None:
    """The first port from `start` upward that can be bound on `host`, or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in range(start, min(start + attempts, 65536)):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    return None


def probe_gateway(base_url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """The `/health` answer of an llmgw-desktop at `base_url`, or None if something else is there.

    Blocking: call it before the loop starts or from a worker thread.
    """
    try:
        with urllib.request.urlopen(base_url + "/health", timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read(65536))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("service") == "llmgw-desktop" else None
