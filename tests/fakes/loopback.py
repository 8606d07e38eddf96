"""A hand-written fake server's plumbing on a free loopback port: an aiohttp app, a raw
socket server's ending, and a server that answers every request with the same bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Self

from aiohttp import web

__all__ = ["LOOPBACK", "LoopbackApp", "answering_with", "close_server"]


LOOPBACK = "127.0.0.1"


class LoopbackApp:
    """An async context manager serving the routes `routes` adds on 127.0.0.1 (a free port);
    `base_url` is where, once entered. Subclasses hold the fake's state and handlers."""

    base_url = ""
    # The largest request body the fake reads (aiohttp's own default: 1 MiB).
    client_max_size = 1024**2
    _runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        """Add the fake's routes to `app`."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=self.client_max_size)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, 0).start()
        self.base_url = f"http://{LOOPBACK}:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def close_server(server: asyncio.Server, tasks: Iterable[asyncio.Task[None]]) -> None:
    """Stop `server` listening, cancel the tasks serving its connections, and wait for both."""
    server.close()
    running = list(tasks)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await server.wait_closed()


@asynccontextmanager
async def answering_with(raw: bytes) -> AsyncIterator[int]:
    """A raw server that answers each request, once its head has come, with the bytes `raw`
    and closes the connection; its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, LOOPBACK, 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])
