"""The lease a job runs under: a job of this process starts only while the process can prove
the lease it was stored with, and stops once that lease is known lost.

On a shared store a peer that takes this process for dead (it was cut off from the store, or
stalled past its lease) ends its jobs' rows `interrupted`; the process registers again under the
next lease epoch (`leases.py`). A job stored under the lost epoch must then do no more work
nobody will be told of: one still queued never starts its CLI, and one running or on its way to
its CLI is cancelled (the lifeline killed the CLIs already running; `providers/lifeline.py`).
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import LiveJob, LiveJobs

__all__ = ["LeaseFence"]

log = logging.getLogger(__name__)


class LeaseFence:
    """Holds this process's jobs to the lease epoch each was stored under."""

    def __init__(self, leases: JobLeases | None, live: LiveJobs) -> None:
        """`leases` is this process's lease on the store (None: it holds none, and nothing is
        fenced)."""
        self._leases = leases
        self._live = live
        self._losses_seen = 0 if leases is None else leases.losses

    async def lease_for(self, live: LiveJob) -> bool:
        """Wait until this process can prove the lease `live` was stored under (True), or knows
        it lost that one (False): no job starts while a peer may be taking it for dead."""
        leases = self._leases
        if leases is None:
            return True
        while leases.epoch == live.epoch and not live.fenced:
            if leases.holds():
                return True
            await leases.renewed()
        return False

    async def run_forever(self) -> None:
        """Fence the jobs of a lost tenure as soon as the renewal that found it lost is done,
        not at the next flush: a job whose work was held up (awaiting the store it was cut off
        from) must not start its CLI once the next renewal proves the new tenure."""
        assert self._leases is not None
        while True:
            await self._leases.renewed()
            self.fence_if_lease_lost()

    def fence_if_lease_lost(self) -> None:
        """After this process lost its lease (a peer took it for dead and ended its jobs'
        rows), stop the jobs stored under the lost epoch: their rows say `interrupted` already,
        and a CLI that went on would do work nobody will be told of (the lifeline killed those
        running; this ends the rest, queued or about to start one)."""
        if self._leases is None or self._leases.losses == self._losses_seen:
            return
        self._losses_seen = self._leases.losses
        epoch = self._leases.epoch
        for live in list(self._live):
            # One whose end is being written is left to finish: the store's answer settles it.
            finishing = live.finished_at is not None
            if live.task is not None and live.epoch < epoch and not live.fenced and not finishing:
                live.fenced = True
                log.warning("job %s: this process lost its lease; its CLI is stopped", live.id)
                live.cancel_task()
