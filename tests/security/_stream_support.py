"""Helpers for the attacks that come from the upstream's side (an oversized event, a key
echoed in an error event): every API provider of the gateway pointed at a `HostileUpstream`,
which answers with whatever bytes a test writes.

tests/security has no conftest on purpose: a test module imports the fixture functions (one
`noqa: F401` line) and asks for them by their fixture names (`launch`, `hostile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.transports.gateway.conftest import point_providers_at
from tests.transports.gateway.hostile_upstream import HostileUpstream

__all__ = ["LoopLag", "sse"]


@pytest.fixture(name="hostile")
async def _hostile(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[HostileUpstream]:
    """Every API provider pointed at the hostile upstream, each with its test key (set before
    `launch` builds the engine, which reads them)."""
    async with HostileUpstream() as up:
        point_providers_at(up.base_url, monkeypatch)
        yield up


def sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    """One server-sent event as an upstream writes it."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


class LoopLag:
    """The longest the event loop went without running a ticker that asks to run every
    `every_s`: how long something else held the loop (the gateway runs in this process)."""

    def __init__(self, every_s: float = 0.01) -> None:
        self.every_s = every_s
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.every_s)
            self.worst_s = max(self.worst_s, time.perf_counter() - before - self.every_s)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
