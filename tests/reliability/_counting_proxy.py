"""A TCP proxy that counts the JSON-RPC requests of one method going to a server.

Put in front of a Streamable HTTP MCP server, it sees every request the gateway sends even
while the server is stopped (SIGSTOP): the server's kernel still accepts the bytes, but the
server cannot count them. Served from a thread of its own, so plain test functions can start
and stop child processes around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from tests.reliability._served_in_a_thread import served_in_a_thread

__all__ = ["CountingProxy", "counting_proxy"]

CHUNK = 65536


class CountingProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target`, counting `"method":"NAME"` in what
    clients send (`count`, read from any thread)."""

    def __init__(self, target: int, method: str) -> None:
        self.target = target
        self.port = 0
        self.count = 0
        # As the SDK writes a request (pydantic's JSON, no spaces).
        self._needle = f'"method":"{method}"'.encode()
        self._clients: set[asyncio.Task[None]] = set()

    async def serve(self, started: threading.Event, stop: asyncio.Event) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await stop.wait()
        # Connections still open (to a stopped server, say) end with the proxy.
        for client in self._clients:
            client.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self._clients.discard(task)
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            return
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, count=True), self._pipe(up_reader, writer)
            )
        finally:
            up_writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool = False
    ) -> None:
        tail = b""
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK):
                if count:
                    # The tail of the last chunk too: a request split across two reads counts.
                    seen = tail + data
                    self.count += seen.count(self._needle)
                    tail = seen[-(len(self._needle) - 1) :]
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()


@contextlib.contextmanager
def counting_proxy(target: int, method: str) -> Iterator[CountingProxy]:
    """A `CountingProxy` to `target` counting `method`, served from a thread until the block
    ends."""
    proxy = CountingProxy(target, method)
    with served_in_a_thread(proxy):
        yield proxy
