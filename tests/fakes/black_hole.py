"""A loopback port that takes no connections and refuses none, as a host gone from the network;
opened later to a real server, as the host come back.

The listener's accept queue is full (backlog 0, filled by connections never accepted), so the
kernel drops each new SYN and a connect waits out its timeout. `open_to(port)` starts accepting
on the same listener and carries each connection to `port` (the scripted upstream), byte for
byte, so the same base URL answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator

from tests.fakes.loopback import LOOPBACK, close_server

__all__ = ["BlackHole", "black_hole"]

READ_CHUNK = 65536
# Linux takes backlog + 1 connections; the rest wait in SYN-SENT, then drop.
FILLERS = 4
# For the fillers' handshakes to settle before the port is used.
SETTLE_S = 0.2


class BlackHole:
    """The port (`port`), a black hole until `open_to` carries it to a real server."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(FILLERS):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((LOOPBACK, self.port))
            self._fillers.append(filler)
        time.sleep(SETTLE_S)
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self._to = 0

    async def open_to(self, port: int) -> None:
        """Take connections from now on, each carried to 127.0.0.1:`port`."""
        self._to = port
        for filler in self._fillers:  # what they queued is accepted, and ends at once
            filler.close()
        self._fillers.clear()
        self._listener.setblocking(False)
        self._server = await asyncio.start_server(self._relay, sock=self._listener)

    async def close(self) -> None:
        """Stop carrying connections (those open are cut), and close the port."""
        if self._server is not None:
            await close_server(self._server, self._relays)
            self._server = None
        self.shut()

    def shut(self) -> None:
        """Close the port and its fillers (after `close`, once opened)."""
        for filler in self._fillers:
            filler.close()
        self._fillers.clear()
        self._listener.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self._to)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            # Cut by `close` too: Python 3.11's stream server logs a handler that ends
            # cancelled as an error, so it ends plainly.
            writer.close()
        finally:
            self._relays.discard(task)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(READ_CHUNK):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()


@contextlib.contextmanager
def black_hole() -> Iterator[BlackHole]:
    """A `BlackHole`, its listener closed when the block ends (a test opening it closes it
    itself, on its loop, with `close`)."""
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.shut()
