"""Each remote principal's share of the jobs running at once (SECURITY.md 29).

A job runs once it holds a global slot and one of its provider's. A principal held to a share
(`engine/shares.py`) first takes one of its own slots, in all and on that provider, so its
jobs beyond its share wait in its own line and never stand in the global or provider line
ahead of another principal's job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from llmgw_desktop.engine.shares import FairShare

__all__ = ["RunningShares"]


@dataclass
class _Line:
    slots: asyncio.Semaphore
    users: int = 0  # holding or waiting: the line is dropped when none are left


class _Slots:
    """`size` slots per key, made on first use and forgotten once nobody holds or waits."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lines: dict[str, _Line] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line(asyncio.Semaphore(self._size))
        line.users += 1
        try:
            async with line.slots:
                yield
        finally:
            line.users -= 1
            if not line.users:
                del self._lines[key]


class RunningShares:
    """The slots of each principal held to `share`: of `max_running` in all, and of
    `max_running_per_provider` on one provider."""

    def __init__(self, share: FairShare, max_running: int, max_running_per_provider: int) -> None:
        self._share = share
        self.in_all = share.of(max_running)
        self.per_provider = share.of(max_running_per_provider)
        self._in_all = _Slots(self.in_all)
        self._per_provider = _Slots(self.per_provider)

    @contextlib.asynccontextmanager
    async def slot(self, principal: str, provider: str) -> AsyncIterator[None]:
        """Hold one of `principal`'s slots for a job on `provider` (none for a principal not
        held to a share)."""
        if not self._share.holds(principal):
            yield
            return
        async with self._in_all.hold(principal), self._per_provider.hold(f"{principal} {provider}"):
            yield
