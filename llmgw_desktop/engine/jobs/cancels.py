"""Stopping a job on its caller's word: a cancel by id (of a job this process runs, or one
another gateway process on the store runs), and a synchronous caller that left before it was
told the job's id, so nobody could ever collect its answer.

A cancel stops the job's task; the job ends `canceled` once its work has unwound (a CLI's
process tree is stopped first, up to the kill grace, `providers/process.py`), and its row stays
`running` until then. An identical call sent meanwhile is, nearly always, the caller asking
again (Esc, then the same question): it must run anew, not attach to a job on its way to
`canceled`. So a cancel is marked, before the task is stopped, where both duplicate checks of
`JobManager.submit` look: on the live job (`LiveJob.cancel_requested`, read by
`LiveJobs.with_key`) and in its row (`jobs.cancel_requested`, the flag a cancel sent through
another process already sets, read by the store's look-up), so a peer gateway process on a
shared store does not attach to it either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import LiveJob, LiveJobs
from llmgw_desktop.engine.jobs.model import JobView
from llmgw_desktop.engine.jobs.ownership import RemoteCancels
from llmgw_desktop.engine.jobs.views import REMOTE_POLL_S, JobViews
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = ["REMOTE_CANCEL_WAIT_S", "JobCancels"]

log = logging.getLogger(__name__)

# A cancel of a job another process runs waits this long for that process to end it.
REMOTE_CANCEL_WAIT_S = 10.0


class JobCancels:
    """Cancels jobs for their callers, and stops those whose only caller left."""

    def __init__(
        self,
        *,
        live: LiveJobs,
        views: JobViews,
        remote: RemoteCancels,
        leases: JobLeases | None,
        tasks: TaskSupervisor,
        db: Database,
        clock: Callable[[], float],
    ) -> None:
        self._live = live
        self._views = views
        self._remote = remote
        self._leases = leases
        self._tasks = tasks
        self._db = db
        self._clock = clock

    async def cancel(self, job_id: str, principal: str) -> JobView:
        """Stop a queued or running job (its process group is killed); finished jobs stay.

        Raises:
            NotFound: no such job for this principal.
        """
        view = await self._views.get(job_id, principal)
        live = self._live.get(job_id)
        if view.finished:
            return view
        if live is None:
            return await self._cancel_remote(job_id, principal)
        if live.task is None:
            return view
        self._requested(live)
        live.cancel_task()  # one not begun yet sees the request as it begins
        await live.done.wait()
        return await self._views.get(job_id, principal)

    def keep(self, job_id: str) -> None:
        """Its id went to a caller that may come back for it (an async start, a deferred
        answer): a waiter that leaves (`wait_for_answer`) no longer stops it."""
        live = self._live.get(job_id)
        if live is not None:
            live.kept = True

    async def wait_for_answer(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """`JobViews.wait`, for a caller the job runs for that was never told its id:
        cancelled while it waits (its client cancelled the call or went away), the job is
        stopped unless another caller waits on it or holds its id (`_abandon`).

        Raises:
            NotFound: no such job for this principal.
        """
        live = self._live.get(job_id)
        if live is None:  # another process runs it: who else waits on it is not known here
            return await self._views.wait(job_id, principal, timeout_s)
        live.waiters += 1
        left = False
        try:
            return await self._views.wait(job_id, principal, timeout_s)
        except asyncio.CancelledError:
            left = True
            raise
        finally:
            live.waiters -= 1
            if left:
                self._abandon(live)

    def _abandon(self, live: LiveJob) -> None:
        """Its last waiting caller left before it was told the job's id, so nobody could ever
        collect the answer: stop the job (as `cancel` does, without waiting for its end)."""
        if live.waiters or live.kept or live.cancel_requested or live.done.is_set():
            return
        if live.task is None:
            return
        log.info("job %s: its caller left before the answer; stopping it", live.id)
        live.cancel_reason = "its caller cancelled the call or went away before the answer"
        # Synchronous: an await here would itself be cancelled by the caller's cancel scope.
        self._requested(live)
        live.cancel_task()  # one not begun yet sees the request as it begins

    def _requested(self, live: LiveJob) -> None:
        """Mark `live`'s cancel for the duplicate checks: at once in memory, and in its row.

        The row's flag is written without waiting (a sync caller's cancel cannot await): its
        write is asked for at the loop's next turn, and the database thread runs writes in the
        order they were asked for, so it lands before the look-up of any call sent after the
        cancel, and before the job's end (which it leaves alone should the end come first).
        """
        live.cancel_requested = True
        self._tasks.spawn(self._flag(live.id), name=f"cancel-flag-{live.id}")

    async def _flag(self, job_id: str) -> None:
        try:
            await self._remote.request_cancel(job_id)
        except Exception as exc:  # the job stops all the same; only a peer could still attach
            self._db.log_failure(log, f"could not flag job {job_id}'s cancel in the store", exc)

    async def cancelled_through_a_peer(self, job_id: str) -> bool:
        """Whether a cancel of `job_id` sent through another gateway process is flagged in its
        row. Asked before a call attaches to a live job: this process takes such a flag only
        at its next flush tick (`JobUpkeep.take_remote_cancels`), up to a second away, so a
        job of its own that is flagged is stopped now, as the tick would. Only a store others
        share is read (one row by its key, for a call about to attach, which is rare)."""
        if self._leases is None or not self._leases.shared:
            return False
        if not await self._remote.is_requested(job_id):
            return False
        live = self._live.get(job_id)
        if live is not None and live.take_peer_cancel():
            log.info("job %s canceled through another gateway process", job_id)
        return True

    async def _cancel_remote(self, job_id: str, principal: str) -> JobView:
        """Cancel a job another gateway process runs: flag it for that process (which kills
        its CLI as a local cancel would), and wait a bounded while for it to end. When the
        owner is dead (no live lease), end the row here."""
        await self._remote.request_cancel(job_id)
        deadline = time.monotonic() + REMOTE_CANCEL_WAIT_S
        while True:
            if self._leases is not None and await self._remote.cancel_orphan(job_id, self._clock()):
                log.info("job %s canceled here: the gateway process running it had stopped", job_id)
            view = await self._views.get(job_id, principal)
            if view.finished or time.monotonic() >= deadline:
                return view
            await asyncio.sleep(REMOTE_POLL_S)
