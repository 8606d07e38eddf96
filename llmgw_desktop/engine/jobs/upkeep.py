"""The job manager's background upkeep: the progress flusher and the pruner.

Every `JobLimits.flush_interval_s` (sooner when the stuck limit is short) the flusher marks the
silent jobs stuck, writes the job ends the store could not take before, writes every running
job's changed partial output in one batch (so status shows progress and a crash loses little),
stops the jobs of a lost lease, and takes the cancels other gateway processes on the store sent
for this one's jobs. Hourly, finished jobs older than `JobLimits.retention_days` are deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from llmgw_desktop.engine.jobs.endings import JobEndings
from llmgw_desktop.engine.jobs.fence import LeaseFence
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import LiveJobs
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.jobs.ownership import RemoteCancels
from llmgw_desktop.engine.jobs.store import JobStore, ProgressRow
from llmgw_desktop.engine.jobs.stuck import StuckWatch

__all__ = ["PRUNE_EVERY_S", "JobUpkeep"]

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


class JobUpkeep:
    """The flusher and the pruner of this process's jobs, each spawned by the manager's start."""

    def __init__(
        self,
        store: JobStore,
        *,
        live: LiveJobs,
        endings: JobEndings,
        stuck: StuckWatch,
        fence: LeaseFence,
        cancels: RemoteCancels,
        leases: JobLeases | None,
        clock: Callable[[], float],
        flush_interval_s: float,
        retention_days: float,
    ) -> None:
        self._store = store
        self._live = live
        self._endings = endings
        self._stuck = stuck
        self._fence = fence
        self._cancels = cancels
        self._leases = leases
        self._clock = clock
        self._flush_interval_s = flush_interval_s
        self._retention_days = retention_days

    async def flush_now(self) -> None:
        """Write every running job's changed partial output in one batch."""
        rows = []
        for job in self._live:
            if job.dirty and job.state is JobState.RUNNING:
                job.dirty = False
                rows.append(
                    ProgressRow(job.id, job.output, dict(job.progress), job.attempts, self._clock())
                )
        try:
            await self._store.save_progress(rows)
        except Exception:
            for row in rows:  # written with the next flush instead (the output only grows)
                if (unsaved := self._live.get(row.job_id)) is not None:
                    unsaved.dirty = True
            raise

    async def flush_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self._flush_interval_s, self._stuck.stuck_after_s / 2))
            self._stuck.check()
            try:
                await self._endings.save_unsaved()
                await self.flush_now()
            except Exception as exc:
                self._store.db.log_failure(log, "could not flush job progress", exc)
            self._fence.fence_if_lease_lost()
            try:
                await self.take_remote_cancels()
            except Exception as exc:
                self._store.db.log_failure(
                    log, "could not read the cancels other gateway processes sent", exc
                )

    async def take_remote_cancels(self) -> int:
        """Cancel the live jobs a cancel sent to another gateway process flagged, as a local
        cancel would (state `canceled`, process group killed); how many."""
        if self._leases is None or not self._live:
            return 0
        flagged = await self._cancels.cancel_requests(self._leases.process_id)
        taken = 0
        for job_id in flagged:
            live = self._live.get(job_id)
            if live is not None and live.take_peer_cancel():
                log.info("job %s canceled through another gateway process", job_id)
                taken += 1
        return taken

    async def prune_now(self) -> int:
        """Delete the finished jobs older than the retention; how many went."""
        cutoff = self._clock() - self._retention_days * 86400
        removed = await self._store.prune(cutoff)
        self._endings.forget_recent()
        if removed:
            log.info("pruned %d job(s) older than %g days", removed, self._retention_days)
        return removed

    async def prune_forever(self) -> None:
        while True:
            try:
                await self.prune_now()
            except Exception:
                log.exception("could not prune old jobs")
            await asyncio.sleep(PRUNE_EVERY_S)
