"""A small HTTP/1.1 client for upstream API calls: keep-alive pool, streaming bodies, TLS.

Why not aiohttp's client: a gateway request is one upstream call, and aiohttp's general-purpose
client (cookies, redirects, tracing, multipart) cost a third of the gateway's CPU per request in
profiles. Upstream LLM APIs need none of that: POST a JSON body, read a JSON or SSE answer,
reuse the connection. Parsing is httptools (llhttp, the parser Node.js uses).

What real networks need is here, decided once per origin and kept with its pool so a pooled
request costs one dict lookup: the environment's proxies (`proxies.py`; loopback servers are
always reached directly), a CONNECT tunnel for https through them (`dial.py`), extra trusted
CAs (`tls.py`), and a cap on the connections open to one origin (`pool.py`: requests beyond it
wait for one to be released, at most the connect timeout), of which a request's owner may hold
only its share (`pool.py`, `engine/shares.py`).

What it does not do, on purpose: redirects (an API that redirects a POST is misconfigured),
cookies, HTTP/2. Responses may be chunked or compressed (gzip, deflate), a compressed body
decoded a piece at a time as it is read (`body_decoder.py`), never whole.

This module is the request side: the client, its pools and the connections it parses responses
on. What a caller reads the answer from, `Http1Response`, is `http1_response.py`.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import functools
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

import httptools

from llmgw_desktop.engine.gateway.http_client.dial import ConnectError, ProxyRefused, dial
from llmgw_desktop.engine.gateway.http_client.http1_response import Http1Response, ResponseBroken
from llmgw_desktop.engine.gateway.http_client.pool import HostPool, PoolTimeout, ShareTimeout
from llmgw_desktop.engine.gateway.http_client.proxies import Proxy, ProxyRules
from llmgw_desktop.engine.gateway.http_client.tls import TrustStore

__all__ = [
    "DEFAULT_MAX_CONNECTIONS_PER_HOST",
    "ConnectError",
    "Http1Client",
    "PoolTimeout",
    "ProxyRefused",
    "ShareTimeout",
]

# An idle connection older than this is closed rather than reused: servers drop idle
# keep-alive connections after 5 to 60 s, and a request on one they dropped fails.
IDLE_KEEP_S = 4.0
MAX_IDLE_PER_HOST = 64
# Connections open to one origin at once (busy and idle); `gateway.max_connections_per_host`.
DEFAULT_MAX_CONNECTIONS_PER_HOST = 100
USER_AGENT = "llmgw-desktop"
PROXY_AUTH_REQUIRED = 407
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# URLs whose split is remembered (a provider's calls go to a few; a model in the path, as
# Gemini's, makes one per model): past this many the memory starts again.
ADDRESSES_KEPT = 256
# Request heads remembered written and checked for control characters (a target's calls send
# the same line and headers, its key among them): the most recently sent this many.
HEADS_CHECKED_KEPT = 256


class _Address(NamedTuple):
    """What a request needs of its URL: the pool's key, the request target, the Host."""

    key: tuple[str, str, int]
    target: str
    host_header: str


class _Connection(asyncio.Protocol):
    """One TCP connection; parses one response at a time into a `Http1Response`."""

    def __init__(
        self, pool: HostPool[_Connection], put_back: Callable[[_Connection], None]
    ) -> None:
        self.pool = pool
        self._put_back = put_back
        self.transport: asyncio.Transport | None = None
        self.response: Http1Response | None = None
        self.closed = False
        self.idle_since = 0.0
        # Whether any byte of the current response arrived: a request is resent only if not.
        self.received = False
        self._parser = httptools.HttpResponseParser(self)
        self._header_name = b""
        self._informational = False
        # The body's pieces parsed from the current read, handed to the response together
        # (`_hand_over`): a stream's events come a chunk each, and the response's bookkeeping
        # and its reader's wake-up are then done once a read, not once an event.
        self._pieces: list[bytes] = []
        # Whether this connection counts against its pool's cap (set once it is connected).
        self.holds_slot = False

    # -- asyncio.Protocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.response is None:
            # Bytes nobody asked for (a 408 before an idle close, junk after a response): the
            # stream is out of step, so this connection must not carry another request.
            self.close()
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ResponseBroken("the upstream tried to switch protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ResponseBroken(f"the upstream sent a malformed response: {exc}"))
        if self._pieces:  # asked here, not in a call: most reads end with none left
            self._hand_over()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.free_slot()
        response = self.response
        if response is not None and not response.complete:
            # A response without a length ends when the connection does (cleanly: after a
            # reset the body may be cut short, and a truncated answer must not look complete).
            if (
                exc is None
                and response.started
                and not response.chunked
                and response.length is None
            ):
                response.finish()
            else:
                response.fail(ResponseBroken("the upstream closed the connection mid-response"))

    def pause_writing(self) -> None:  # request bodies are small; nothing to throttle
        pass

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks --
    def on_message_begin(self) -> None:
        if self.response is None:
            # A second response in the same read, after ours completed (see data_received).
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.response is not None:
            # A repeated header is one comma-joined list (RFC 9110 5.3); overwriting it would
            # lose e.g. "Transfer-Encoding: gzip" + "Transfer-Encoding: chunked".
            headers = self.response.headers
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        response = self.response
        if response is None:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): llhttp parses the final
            # response after it; treating it as the answer would hand back status 100 and pool
            # the connection while the real response is still on its way.
            self._informational = True
            response.headers.clear()
            return
        response.status = status
        response.start(keep_alive=self._parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        response = self.response
        if response is not None:
            if response.chunked:  # a chunk each: handed over together, once the read is parsed
                self._pieces.append(body)
            else:  # as much as the read holds, at once already
                response.feed(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self.response is not None:
            if self._pieces:
                self._hand_over()
            self.response.finish()

    # -- helpers --
    def send(self, data: bytes, response: Http1Response) -> None:
        assert self.transport is not None
        self.response = response
        self.received = False
        self._informational = False
        self._parser = httptools.HttpResponseParser(self)
        self.transport.write(data)

    def _hand_over(self) -> None:
        """The body's pieces parsed so far to the response, as one piece (in the order they
        came; before it finishes or fails, which is what the pieces were first)."""
        pieces = self._pieces
        if pieces:
            if self.response is not None:
                self.response.feed(pieces[0] if len(pieces) == 1 else b"".join(pieces))
            pieces.clear()

    def _fail(self, error: Exception) -> None:
        if self.response is not None:
            self._hand_over()
            self.response.fail(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            # abort, not close: nothing more is sent or read on a connection we give up, and
            # a TLS close would keep the socket open until the peer answers its close_notify.
            # The socket is closed before any waiter for this slot runs (both are call_soon).
            self.transport.abort()
        self.free_slot()

    def put_back(self) -> None:
        """Back to the pool's idle connections, for the next request (`Http1Client`)."""
        self._put_back(self)

    def is_usable(self) -> bool:
        """Open, and no end of stream from the server pending (is_closing: its FIN was read
        but connection_lost has not run yet)."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def free_slot(self) -> None:
        """This connection no longer counts against the cap: a waiter may open another."""
        if self.holds_slot:
            self.holds_slot = False
            self.pool.open -= 1
            self.pool.wake_one()


class Http1Client:
    """Keep-alive connections per origin, reused across requests, at most a cap of them."""

    def __init__(
        self,
        *,
        connect_timeout_s: float,
        max_connections_per_host: int = DEFAULT_MAX_CONNECTIONS_PER_HOST,
        share_per_host: int | None = None,
        proxies: ProxyRules | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        """`share_per_host`: the connections to one origin a request's owner may hold (None:
        the whole cap)."""
        self._connect_timeout_s = connect_timeout_s
        self._max_per_host = max_connections_per_host
        share = share_per_host or max_connections_per_host
        # An owner is counted only when its share is smaller than the cap.
        self._share = share if share < max_connections_per_host else None
        self._proxies = proxies or ProxyRules()
        self._trust = trust or TrustStore()
        self._pools: dict[tuple[str, str, int], HostPool[_Connection]] = {}
        # Origins reached through a proxy of their own (a provider's `proxy`), by its label.
        self._routed: dict[tuple[str, str, int, str], HostPool[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False
        # Each URL split once (`_address_of`): urlsplit and its port and host cost a request
        # microseconds, always for the same few URLs.
        self._addresses: dict[str, _Address] = {}

    @property
    def _idle(self) -> dict[tuple[str, str, int], collections.deque[_Connection]]:
        """The idle connections of each origin (for tests and diagnostics)."""
        return {key: pool.idle for key, pool in self._pools.items()}

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        head_timeout_s: float | None = None,
        owner: str | None = None,
        proxy: Proxy | None = None,
        while_waiting: Callable[[], None] | None = None,
    ) -> Http1Response:
        """Send a request and return once the response's status and headers are in. `owner`
        (a principal held to a share) may hold only its share of the origin's connections;
        None: not counted. `proxy` goes through that proxy whatever the environment says.
        `while_waiting` is called once, as soon as the request is written: work the caller
        can do while the server thinks, off the path to the answer (not called when no
        connection could be had).

        Raises:
            ConnectError: no connection could be made (`ProxyRefused`: the proxy said no).
            ResponseBroken: the connection broke before the response began.
            PoolTimeout: every connection the cap allows stayed busy for the connect timeout
                (`ShareTimeout`: every one of the owner's share did).
            TimeoutError: connecting, or the response head, took too long.
        """
        key, target, host_header = self._address_of(url)
        pool = self._pool_for(key, proxy)
        if pool.absolute_prefix is not None:
            target = pool.absolute_prefix + host_header + target
        data = _request_bytes(method, target, host_header, headers, body, pool.proxy_lines)
        deadline: float | None = None
        if owner is not None and (share := self._share) is not None:
            if not pool.claim(owner, share):
                deadline = asyncio.get_running_loop().time() + self._connect_timeout_s
                await pool.wait_for_share(owner, share, deadline)
        else:
            owner = None
        try:
            response = await self._exchange(pool, data, deadline, head_timeout_s, while_waiting)
        except BaseException:
            if owner is not None:
                pool.unclaim(owner)
            raise
        if response.status == PROXY_AUTH_REQUIRED and pool.absolute_prefix is not None:
            # The proxy's answer, not the upstream's: like a refused tunnel, the route is
            # unreachable (a key or another request would not help).
            response.release()
            if owner is not None:
                pool.unclaim(owner)
            assert pool.proxy is not None
            raise ProxyRefused(
                f"proxy {pool.proxy.label} refused a request to {host_header}: "
                f"{PROXY_AUTH_REQUIRED} Proxy Authentication Required",
                PROXY_AUTH_REQUIRED,
            )
        if owner is not None:
            # Counted against the owner's share until the response ends.
            response.hold_share(pool, owner)
        return response

    async def answers(self, url: str, *, timeout_s: float, proxy: Proxy | None = None) -> bool:
        """Whether the server at `url` answers a GET at all within `timeout_s`: any status line
        is an answer, and so is a connection refused or dropped (a server gone is not a server
        hung; `unreachable.py` rests hosts that take no connection). On a connection of its
        own, outside the cap (a host whose connections all carry long answers still answers)
        and closed after the status line: nothing of the answer is read."""
        try:
            key, target, host_header = self._address_of(url)
            pool = self._pool_for(key, proxy)
        except (OSError, ValueError):
            return True  # nothing that can be asked: not a hang
        if pool.absolute_prefix is not None:
            target = pool.absolute_prefix + host_header + target
        data = _request_bytes(
            "GET", target, host_header, {"Connection": "close"}, b"", pool.proxy_lines
        )
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(timeout_s):
                connection = await self._dial(pool)
                response = Http1Response(connection)
                connection.send(data, response)
                await response.wait_head(None)
        except TimeoutError:
            return False
        except OSError:  # refused, reset, a broken answer: it is there to say no
            return True
        finally:
            if connection is not None:
                connection.close()
        return True

    def _pool_for(self, key: tuple[str, str, int], proxy: Proxy | None) -> HostPool[_Connection]:
        """The pool of `key`'s origin, or of that origin through `proxy`.

        Raises:
            ProxyRefused: `proxy` cannot be used (its problem says why).
        """
        if proxy is None:
            return self._pools.get(key) or self._add_pool(key)
        if proxy.problem:
            raise ProxyRefused(proxy.problem, None)
        routed = (*key, proxy.label)
        return self._routed.get(routed) or self._routed.setdefault(routed, HostPool(key, proxy))

    async def _exchange(
        self,
        pool: HostPool[_Connection],
        data: bytes,
        deadline: float | None,
        head_timeout_s: float | None,
        while_waiting: Callable[[], None] | None,
    ) -> Http1Response:
        """`data` sent on a connection of `pool`, once the response's head is in.

        Raises:
            ConnectError, ResponseBroken, PoolTimeout, TimeoutError: as `request` says.
        """
        connection, reused = await self._connection(pool, deadline=deadline)
        response = Http1Response(connection)
        connection.send(data, response)
        if while_waiting is not None:
            while_waiting()
        try:
            await response.wait_head(head_timeout_s)
        except ResponseBroken:
            # A failed response has already closed its connection.
            if not reused or connection.received:
                # Part of an answer came back: the server saw the request; sending it again
                # could run it twice.
                raise
            # The server dropped this idle connection just as we used it; nothing was
            # answered, so the request is sent again once on a fresh connection.
            connection, _ = await self._connection(pool, fresh=True)
            response = Http1Response(connection)
            connection.send(data, response)
            # Its own handler: the `except BaseException` below does not cover this block,
            # and a timed-out or cancelled resend must close its connection too.
            try:
                await response.wait_head(head_timeout_s)
            except BaseException:
                response.release()
                raise
        except BaseException:
            response.release()
            raise
        return response

    def _address_of(self, url: str) -> _Address:
        """`url` split as a request needs it (remembered).

        Raises:
            ValueError: its port is not a number from 0 to 65535.
        """
        address = self._addresses.get(url)
        if address is None:
            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
            if len(self._addresses) >= ADDRESSES_KEPT:
                self._addresses.clear()
            address = self._addresses[url] = _Address(
                (scheme, host, port),
                (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                parts.netloc.rpartition("@")[2],
            )
        return address

    def _add_pool(self, key: tuple[str, str, int]) -> HostPool[_Connection]:
        # The route is fixed per origin: the environment was read once, at construction.
        pool: HostPool[_Connection] = HostPool(key, self._proxies.select(*key))
        self._pools[key] = pool
        return pool

    async def _connection(
        self, pool: HostPool[_Connection], *, fresh: bool = False, deadline: float | None = None
    ) -> tuple[_Connection, bool]:
        """A connection to send on, and whether it was reused; waits at the cap until
        `deadline` (default: the connect timeout from now)."""
        if not fresh and (connection := pool.take_idle(IDLE_KEEP_S)) is not None:
            return connection, True
        if fresh and pool.open >= self._max_per_host and pool.idle:
            # A resend wants a new connection, not one of ours that sits idle in its slot.
            pool.idle.popleft().close()
        if pool.open < self._max_per_host:
            return await self._open(pool), False
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self._connect_timeout_s
        connection = await pool.wait_for_turn(
            cap=self._max_per_host, deadline=deadline, fresh=fresh, keep_s=IDLE_KEEP_S
        )
        if connection is not None:
            return connection, True
        return await self._open(pool, deadline=deadline), False

    async def _open(
        self, pool: HostPool[_Connection], *, deadline: float | None = None
    ) -> _Connection:
        """A new connection in one of the pool's slots (taken before the first await).

        Raises:
            ConnectError: it could not be made.
            TimeoutError: not within the connect timeout (or by `deadline`).
        """
        pool.open += 1
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline or loop.time() + self._connect_timeout_s):
                connection = await self._dial(pool)
        except BaseException as exc:
            pool.open -= 1
            pool.wake_one()
            if isinstance(exc, TimeoutError) and deadline is None:
                # The whole connect timeout went on this connection alone (no wait for a
                # slot before it): the host did not answer, which is a connect failure, not a
                # slow answer (`unreachable.py` rests such a host).
                raise ConnectError(
                    errno.ETIMEDOUT,
                    f"no connection within {self._connect_timeout_s:g} s "
                    "(gateway.connect_timeout_ms)",
                ) from None
            raise
        connection.holds_slot = True
        if connection.closed:  # lost while the handshake finished: give the slot back
            connection.free_slot()
        return connection

    async def _dial(self, pool: HostPool[_Connection]) -> _Connection:
        """A new connection to `pool`'s origin (through its proxy), in no slot yet.

        Raises:
            ConnectError: it could not be made.
        """
        scheme, host, port = pool.key
        return await dial(
            lambda: _Connection(pool, self._put_back),
            scheme=scheme,
            host=host,
            port=port,
            proxy=pool.proxy,
            tls=self._tls,
            user_agent=USER_AGENT,
        )

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self._trust.context()
        return self._ssl

    def _put_back(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        idle = connection.pool.idle
        if len(idle) >= MAX_IDLE_PER_HOST:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)
        connection.pool.wake_one()

    async def close(self) -> None:
        self._closed = True
        for pool in [*self._pools.values(), *self._routed.values()]:
            while pool.idle:
                pool.idle.pop().close()
        self._pools.clear()
        self._routed.clear()


def _request_bytes(
    method: str,
    target: str,
    host_header: str,
    headers: Mapping[str, str],
    body: bytes,
    proxy_lines: list[str] | None,
) -> bytes:
    """The request as it goes on the wire: its line, its headers, its body.

    Raises:
        ValueError: a line or header value holds a control character.
    """
    head, after_length = _head(
        method, target, host_header, tuple(headers.items()), tuple(proxy_lines or ())
    )
    return b"".join((head, b"%d" % len(body), after_length, body))


@functools.lru_cache(maxsize=HEADS_CHECKED_KEPT)
def _head(
    method: str,
    target: str,
    host_header: str,
    headers: tuple[tuple[str, str], ...],
    proxy_lines: tuple[str, ...],
) -> tuple[bytes, bytes]:
    """A request's head, written and checked, around its body's length: its line and headers
    to `Content-Length: `, and what follows the length. Kept by what makes it: a target's
    calls send the same line and headers (its key among them), found by their hash where
    writing and checking them costs about 15,000 instructions. A refused head is not kept
    (`lru_cache` keeps no exception): it is checked, and refused, each time.

    Raises:
        ValueError: a line or header value holds a control character.
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{k}: {v}" for k, v in headers]
    names = {name for name, _ in headers}
    # Callers write names in Title-Case (ours) or lower case (headers passed through from a
    # client): a second User-Agent makes strict servers answer 400.
    if "User-Agent" not in names and "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "Accept-Encoding" not in names and "accept-encoding" not in names:
        # Not deflate: servers disagree on whether it is zlib-wrapped or raw.
        lines.append("Accept-Encoding: gzip")
    if _holds_control("".join(lines)):  # one scan: joined, the lines add no character
        # A model id or header value from a client must never add lines to our request.
        raise ValueError("refusing to send a request line or header with control characters")
    # After the check, which it never changes (digits): a head is the same for every body.
    lines.append("Content-Length: ")
    after_length = "".join(f"\r\n{line}" for line in proxy_lines) + "\r\n\r\n"
    return "\r\n".join(lines).encode("latin-1"), after_length.encode("latin-1")


def _holds_control(head: str) -> bool:
    """Whether a request's head holds a control character but a tab (which a value may
    hold)."""
    # `isprintable` first: every control character is unprintable, so a head it passes holds
    # none, in a quarter of the regular expression's instructions; a tab or a non-ASCII space
    # it refuses is decided by the expression.
    return not head.isprintable() and _CONTROL.search(head) is not None
