"""A hand-written fake upstream's plumbing: an aiohttp app on a free loopback port."""

from __future__ import annotations

from typing import Self

from aiohttp import web

__all__ = ["LOOPBACK", "LoopbackApp"]


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
