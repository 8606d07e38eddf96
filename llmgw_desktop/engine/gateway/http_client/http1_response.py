"""An upstream's response as the HTTP/1.1 client hands it back (`http1.py`): status and
headers once they are in, the body read whole or a piece at a time.

The body is kept as it arrives and handed out as it is read: a compressed body is decoded a
piece at a time (`body_decoder.py`), never whole, and a reader that falls behind pauses reading
from the upstream (`HIGH_WATER`) until it catches up (`LOW_WATER`). A response read to its end
puts its connection back in the pool when the server keeps it alive; one abandoned, broken or
timed out closes it, since the rest of its body would still be on the way.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable
from typing import Any, Protocol

from llmgw_desktop.engine.gateway.http_client.body_decoder import BodyDecodeError, BodyDecoder
from llmgw_desktop.engine.gateway.http_client.pool import HostPool

__all__ = ["BodyTooLarge", "Http1Response", "ResponseBroken", "ResponseCarrier", "StreamProgress"]

# Body bytes buffered before reading from the upstream pauses, and resumes.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024


class ResponseBroken(ConnectionError):
    """The connection ended or misbehaved before the response was complete."""


class BodyTooLarge(Exception):
    """A body read whole was larger than the reader's limit (`limit`, bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit


class StreamProgress(Protocol):
    """A stream under way as a watch of its silence reads it (`balancing/liveness.py`)."""

    @property
    def received(self) -> int:
        """Bytes of it that have come so far."""

    @property
    def ended(self) -> bool:
        """Nothing more of it can come (complete, broken or let go)."""

    @property
    def awaited(self) -> bool:
        """More of it is awaited from the upstream now (not held back for a slow reader)."""


class ResponseCarrier(Protocol):
    """The connection a response arrives on, as the response uses it (`http1.py`'s)."""

    transport: asyncio.Transport | None
    closed: bool
    response: Http1Response | None

    def close(self) -> None:
        """Give the connection up: nothing more is sent or read on it."""

    def put_back(self) -> None:
        """Return the connection to its pool's idle ones (or close it when it cannot)."""


class Http1Response:
    """A response whose headers have arrived; its body is read with `read` or `readany`."""

    def __init__(self, connection: ResponseCarrier) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.complete = False
        self.started = False
        self.chunked = False
        self.length: int | None = None
        self._connection: ResponseCarrier | None = connection
        self._chunks: collections.deque[bytes] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: Exception | None = None
        self._keep_alive = False
        self._decoder: BodyDecoder | None = None
        self._buffered = 0
        self._paused = False
        # Bytes of the body that have come so far (as they came, compressed or not): what a
        # watch of a stream's silence reads (`balancing/liveness.py`).
        self.received = 0
        self._head: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # The owner whose share of the pool this response counts against, until it ends.
        self._owner: str | None = None
        self._share_pool: HostPool[Any] | None = None

    # -- fed by the connection --
    def start(self, *, keep_alive: bool) -> None:
        self.started = True
        self._keep_alive = keep_alive
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
        length = self.headers.get("content-length")
        self.length = int(length) if length and length.isdigit() else None
        self._decoder = BodyDecoder.for_encoding(self.headers.get("content-encoding", ""))
        if not self._head.done():
            self._head.set_result(None)

    def feed(self, data: bytes) -> None:
        # Kept as it came (compressed or not): a compressed body is decoded as it is read, a
        # piece at a time (`_next_piece`), so what it inflates to never sits in memory whole.
        if data:
            self._chunks.append(data)
            self._buffered += len(data)
            self.received += len(data)
            if self._buffered > HIGH_WATER and not self._paused:
                # The reader (a slow client, far down the line) is behind: stop reading from
                # the upstream instead of holding its whole answer in memory.
                self._pause(True)
            self._wake()

    def finish(self) -> None:
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
    @property
    def ended(self) -> bool:
        """Whether nothing more of it can come: complete, broken or let go."""
        return self._connection is None

    @property
    def awaited(self) -> bool:
        """Whether more of the body is awaited from the upstream now: not once it has ended,
        nor while reading is paused for a reader that is behind (a silence that is ours, not
        the upstream's)."""
        return self._connection is not None and not self._paused

    def wait_head(self, timeout_s: float | None) -> Awaitable[None]:
        # The wait itself, not a coroutine awaiting it: every request's task waits here, and
        # its wake-up passes each coroutine of the chain.
        return _within(self._head, timeout_s)

    async def readany(self, timeout_s: float | None = None) -> bytes:
        """The next piece of the body; b"" once it is complete.

        Raises:
            ResponseBroken: the connection broke before the body was complete.
            TimeoutError: nothing arrived within `timeout_s`.
        """
        while (chunk := self._next_piece()) is None:
            if self._error is not None:
                raise self._error
            if self.complete:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await _within(self._waiter, timeout_s)
            except BaseException:
                # Timed out or cancelled (also `read`'s whole-body timeout): the rest of the
                # body is still coming, so the connection cannot be reused.
                self._discard()
                raise
            finally:
                self._waiter = None
        if self._paused and self._buffered < LOW_WATER:
            self._pause(False)
        return chunk

    def _next_piece(self) -> bytes | None:
        """The next piece of the body from what has arrived (decoded as it is read, a piece at
        a time: `body_decoder.py`), or None when there is none yet (or no more).

        Raises:
            ResponseBroken: the compressed data does not decode.
        """
        if self._decoder is None:
            return self._take()
        try:
            return self._decoder.next_piece(self._take, self.complete)
        except BodyDecodeError as exc:
            self._discard()
            self._error = ResponseBroken(f"the compressed answer does not decode ({exc})")
            raise self._error from None

    def _take(self) -> bytes | None:
        """Every piece that has arrived, at once (at most `HIGH_WATER` and one read: reading
        pauses there): a stream's events that came together pass the reader's layers, and the
        write to the client, once rather than once each."""
        chunks = self._chunks
        if not chunks:
            return None
        if len(chunks) == 1:
            chunk = chunks.popleft()
        else:
            chunk = b"".join(chunks)
            chunks.clear()
        self._buffered -= len(chunk)
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

    async def read(self, timeout_s: float | None = None, limit: int | None = None) -> bytes:
        """The whole body (within `timeout_s` in total, of at most `limit` bytes).

        Raises:
            ResponseBroken, TimeoutError: as `readany`.
            BodyTooLarge: the body passed `limit` (the rest is not read: the connection goes).
        """
        if self.complete and self._decoder is None and self._error is None:
            # All of it has come, as it came (a whole answer usually arrives with its head):
            # taken at once, not a piece at a time through `readany`'s coroutines.
            body = self._take() or b""
            if limit is not None and len(body) > limit:
                self._discard()
                raise BodyTooLarge(limit)
            return body
        if self.complete or timeout_s is None:
            # Nothing left to wait for: no timer, which costs uvloop about 4 us to arm and
            # cancel.
            return await self._read_rest(limit)
        async with asyncio.timeout(timeout_s):
            return await self._read_rest(limit)

    async def _read_rest(self, limit: int | None) -> bytes:
        parts = []
        size = 0
        while piece := await self.readany():
            size += len(piece)
            if limit is not None and size > limit:
                self._discard()
                raise BodyTooLarge(limit)
            parts.append(piece)
        return b"".join(parts)

    def release(self) -> None:
        """Done with this response: the connection goes back to the pool if it can."""
        if not self.complete:
            self._discard()

    def hold_share(self, pool: HostPool[Any], owner: str) -> None:
        """Count against `owner`'s share of `pool` until the response ends (or no longer, if
        it already has)."""
        if self._connection is None:
            pool.unclaim(owner)
        else:
            self._owner, self._share_pool = owner, pool

    def _end_share(self) -> None:
        owner, pool = self._owner, self._share_pool
        if owner is not None and pool is not None:
            self._owner = self._share_pool = None
            pool.unclaim(owner)

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
                connection.put_back()
            else:
                connection.close()
        if self._owner is not None:
            self._end_share()

    def _discard(self) -> None:
        if not self.complete and self._error is None:
            # Detached from its connection, the body can never complete: a later read must
            # fail rather than wait forever.
            self._error = ResponseBroken("the response was abandoned before it was complete")
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.response = None
            connection.close()
        if self._owner is not None:
            self._end_share()


async def _within(future: asyncio.Future[None], timeout_s: float | None) -> None:
    """Wait for `future`, which fails with `TimeoutError` after `timeout_s` (None: no limit).

    One timer that fails the future, where `asyncio.timeout` also cancels the waiting task and
    turns the cancellation back into its error: 2.2-2.6 us against 3.9-5.0 us under uvloop
    (armed, then cancelled), for every answer's head and every wait for a piece of a stream.
    """
    if timeout_s is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout_s, _time_out, future)
    try:
        await future
    finally:
        timer.cancel()


def _time_out(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
