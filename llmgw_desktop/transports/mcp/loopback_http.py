"""A minimal HTTP/1.1 client for the stdio relay's requests to the gateway on loopback.

Why not aiohttp: `llmgw-desktop mcp` is spawned by an editor on every start and must answer
`initialize` within a few hundred milliseconds; importing aiohttp's client alone costs about
as much as the whole budget. The relay talks to one server (our own, on loopback, without
proxies, TLS or redirects), so what it needs is small: send a request, read the status and
headers, then the body by `Content-Length`, chunked, or to the end of the connection, as a
whole or line by line (event streams).

`KeptConnections` sends each request on a connection an earlier request left open (HTTP/1.1
keep-alive), one request at a time per connection: a connection per message cost the relay a
connect, and the gateway a new connection's setup and the kernel query of who opened it
(`engine/auth/peer_owner.py`), on every tool call. A connection is kept only once
its reply was read to the end, for `KEEP_IDLE_S` at most; a request whose kept connection
turns out closed before a byte of the reply came is sent again once on a new one (the server
closed it idle: the request never reached it).

Each new connection is sent nothing until the OS says who listens at its other end: a port on
127.0.0.1 is anyone's to bind once the gateway has let it go (stopped, restarting), and a
relay outlives its gateway. A server of another account (`engine/auth/peer_owner.py`, the same
look-up the gateway makes of its clients) is refused with `NotOurGateway`, so the editor's
calls and the instance token never reach it, nor its answers the editor (SECURITY finding 81).
Where the OS cannot tell (macOS, a failed look-up), the connection is used as before.

Failures are `OSError` (connect, reset, `NotOurGateway`) or `HttpProtocolError` (a reply that
is not HTTP), itself an `OSError`, so callers catch one type.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from llmgw_desktop.engine.api import PeerOwner, lookup_peer_owner, quick_peer_owner

__all__ = [
    "ClosedBeforeReply",
    "HttpProtocolError",
    "KeptConnections",
    "NotOurGateway",
    "Reply",
    "request",
]

CONNECT_TIMEOUT_S = 10.0
# How long an idle connection is kept for the next request (the gateway's aiohttp keeps one
# for an hour), and how many are kept at once (more only while requests run side by side).
KEEP_IDLE_S = 30.0
MAX_KEPT = 4
# Bounds on what the server may send before the body: our own gateway sends a few hundred bytes.
MAX_HEAD_LINES = 100
MAX_HEAD_BYTES = 64 * 1024
LINE_LIMIT = 64 * 1024 * 1024  # one event-stream line can carry a whole tool result


class HttpProtocolError(OSError):
    """The reply is not the HTTP/1.1 this client reads."""


class ClosedBeforeReply(HttpProtocolError):
    """The connection ended before the reply's first byte."""


class NotOurGateway(OSError):
    """Another account on this machine listens at the gateway's address."""


@dataclass
class Reply:
    """A reply's status and headers (names in lower case), and its body, read once."""

    status: int
    headers: dict[str, str]
    _reader: asyncio.StreamReader = field(repr=False)
    # Whether the body was read to its end (then the connection may carry another request).
    finished: bool = field(default=False, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([chunk async for chunk in self.chunks()])

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry another request once this body has been read: its
        length was known (not "to the end of the connection") and the server did not say
        it closes it."""
        framed = "chunked" in self.headers.get("transfer-encoding", "").lower() or (
            "content-length" in self.headers
            or self.status in (204, 304)
            or 100 <= self.status < 200
        )
        return framed and "close" not in self.headers.get("connection", "").lower()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, a piece at a time.

        Raises:
            HttpProtocolError: the reply ended before its body did.
        """
        try:
            async for chunk in self._body():
                yield chunk
        except asyncio.IncompleteReadError as exc:
            raise HttpProtocolError(f"the reply ended early ({exc})") from None
        self.finished = True

    async def _body(self) -> AsyncIterator[bytes]:
        if self.status in (204, 304) or 100 <= self.status < 200:
            return
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            while True:
                size_line = await self._reader.readline()
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise HttpProtocolError(f"bad chunk size {size_line[:40]!r}") from None
                if size == 0:
                    await self._trailers()
                    return
                yield await self._reader.readexactly(size)
                await self._reader.readexactly(2)  # the CRLF after each chunk
        elif (length := self.headers.get("content-length")) is not None:
            if length.strip():
                yield await self._reader.readexactly(int(length))
        else:
            while chunk := await self._reader.read(65536):
                yield chunk

    async def _trailers(self) -> None:
        """Read past the trailer section that ends a chunked body (usually just its CRLF)."""
        for _ in range(MAX_HEAD_LINES):
            if (await self._reader.readline()).strip(b"\r\n") == b"":
                return
        raise HttpProtocolError(f"over {MAX_HEAD_LINES} trailer lines")


@contextlib.asynccontextmanager
async def request(
    method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
) -> AsyncIterator[Reply]:
    """Send one request on its own connection; the reply, until the block ends.

    Raises:
        OSError: the connection failed or broke (`HttpProtocolError` for a reply that is not
            HTTP, `TimeoutError` when connecting takes over CONNECT_TIMEOUT_S).
    """
    host, port, target = _place(url)
    reader, writer = await _connect(host, port)
    try:
        _send(writer, method, target, host, port, headers, body, keep=False)
        await writer.drain()
        yield await _read_head(reader)
    finally:
        await _close(writer)


class KeptConnections:
    """Requests to one URL on connections kept open between them (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.host, self.port, self.target = _place(url)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0  # connections made so far (tests read it)

    @contextlib.asynccontextmanager
    async def request(
        self, method: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> AsyncIterator[Reply]:
        """Send a request on a kept connection (or a new one); the reply, until the block
        ends, after which the connection is kept if the reply was read to its end.

        Raises:
            OSError: as `request`'s.
        """
        reply, reader, writer = await self._send(method, headers, body)
        kept = False
        try:
            yield reply
            kept = reply.finished and reply.reusable and not reader.at_eof()
        finally:
            if kept and len(self._idle) < MAX_KEPT:
                self._idle.append((reader, writer, asyncio.get_running_loop().time()))
            else:
                await _close(writer)

    async def close(self) -> None:
        """Close every kept connection."""
        idle, self._idle = self._idle, []
        for _, writer, _ in idle:
            await _close(writer)

    async def _send(
        self, method: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[Reply, asyncio.StreamReader, asyncio.StreamWriter]:
        while (kept := self._kept()) is not None:
            reader, writer = kept
            try:
                _send(writer, method, self.target, self.host, self.port, headers, body)
                await writer.drain()
                return await _read_head(reader), reader, writer
            except (ClosedBeforeReply, ConnectionError):
                # The server had closed it idle: the request never reached it.
                await _close(writer)
            except BaseException:
                await _close(writer)
                raise
        reader, writer = await _connect(self.host, self.port)
        self.opened += 1
        try:
            _send(writer, method, self.target, self.host, self.port, headers, body)
            await writer.drain()
            return await _read_head(reader), reader, writer
        except BaseException:
            await _close(writer)
            raise

    def _kept(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The most recently used kept connection still fresh and open, if any."""
        now = asyncio.get_running_loop().time()
        while self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < KEEP_IDLE_S and not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return None


def _place(url: str) -> tuple[str, int, str]:
    """The host, port and request target of a plain http URL.

    Raises:
        ValueError: not a plain http URL.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only plain http URLs are supported, not {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, target


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection to `host`:`port`, once the OS has not said another account listens.

    Raises:
        NotOurGateway: another account's server holds the address.
        OSError: connecting failed (`TimeoutError` past CONNECT_TIMEOUT_S).
    """
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, limit=LINE_LIMIT), CONNECT_TIMEOUT_S
    )
    try:
        owner = await _listener_owner(writer)
    except BaseException:
        await _close(writer)
        raise
    if owner is PeerOwner.OTHER:
        await _close(writer)
        raise NotOurGateway(
            f"another account on this machine listens at {host}:{port}, where the gateway "
            "was: nothing was sent to it. Start the gateway again (the desktop app, or "
            "llmgw-desktop --headless) once that port is free"
        )
    return reader, writer


async def _listener_owner(writer: asyncio.StreamWriter) -> PeerOwner:
    """Who owns the server's end of the connection (its socket is the one whose local address
    is our peer's, and whose remote address is ours: the look-up the gateway makes of its
    clients, turned round)."""
    server, ours = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
    if not isinstance(server, tuple) or not isinstance(ours, tuple):
        return PeerOwner.UNKNOWN  # not TCP
    owner = quick_peer_owner(server[:2], ours[:2])
    if owner is None:  # no quick look-up on this OS: the slow one, off the loop
        owner = await asyncio.to_thread(lookup_peer_owner, server[:2], ours[:2])
    return owner


def _send(
    writer: asyncio.StreamWriter,
    method: str,
    target: str,
    host: str,
    port: int,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    keep: bool = True,
) -> None:
    name = host if ":" not in host else f"[{host}]"
    head = [f"{method} {target} HTTP/1.1", f"Host: {name}:{port}"]
    if not keep:
        head.append("Connection: close")
    head += [f"{key}: {value}" for key, value in headers.items()]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b""))


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> Reply:
    try:
        status_line = (await reader.readline()).decode("latin-1")
        if not status_line:
            raise ClosedBeforeReply("the connection closed before a reply")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1."):
            raise HttpProtocolError(f"not an HTTP reply: {status_line[:60]!r}")
        status = int(rest.split(" ", 1)[0])
        headers: dict[str, str] = {}
        size = len(status_line)
        for _ in range(MAX_HEAD_LINES):
            line = (await reader.readline()).decode("latin-1")
            size += len(line)
            if size > MAX_HEAD_BYTES:
                raise HttpProtocolError(f"a reply head over {MAX_HEAD_BYTES} bytes")
            line = line.rstrip("\r\n")
            if not line:
                return Reply(status, headers, reader)
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    except (ValueError, asyncio.LimitOverrunError) as exc:
        raise HttpProtocolError(f"a malformed reply head ({exc})") from None
    raise HttpProtocolError(f"over {MAX_HEAD_LINES} header lines")
