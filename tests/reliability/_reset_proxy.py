"""A TCP proxy in front of PostgreSQL that can cut a gateway off by resetting its connections.

While cut, every open connection is reset (RST, not FIN) and every new one is accepted and
reset at once: a partition as the issue met it ("connections reset, not a silent drop"), whose
errors change their wording from one failure to the next. Served from a thread of its own, so
plain test functions can start and stop child processes around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

from tests.reliability._served_in_a_thread import served_in_a_thread

__all__ = ["ResetProxy", "reset_proxy"]

CHUNK = 65536


class ResetProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target`; `cut()` and `heal()` from any thread."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.cut_off = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def cut(self) -> None:
        assert self._loop is not None
        self.cut_off = True
        self._loop.call_soon_threadsafe(self._reset_all)

    def heal(self) -> None:
        self.cut_off = False

    def _reset_all(self) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()

    async def serve(self, started: threading.Event, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await stop.wait()
            self._reset_all()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            _reset(writer)
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._open.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset instead of an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextlib.contextmanager
def reset_proxy(target: int) -> Iterator[ResetProxy]:
    """A `ResetProxy` to `target`, served from a thread until the block ends."""
    proxy = ResetProxy(target)
    with served_in_a_thread(proxy):
        yield proxy
