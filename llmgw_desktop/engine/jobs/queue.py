"""The job queue: which calls may join it, and the slots a job waits for to leave it.

A call joins while fewer than `max_running + max_queued` jobs are running or queued here; a
remote principal's call while it holds less than its share of those (`JobLimits.share`), so
beyond its share its call is refused as saturated while another principal's is still taken. A
queued job runs once a global slot and a slot for its provider are free; a remote principal's
job first takes one of its own (`shares.py`), so its jobs past its share wait in their own line,
not ahead of others'.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from llmgw_desktop.engine.errors import Saturated
from llmgw_desktop.engine.jobs.live import LiveJobs
from llmgw_desktop.engine.jobs.shares import RunningShares
from llmgw_desktop.engine.shares import FairShare

__all__ = ["SATURATED_RETRY_AFTER_S", "JobQueue"]

# What a caller refused as saturated is told to wait.
SATURATED_RETRY_AFTER_S = 5


class JobQueue:
    """Admits calls to this process's queue and hands queued jobs their slots."""

    def __init__(
        self,
        live: LiveJobs,
        *,
        share: FairShare,
        max_running: int,
        max_running_per_provider: int,
        capacity: int,
    ) -> None:
        """`capacity`: the jobs running or queued at once (`JobLimits.capacity`)."""
        self._live = live
        self._share = share
        self._capacity = capacity
        self._max_running_per_provider = max_running_per_provider
        self._global_slots = asyncio.Semaphore(max_running)
        self._provider_slots: dict[str, asyncio.Semaphore] = {}
        self._shares = RunningShares(share, max_running, max_running_per_provider)

    def refusal(self, principal: str) -> Saturated | None:
        """The refusal for a call of `principal` now, if the queue or its share is full."""
        capacity = self._capacity
        if sum(1 for j in self._live if j.task is not None) >= capacity:
            return Saturated(
                f"the gateway already has {capacity} jobs running or queued; retry in a moment",
                retry_after_s=SATURATED_RETRY_AFTER_S,
            )
        share = self._share
        if not share.holds(principal):
            return None
        mine = share.of(capacity)
        # Counted with the jobs still being written (no task yet): a burst of calls is
        # counted whole, not only once their rows are in.
        if sum(1 for j in self._live if j.spec.principal == principal) < mine:
            return None
        return Saturated(
            f"{principal} already has {mine} jobs running or queued, its share "
            f"({share.setting} = {share.percent}% of jobs.max_concurrent + jobs.max_queued); "
            "retry once one of them ends",
            retry_after_s=SATURATED_RETRY_AFTER_S,
            share=mine,
            setting=share.setting,
        )

    @contextlib.asynccontextmanager
    async def slots(self, principal: str, provider: str) -> AsyncIterator[None]:
        """Wait for the slots a job of `principal` on `provider` runs in; held until the end."""
        provider_slots = self._provider_slots.setdefault(
            provider, asyncio.Semaphore(self._max_running_per_provider)
        )
        # The principal's own slots first: its jobs past its share wait in its own line.
        async with self._shares.slot(principal, provider), provider_slots, self._global_slots:
            yield
