"""A minimal HTTP/1.1 client for the stdio relay's requests to the gateway on loopback.

Why not aiohttp: `llmgw-desktop mcp` is spawned by an editor on every start and must answer
`initialize` within a few hundred milliseconds; importing aiohttp's client alone costs about
as much as the whole budget. The relay talks to one server (our own, on loopback, without
proxies, TLS or redirects), one request per connection, so what it needs is small: send a
request, read the status and headers, then the body by `Content-Length`, chunked, or to the
end of the connection, as a whole or line by line (event streams).

Failures are `OSError` (connect, reset) or `HttpProtocolError` (a reply that is not HTTP),
itself an `OSError`, so callers catch one type.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["HttpProtocolError", "Reply", "request"]

CONNECT_TIMEOUT_S = 10.0
# Bounds on what the server may send before the body: our own gateway sends a few hundred bytes.
MAX_HEAD_LINES = 100
MAX_HEAD_BYTES = 64 * 1024
LINE_LIMIT = 64 * 1024 * 1024  # one event-stream line can carry a whole tool result


class HttpProtocolError(OSError):
    """The reply is not the HTTP/1.1 this client reads."""


@dataclass
class Reply:
    """A reply's status and headers (names in lower case), and its body, read once."""

    status: int
    headers: dict[str, str]
    _reader: asyncio.StreamReader = field(repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([chunk async for chunk in self._chunks()])

    async def lines(self) -> AsyncIterator[bytes]:
        """The body line by line (each with its line ending), as it arrives."""
        # A bytearray searched only from where the last search stopped: a long line arriving
        # in many pieces costs its length once, not once per piece.
        pending = bytearray()
        async for chunk in self._chunks():
            searched = len(pending)
            pending += chunk
            start = 0
            while (end := pending.find(b"\n", max(start, searched))) >= 0:
                yield bytes(pending[start : end + 1])
                start = end + 1
            del pending[:start]
        if pending:
            yield bytes(pending)

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._body():
                yield chunk
        except asyncio.IncompleteReadError as exc:
            raise HttpProtocolError(f"the reply ended early ({exc})") from None

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
                    return  # trailers, if any, are left unread: the connection closes
                yield await self._reader.readexactly(size)
                await self._reader.readexactly(2)  # the CRLF after each chunk
        elif (length := self.headers.get("content-length")) is not None:
            if length.strip():
                yield await self._reader.readexactly(int(length))
        else:
            while chunk := await self._reader.read(65536):
                yield chunk


@contextlib.asynccontextmanager
async def request(
    method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
) -> AsyncIterator[Reply]:
    """Send one request on its own connection; the reply, until the block ends.

    Raises:
        OSError: the connection failed or broke (`HttpProtocolError` for a reply that is not
            HTTP, `TimeoutError` when connecting takes over CONNECT_TIMEOUT_S).
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only plain http URLs are supported, not {url!r}")
    port = parts.port or 80
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, limit=LINE_LIMIT), CONNECT_TIMEOUT_S
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        head = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b""))
        await writer.drain()
        yield await _read_head(reader)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> Reply:
    try:
        status_line = (await reader.readline()).decode("latin-1")
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
