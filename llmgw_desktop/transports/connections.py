"""Every TCP connection to the front door, watched: slow clients, connection caps, and who
owns the other end.

aiohttp has an idle keep-alive timeout, but nothing bounds how long a client may take to send
a request's head or body: one that trickles a byte a second holds its connection (and a
handler) for as long as it likes. `ConnectionGuard` wraps each connection's protocol:

- the request head must be complete within `header_timeout_s` of the connection opening, or of
  the first byte of a later request on it;
- the body must have arrived within `body_timeout_s` of the handler starting. Only reading is
  timed: an answer that streams for an hour is not the client's doing and is never cut;
- one client address (an IPv6 /64) may hold `max_per_address` connections; more are answered
  429 and closed. Trusted proxies, which carry many clients, are exempt.

A drain (`begin_drain`) closes every connection idle between requests, and each request that
starts afterwards closes its connection once answered, so no new work arrives on a connection
opened before; `in_flight` counts the requests still running (`answering`, those whose
handler runs: what a stop waits a moment for).

Deadlines are checked by one timer for all connections, not one per request, so keeping time
costs a request two attribute writes. The record of each connection also caches the answer to
"which account opened it" (`engine/auth/peer_owner.py`), asked at most once per connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from aiohttp import web

from llmgw_desktop.engine.api import (
    ErrorCode,
    PeerOwner,
    RefusalCounter,
    address_key,
    lookup_peer_owner,
    quick_peer_owner,
)
from llmgw_desktop.transports.http_errors import error_body

__all__ = ["ConnectionGuard", "ConnectionLimits", "OpenConnection"]

log = logging.getLogger(__name__)

IDLE, HEAD, BUSY = 0, 1, 2  # between requests; reading a request head; a handler is running
MAX_SWEEP_PERIOD_S = 1.0
MIN_SWEEP_PERIOD_S = 0.05
REFUSED_LINGER_S = 2.0  # how long a refused connection may take to read its 429 and leave
# A connection this young that has sent nothing yet is waited for by a drain: its client
# connected to send a request (one taken from the backlog as listening ended, above all).
FRESH_CONNECTION_S = 1.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits, from `http.header_timeout_ms`, `http.body_timeout_ms` and
    `http.max_connections_per_address`."""

    header_timeout_s: float
    body_timeout_s: float
    max_per_address: int
    # Addresses the cap does not apply to (trusted reverse proxies).
    exempt: Callable[[str], bool] = lambda address: False


class OpenConnection:
    """One connection: where it comes from, what it is doing, and its owner once asked."""

    __slots__ = (
        "_owner",
        "address",
        "deadline",
        "handler",
        "heard",
        "local",
        "opened_at",
        "peer",
        "phase",
        "request",
        "transport",
    )

    def __init__(
        self, transport: asyncio.Transport, peer: tuple[str, int], local: tuple[str, int]
    ) -> None:
        self.transport = transport
        self.peer = peer
        self.local = local
        self.address = address_key(peer[0])
        self.phase = HEAD
        self.deadline = 0.0  # loop time by which the current phase must be over; 0: none
        self.request: web.BaseRequest | None = None
        # aiohttp's protocol for this connection, which a drain asks to close when idle.
        self.handler: asyncio.Protocol | None = None
        self.opened_at = asyncio.get_running_loop().time()
        self.heard = False  # a byte of the next request has come
        self._owner: PeerOwner | None = None

    async def owner(self) -> PeerOwner:
        """Which account opened this connection (asked of the OS once, then remembered)."""
        if self._owner is None:
            owner = quick_peer_owner(self.peer, self.local)
            if owner is None:  # only a slow way here (reading the socket table): off the loop
                loop = asyncio.get_running_loop()
                owner = await loop.run_in_executor(None, lookup_peer_owner, self.peer, self.local)
            self._owner = owner
        return self._owner

    def request_started(self, request: web.BaseRequest, body_timeout_s: float) -> None:
        """The head is in; time the body if it is still arriving."""
        self.phase = BUSY
        self.request = request
        if request.content.is_eof():
            self.deadline = 0.0
        else:
            self.deadline = asyncio.get_running_loop().time() + body_timeout_s

    def request_finished(self) -> None:
        self.phase = IDLE
        self.deadline = 0.0
        self.request = None
        self.heard = False


class TransportPeer:
    """The owner of a connection the guard does not know (served by another server): asked
    each time, never cached."""

    def __init__(self, transport: asyncio.BaseTransport | None) -> None:
        self._transport = transport

    async def owner(self) -> PeerOwner:
        if self._transport is None:
            return PeerOwner.UNKNOWN
        peer = self._transport.get_extra_info("peername")
        local = self._transport.get_extra_info("sockname")
        if not peer or not local:
            return PeerOwner.UNKNOWN
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lookup_peer_owner, peer[:2], local[:2])


class ConnectionGuard:
    """The open connections of one front door, and the timer that enforces their deadlines."""

    def __init__(self, limits: ConnectionLimits, refusals: RefusalCounter | None = None) -> None:
        self.limits = limits
        # Connections refused or closed here are counted with the edge's other refusals.
        self._refusals = refusals
        self._open: dict[asyncio.BaseTransport, OpenConnection] = {}
        self._per_address: dict[str, int] = {}
        self._capped: set[str] = set()  # addresses over the cap, logged once until they drop
        # Set by a drain: each request that starts closes its connection once answered.
        self.draining = False
        self._timer: asyncio.TimerHandle | None = None
        self._period = min(
            MAX_SWEEP_PERIOD_S,
            max(MIN_SWEEP_PERIOD_S, min(limits.header_timeout_s, limits.body_timeout_s) / 4),
        )

    def of(self, transport: asyncio.BaseTransport | None) -> OpenConnection | None:
        """The record of the connection a request came on (None: not one of ours)."""
        return self._open.get(transport) if transport is not None else None

    def peer(self, request: web.BaseRequest) -> OpenConnection | TransportPeer:
        """Who to ask about the request's connection's owner."""
        return self.of(request.transport) or TransportPeer(request.transport)

    def protocol_factory(
        self, make_handler: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """Wrap a server's protocol factory so each connection is watched."""
        return lambda: _WatchedProtocol(self, make_handler)

    def start(self) -> None:
        """Start enforcing deadlines (call on the running loop)."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._period, self._sweep)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def begin_drain(self) -> None:
        """Close every connection idle between requests (aiohttp's graceful close: one whose
        answer is still being written closes after it), and from now on each connection once
        its request is answered. Connections still sending a request are served first."""
        self.draining = True
        for connection in list(self._open.values()):
            close = getattr(connection.handler, "close", None)
            if connection.phase == IDLE and close is not None:
                close()

    def answering(self, ignored: Callable[[web.BaseRequest], bool]) -> int:
        """Requests whose handler runs now, less those `ignored` leaves out."""
        return sum(
            c.phase == BUSY and c.request is not None and not ignored(c.request)
            for c in self._open.values()
        )

    def in_flight(self, ignored: Callable[[web.BaseRequest], bool]) -> int:
        """Requests being answered or arriving now: each whose handler runs, less those
        `ignored` says a drain need not wait for (a client's long-lived event stream or
        socket, which it opens again elsewhere), and each connection part of whose request
        has come, or that opened a moment ago (its request is likely on the way)."""
        fresh_since = asyncio.get_running_loop().time() - FRESH_CONNECTION_S
        count = 0
        for connection in self._open.values():
            if connection.phase == BUSY:
                request = connection.request
                count += request is not None and not ignored(request)
            elif connection.phase == HEAD:
                count += connection.heard or connection.opened_at > fresh_since
        return count

    def _admit(self, address: str, peer: str) -> bool:
        if self.limits.exempt(peer):
            return True
        count = self._per_address.get(address, 0)
        if count >= self.limits.max_per_address:
            if address not in self._capped:
                self._capped.add(address)
                log.warning(
                    "refusing connections from %s: it holds %d already "
                    "(http.max_connections_per_address)",
                    address,
                    count,
                )
            if self._refusals is not None:
                self._refusals.count(
                    f"address:{address}", "connection", 429, ErrorCode.TOO_MANY_CONNECTIONS
                )
            return False
        self._per_address[address] = count + 1
        return True

    def _opened(self, connection: OpenConnection) -> None:
        self._open[connection.transport] = connection
        connection.deadline = asyncio.get_running_loop().time() + self.limits.header_timeout_s

    def _closed(self, connection: OpenConnection, counted: bool) -> None:
        self._open.pop(connection.transport, None)
        if not counted:
            return
        left = self._per_address.get(connection.address, 1) - 1
        if left > 0:
            self._per_address[connection.address] = left
        else:
            self._per_address.pop(connection.address, None)
        if left < self.limits.max_per_address:
            self._capped.discard(connection.address)

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in list(self._open.values()):
            deadline = connection.deadline
            if not deadline or now < deadline:
                continue
            if connection.phase == HEAD:
                what = "request head"
            elif connection.request is not None and not connection.request.content.is_eof():
                what = "request body"
            else:
                connection.deadline = 0.0
                continue
            log.info("closed a connection from %s: its %s was too slow", connection.address, what)
            if self._refusals is not None:
                code = "slow_request_head" if connection.phase == HEAD else "slow_request_body"
                self._refusals.count(f"address:{connection.address}", "connection", 408, code)
            # abort, not close: close would first wait for a client that does not read.
            connection.transport.abort()
        self._timer = loop.call_later(self._period, self._sweep)


class _WatchedProtocol(asyncio.Protocol):
    """Sits between the transport and aiohttp's handler: notes each request's first byte."""

    __slots__ = ("_connection", "_counted", "_guard", "_inner", "_make_handler")

    def __init__(
        self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol]
    ) -> None:
        self._guard = guard
        self._make_handler = make_handler
        self._inner: asyncio.Protocol | None = None
        self._connection: OpenConnection | None = None
        self._counted = False

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, base)  # uvloop's is one, without the subclassing
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        peer_pair = (str(peer[0]), int(peer[1])) if peer else ("", 0)
        local_pair = (str(local[0]), int(local[1])) if local else ("", 0)
        connection = OpenConnection(transport, peer_pair, local_pair)
        if not self._guard._admit(connection.address, peer_pair[0]):
            _refuse(transport, self._guard.limits.max_per_address)
            return
        self._counted = not self._guard.limits.exempt(peer_pair[0])
        self._connection = connection
        self._guard._opened(connection)
        self._inner = self._make_handler()
        connection.handler = self._inner
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        connection = self._connection
        if connection is None or self._inner is None:
            return  # a refused connection: its request is not read
        if connection.phase == IDLE:
            connection.phase = HEAD
            connection.deadline = (
                asyncio.get_running_loop().time() + self._guard.limits.header_timeout_s
            )
        connection.heard = True
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._guard._closed(self._connection, self._counted)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


def _refuse(transport: asyncio.Transport, cap: int) -> None:
    """Answer 429 without reading the request, then let the client leave."""
    body = json.dumps(
        error_body(
            429,
            ErrorCode.TOO_MANY_CONNECTIONS,
            f"too many connections from this address (more than {cap}); close some and try again",
        )
    ).encode()
    head = (
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    transport.write(head.encode() + body)
    if transport.can_write_eof():
        # Half-close and keep reading (discarding) briefly, so the client gets the answer
        # rather than a reset for the request it already sent.
        transport.write_eof()
        asyncio.get_running_loop().call_later(REFUSED_LINGER_S, transport.abort)
    else:
        transport.close()
