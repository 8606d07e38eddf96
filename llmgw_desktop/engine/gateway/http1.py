"""A small HTTP/1.1 client for upstream API calls: keep-alive pool, streaming bodies, TLS.

Why not aiohttp's client: a gateway request is one upstream call, and aiohttp's general-purpose
client (cookies, redirects, proxies, tracing, multipart) cost a third of the gateway's CPU per
request in profiles. Upstream LLM APIs need none of that: POST a JSON body, read a JSON or SSE
answer, reuse the connection. Parsing is httptools (llhttp, the parser Node.js uses).

What it does not do, on purpose: proxies (a proxy would see every prompt; loopback servers must
be reached directly), redirects (an API that redirects a POST is misconfigured), cookies,
HTTP/2. Responses may be chunked or compressed (gzip, deflate).
"""

from __future__ import annotations

import asyncio
import collections
import re
import ssl
import time
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httptools

__all__ = ["ConnectError", "Http1Client", "Http1Response", "ResponseBroken"]

# An idle connection older than this is closed rather than reused: servers drop idle
# keep-alive connections after 5 to 60 s, and a request on one they dropped fails.
IDLE_KEEP_S = 4.0
MAX_IDLE_PER_HOST = 64
# Body bytes buffered before reading from the upstream pauses, and resumes.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
USER_AGENT = "llmgw-desktop"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class ConnectError(OSError):
    """The TCP or TLS connection could not be made (nothing was sent)."""


class ResponseBroken(ConnectionError):
    """The connection ended or misbehaved before the response was complete."""


class _Connection(asyncio.Protocol):
    """One TCP connection; parses one response at a time into a `Http1Response`."""

    def __init__(self, key: tuple[str, str, int]) -> None:
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.response: Http1Response | None = None
        self.closed = False
        self.idle_since = 0.0
        # Whether any byte of the current response arrived: a request is resent only if not.
        self.received = False
        self._parser = httptools.HttpResponseParser(self)
        self._header_name = b""
        self._informational = False

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

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
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
        if self.response is not None:
            self.response.feed(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self.response is not None:
            self.response.finish()

    # -- helpers --
    def send(self, data: bytes, response: Http1Response) -> None:
        assert self.transport is not None
        self.response = response
        self.received = False
        self._informational = False
        self._parser = httptools.HttpResponseParser(self)
        self.transport.write(data)

    def _fail(self, error: Exception) -> None:
        if self.response is not None:
            self.response.fail(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http1Response:
    """A response whose headers have arrived; its body is read with `read` or `readany`."""

    def __init__(self, client: Http1Client, connection: _Connection) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.complete = False
        self.started = False
        self.chunked = False
        self.length: int | None = None
        self._client = client
        self._connection: _Connection | None = connection
        self._chunks: collections.deque[bytes] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: Exception | None = None
        self._keep_alive = False
        self._decoder: Any = None
        self._buffered = 0
        self._paused = False
        self._head: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- fed by the connection --
    def start(self, *, keep_alive: bool) -> None:
        self.started = True
        self._keep_alive = keep_alive
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
        length = self.headers.get("content-length")
        self.length = int(length) if length and length.isdigit() else None
        encoding = self.headers.get("content-encoding", "")
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj()
        if not self._head.done():
            self._head.set_result(None)

    def feed(self, data: bytes) -> None:
        if self._decoder is not None:
            data = self._decoder.decompress(data)
        if data:
            self._chunks.append(data)
            self._buffered += len(data)
            if self._buffered > HIGH_WATER and not self._paused:
                # The reader (a slow client, far down the line) is behind: stop reading from
                # the upstream instead of holding its whole answer in memory.
                self._pause(True)
            self._wake()

    def finish(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
        self.complete = True
        self._wake()
        self._release()

    def fail(self, error: Exception) -> None:
        self._error = error
        if not self._head.done():
            self._head.set_exception(error)
        self._wake()
        self._discard()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- read by the caller --
    async def wait_head(self, timeout_s: float | None) -> None:
        async with asyncio.timeout(timeout_s):
            await self._head

    async def readany(self, timeout_s: float | None = None) -> bytes:
        """The next piece of the body; b"" once it is complete.

        Raises:
            ResponseBroken: the connection broke before the body was complete.
            TimeoutError: nothing arrived within `timeout_s`.
        """
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self.complete:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout_s):
                    await self._waiter
            except BaseException:
                # Timed out or cancelled (also `read`'s whole-body timeout): the rest of the
                # body is still coming, so the connection cannot be reused.
                self._discard()
                raise
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered < LOW_WATER:
            self._pause(False)
        return chunk

    def _pause(self, paused: bool) -> None:
        connection = self._connection
        if connection is None or connection.transport is None or connection.closed:
            return
        self._paused = paused
        if paused:
            connection.transport.pause_reading()
        else:
            connection.transport.resume_reading()

    async def read(self, timeout_s: float | None = None) -> bytes:
        """The whole body (within `timeout_s` in total).

        Raises:
            ResponseBroken, TimeoutError: as `readany`.
        """
        async with asyncio.timeout(timeout_s):
            parts = []
            while piece := await self.readany():
                parts.append(piece)
        return b"".join(parts)

    def release(self) -> None:
        """Done with this response: the connection goes back to the pool if it can."""
        if not self.complete:
            self._discard()

    def _release(self) -> None:
        if self._paused:
            # Backpressure may pause reading in the same read that completes the message; a
            # pooled connection left paused would never see its next response.
            self._pause(False)
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.response = None
            # A request body still being written (the server answered early) would be read by
            # the server as the start of the next request.
            writing = connection.transport is not None and (
                connection.transport.get_write_buffer_size() > 0
            )
            if self._keep_alive and not connection.closed and not writing:
                self._client._put_back(connection)
            else:
                connection.close()

    def _discard(self) -> None:
        if not self.complete and self._error is None:
            # Detached from its connection, the body can never complete: a later read must
            # fail rather than wait forever.
            self._error = ResponseBroken("the response was abandoned before it was complete")
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.response = None
            connection.close()


class Http1Client:
    """Keep-alive connections per host, reused across requests."""

    def __init__(self, *, connect_timeout_s: float) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._idle: dict[tuple[str, str, int], collections.deque[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        head_timeout_s: float | None = None,
    ) -> Http1Response:
        """Send a request and return once the response's status and headers are in.

        Raises:
            ConnectError: no connection could be made.
            ResponseBroken: the connection broke before the response began.
            TimeoutError: connecting, or the response head, took too long.
        """
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rpartition("@")[2]
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if "User-Agent" not in headers:
            lines.append(f"User-Agent: {USER_AGENT}")
        if "Accept-Encoding" not in headers:
            # Not deflate: servers disagree on whether it is zlib-wrapped or raw.
            lines.append("Accept-Encoding: gzip")
        lines.append(f"Content-Length: {len(body)}")
        if any(_CONTROL.search(line) for line in lines):
            # A model id or header value from a client must never add lines to our request.
            raise ValueError("refusing to send a request line or header with control characters")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        connection, reused = await self._connection(key)
        response = Http1Response(self, connection)
        connection.send(data, response)
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
            connection, _ = await self._connection(key, fresh=True)
            response = Http1Response(self, connection)
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

    async def _connection(
        self, key: tuple[str, str, int], *, fresh: bool = False
    ) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle and not fresh:
            connection = idle.pop()
            # is_closing: the server's FIN was read but connection_lost has not run yet.
            closing = connection.transport is None or connection.transport.is_closing()
            if not connection.closed and not closing and now - connection.idle_since < IDLE_KEEP_S:
                return connection, True
            connection.close()
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(key),
                    host,
                    port,
                    ssl=self._tls() if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )
        except TimeoutError:
            raise
        except OSError as exc:
            raise ConnectError(exc.errno, exc.strerror or str(exc)) from None
        return protocol, False

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _put_back(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        idle = self._idle.setdefault(connection.key, collections.deque())
        if len(idle) >= MAX_IDLE_PER_HOST:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._idle.clear()
