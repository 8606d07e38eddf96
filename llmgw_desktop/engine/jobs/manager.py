"""JobManager: turns calls into durable jobs and runs them within limits.

A submitted call becomes a row in the store at once (queued), then runs when a global slot and
a slot for its provider are free. A remote principal holds at most its share of those slots and
of the jobs running or queued (`JobLimits.share`, `queue.py`): beyond the queue share its call
is refused as saturated while another principal's is still taken. A job's partial output is
flushed to the store every second, so status shows progress and a crash loses little
(`upkeep.py`). Identical calls inside the dedup window attach to the job that exists instead of
running again, also when another gateway process on the same store took the call (checked again
as the row is written; see `JobStore.create`), but not to one whose cancel was asked for: that
call is its caller asking again (`cancels.py`). When the gateway stops, running jobs end as
`interrupted` with their partial output; when it starts, jobs a crash left behind are marked the
same way (on a shared store, once their process's lease runs out: `leases.py`). Nothing is
silently re-run.

A running job that shows no sign of life (its CLI prints nothing, no attempt or retry begins)
for `JobLimits.stuck_after_s` is marked stuck (`stuck.py`). The manager only reports it; the
CLI's own idle timeout (`providers.idle_timeout_ms`) is what stops it.

Any process on the store answers for any job (`views.py`): waiting on, watching or cancelling a
job another process runs polls the store, and a cancel reaches the owner as a flag it polls
every flush (`cancels.py`, which also stops a job whose synchronous caller left).

On a shared store the store's word is the job's: a job starts only while this process can prove
its lease (`JobLeases.holds`), under the lease epoch it was stored with (`fence.py`), and an end
reached here is told to nobody before the store holds it (`endings.py`). Until then the job
reads as it was, with the end waiting in `progress.pendingEnd`; a peer that took this process
for dead may have ended the row otherwise, and then that ending is what every view says
(status, result, the recorder row).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.errors import ErrorCode, gateway_stopping
from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.jobs.cancels import JobCancels
from llmgw_desktop.engine.jobs.desk_rows import DeskFilter, DeskJob, DeskRows, JobOrigin
from llmgw_desktop.engine.jobs.endings import JobEndings
from llmgw_desktop.engine.jobs.fence import LeaseFence
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import JobSpec, LiveJob, LiveJobs, Submitted
from llmgw_desktop.engine.jobs.model import JobState, JobView, dedup_key
from llmgw_desktop.engine.jobs.ownership import RemoteCancels
from llmgw_desktop.engine.jobs.queue import JobQueue
from llmgw_desktop.engine.jobs.run import JobRuns
from llmgw_desktop.engine.jobs.store import JobStore, LeftRunning
from llmgw_desktop.engine.jobs.stuck import StuckJob, StuckWatch
from llmgw_desktop.engine.jobs.upkeep import JobUpkeep
from llmgw_desktop.engine.jobs.views import DESK_LIST_LIMIT, JobViews
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = ["JobLimits", "JobManager"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobLimits:
    max_running: int = 8
    max_running_per_provider: int = 4
    max_queued: int = 64
    dedup_window_s: float = 3600.0
    retention_days: float = 30.0
    flush_interval_s: float = 1.0
    # Each remote principal's share of the running slots and of the queue (100%: none).
    share: FairShare = field(default_factory=FairShare)
    # A running job silent this long is marked stuck (checked at each flush).
    stuck_after_s: float = 120.0

    @property
    def capacity(self) -> int:
        """Jobs running or queued at once."""
        return self.max_running + self.max_queued


class JobManager:
    """Submit, run, watch, cancel and keep jobs; one per engine."""

    def __init__(
        self,
        store: JobStore,
        *,
        tasks: TaskSupervisor,
        events: EventBus,
        limits: JobLimits,
        clock: Callable[[], float] = time.time,
        leases: JobLeases | None = None,
    ) -> None:
        """`leases` is this process's lease on the store (None: it holds none and reaps
        nothing, as in tests of one manager)."""
        self._store = store
        self._leases = leases
        self._tasks = tasks
        self._events = events
        self.limits = limits
        self._clock = clock
        self._live = LiveJobs()
        self._queue = JobQueue(
            self._live,
            share=limits.share,
            max_running=limits.max_running,
            max_running_per_provider=limits.max_running_per_provider,
            capacity=limits.capacity,
        )
        self._fence = LeaseFence(leases, self._live)
        self._stuck = StuckWatch(self._live, events, limits.stuck_after_s)
        self._endings = JobEndings(
            store, live=self._live, events=events, stuck=self._stuck, leases=leases, clock=clock
        )
        remote_cancels = RemoteCancels(store.db)
        self._views = JobViews(
            store, desk=DeskRows(store.db), live=self._live, endings=self._endings
        )
        self._cancels = JobCancels(
            live=self._live,
            views=self._views,
            remote=remote_cancels,
            leases=leases,
            tasks=tasks,
            db=store.db,
            clock=clock,
        )
        self._upkeep = JobUpkeep(
            store,
            live=self._live,
            endings=self._endings,
            stuck=self._stuck,
            fence=self._fence,
            cancels=remote_cancels,
            leases=leases,
            clock=clock,
            flush_interval_s=limits.flush_interval_s,
            retention_days=limits.retention_days,
        )
        self._runs = JobRuns(
            store,
            tasks=tasks,
            events=events,
            queue=self._queue,
            fence=self._fence,
            endings=self._endings,
            clock=clock,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, recover: bool = True) -> list[LeftRunning]:
        """Mark jobs a previous run left unfinished as interrupted; start flushing and pruning.

        Returns those jobs with the process groups their CLIs ran in, for the caller to stop
        what may still run (`providers/orphans.py`): the manager knows no processes. Without
        `recover` (a store other live gateways share), unfinished jobs are left as they are.
        """
        self._runs.stopping = False
        interrupted = await self._store.interrupt_unfinished(self._clock()) if recover else []
        if interrupted:
            log.warning(
                "%d job(s) were still running when the gateway last stopped", len(interrupted)
            )
        if self._leases is not None:
            # On a shared store this also ends what dead processes left (their leases ran out).
            await self._leases.register()
            self._tasks.spawn(self._leases.run_forever(), name="process-lease", service=True)
            self._tasks.spawn(self._fence.run_forever(), name="job-lease-fence", service=True)
        self._tasks.spawn(self._upkeep.flush_forever(), name="job-progress-flusher", service=True)
        self._tasks.spawn(self._upkeep.prune_forever(), name="job-pruner", service=True)
        return interrupted

    async def stop(self) -> None:
        """End every live job as interrupted (partial output kept), then flush."""
        self._runs.stopping = True
        live = [job for job in self._live if job.task is not None]
        for job in live:
            job.cancel_task()
        await asyncio.gather(*(job.task for job in live if job.task), return_exceptions=True)
        try:
            await self._endings.save_unsaved()
        except Exception as exc:
            log.warning(
                "%d job end(s) could not be stored before the stop (%s): those rows stay "
                "unfinished until the next start or a peer marks them interrupted",
                self._endings.unsaved,
                exc,
            )
        if self._leases is not None:
            try:
                await self._leases.release()
            except Exception as exc:  # peers reap nothing of ours: every job ended above
                self._leases.log_failure("could not release this gateway process's lease", exc)

    # -- submitting --------------------------------------------------------------------------

    async def submit(self, spec: JobSpec, *, force_refresh: bool = False) -> Submitted:
        """Create the job (or attach to an identical one) and start it when slots allow.

        Raises:
            Saturated: the queue is full, or the principal's share of it.
            ProviderUnavailable: the gateway is stopping (`gateway_stopping`).
        """
        if self._runs.stopping:
            raise gateway_stopping()
        key = dedup_key(spec.provider, spec.request, spec.working_dir, spec.principal)
        dedup = not force_refresh and self.limits.dedup_window_s > 0
        if dedup:
            # Only this process's live jobs here: the store's are checked as the row is written
            # (`create` with `reuse_since`), so a call that attaches to nothing (nearly all of
            # them) pays one round trip to the database thread before its CLI starts, not two.
            existing = await self._attachable(key)
            if existing is not None:
                log.info("call attaches to job %s (dedup)", existing)
                return Submitted(existing, attached=True)
        full = self._queue.refusal(spec.principal)
        if full is not None:
            # Full: a stored job with the same identity can still answer this call.
            stored_earlier = await self._find_reusable(key) if dedup else None
            if stored_earlier is not None:
                log.info("call attaches to job %s (dedup)", stored_earlier)
                return Submitted(stored_earlier, attached=True)
            raise full
        now = self._clock()
        live = LiveJob(id=f"job_{uuid.uuid4().hex}", spec=spec, key=key, created_at=now)
        live.epoch = 0 if self._leases is None else self._leases.epoch
        # Registered before the first await so a concurrent identical call attaches to it.
        self._live.add(live)
        try:
            stored = await self._create_row(
                live,
                job_id=live.id,
                principal=spec.principal,
                provider=spec.provider,
                request=spec.request,
                dedup_key=key,
                correlation_id=spec.correlation_id,
                session_id=spec.session_id,
                now=now,
                # Checked again as the row is written: another gateway on this store may have
                # taken the same call since the look-up above.
                reuse_since=now - self.limits.dedup_window_s if dedup else None,
                owner_process=None if self._leases is None else self._leases.process_id,
            )
        except BaseException:
            self._live.forget(live)
            live.stored.set()
            raise
        if stored.id != live.id:
            live.same_as = stored.id
            self._live.forget(live)
            live.stored.set()
            log.info("call attaches to job %s (dedup, found as its row was written)", stored.id)
            return Submitted(stored.id, attached=True)
        live.stored.set()
        live.task = self._tasks.spawn(self._runs.run(live), name=f"job-{live.id}")
        self._events.publish(live.state_changed())
        return Submitted(live.id, attached=False)

    async def _create_row(self, live: LiveJob, **row: Any) -> JobView:
        """`JobStore.create(**row)`, waited out even when the caller is cancelled meanwhile:
        the database thread writes the row all the same, and a `queued` row no task runs
        stayed so for good. A caller cancelled then has the job ended `canceled` once its row
        is in, before the cancellation goes on.

        Raises:
            asyncio.CancelledError: the caller was cancelled (the job, if written, is ended).
            Exception: the store's failure (nothing was written).
        """
        writing = self._tasks.spawn(_outcome(self._store.create(**row)), name=f"store-{live.id}")
        cancelled = False
        while not writing.done():
            try:
                await asyncio.shield(writing)
            except asyncio.CancelledError:
                if writing.cancelled():  # the gateway stops its tasks
                    raise
                cancelled = True
        stored, failure = writing.result()
        if failure is not None:
            raise failure
        assert stored is not None
        if cancelled:
            if stored.id == live.id:
                live.cancel_requested = True
                live.error = {
                    "code": ErrorCode.CANCELED,
                    "message": "the job was canceled before it started",
                    "retryable": False,
                }
                await self._endings.finish(live, JobState.CANCELED)
            raise asyncio.CancelledError
        return stored

    async def _find_reusable(self, key: str) -> str | None:
        live_id = await self._attachable(key)
        if live_id is not None:
            return live_id
        since = self._clock() - self.limits.dedup_window_s
        found = await self._store.find_reusable(key, since)
        # A live job registered while we awaited the store wins: it is the newest.
        live_id = await self._attachable(key)
        if live_id is not None:
            return live_id
        return None if found is None else found.id

    async def _attachable(self, key: str) -> str | None:
        """The live job of this identity a new call attaches to (`LiveJobs.with_key`), unless
        a peer process flagged its cancel and this one has not taken that yet."""
        live_id = await self._live.with_key(key)
        if live_id is None or await self._cancels.cancelled_through_a_peer(live_id):
            return None
        return live_id

    # -- cancelling (`cancels.py`) -----------------------------------------------------------

    async def cancel(self, job_id: str, principal: str) -> JobView:
        """Stop a queued or running job (its process group is killed); finished jobs stay.

        Raises:
            NotFound: no such job for this principal.
        """
        return await self._cancels.cancel(job_id, principal)

    def keep(self, job_id: str) -> None:
        """Its id went to a caller that may come back for it (an async start, a deferred
        answer): a waiter that leaves (`wait_for_answer`) no longer stops it."""
        self._cancels.keep(job_id)

    async def wait_for_answer(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """`wait`, for a caller the job runs for that was never told its id: cancelled while
        it waits (its client cancelled the call or went away), the job is stopped unless
        another caller waits on it or holds its id.

        Raises:
            NotFound: no such job for this principal.
        """
        return await self._cancels.wait_for_answer(job_id, principal, timeout_s)

    # -- reading (`views.py`) ----------------------------------------------------------------

    async def get(self, job_id: str, principal: str) -> JobView:
        """The job as its owner sees it.

        Raises:
            NotFound: no such job, or it belongs to another principal.
        """
        return await self._views.get(job_id, principal)

    async def wait(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """The job once finished, or as it stands after `timeout_s`.

        Raises:
            NotFound: no such job for this principal.
        """
        return await self._views.wait(job_id, principal, timeout_s)

    async def watch(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """Wait up to `timeout_s` for any change (state, output, progress), then return the job.

        Raises:
            NotFound: no such job for this principal.
        """
        return await self._views.watch(job_id, principal, timeout_s)

    async def find_by_correlation(self, principal: str, correlation_id: str) -> JobView:
        """The newest job the caller tagged with `correlation_id`.

        Raises:
            NotFound: none for this principal.
        """
        return await self._views.find_by_correlation(principal, correlation_id)

    async def list_jobs(self, principal: str, limit: int = 50) -> list[JobView]:
        return await self._views.list_jobs(principal, limit)

    async def list_for_desk(
        self, filters: DeskFilter | None = None, limit: int = DESK_LIST_LIMIT
    ) -> list[DeskJob]:
        """Every principal's jobs matching `filters`, newest first, live ones as they stand
        (for the desktop window only)."""
        return await self._views.list_for_desk(filters, limit)

    async def retry_origin(self, job_id: str) -> JobOrigin:
        """What a retry of a failed, canceled or interrupted job submits again.

        Raises:
            NotFound: no such job.
            InvalidRequest: not retryable (`not_retryable`) or not rebuildable (`not_rebuildable`).
        """
        return await self._views.retry_origin(job_id)

    # -- what the desk and /health are told -------------------------------------------------

    @property
    def live_count(self) -> int:
        """Jobs of this process queued or running now."""
        return len(self._live)

    @property
    def stuck_after_s(self) -> float:
        """How long a running job may be silent before it is marked stuck."""
        return self._stuck.stuck_after_s

    def stuck_jobs(self) -> list[StuckJob]:
        """The running jobs of this process that are stuck now, the longest silent first."""
        return self._stuck.stuck_jobs()

    def health(self) -> dict[str, Any]:
        """Counts of live jobs by state and provider, and the limits in force."""
        by_state: dict[str, int] = {}
        by_provider: dict[str, int] = {}
        for job in self._live:
            by_state[job.state.value] = by_state.get(job.state.value, 0) + 1
            by_provider[job.spec.provider] = by_provider.get(job.spec.provider, 0) + 1
        return {
            "live": len(self._live),
            "byState": by_state,
            "byProvider": by_provider,
            "stuck": sum(1 for job in self._live if job.stuck),
            "limits": {
                "maxRunning": self.limits.max_running,
                "maxRunningPerProvider": self.limits.max_running_per_provider,
                "maxQueued": self.limits.max_queued,
                "principalSharePercent": self.limits.share.percent,
                "stuckAfterSeconds": self.limits.stuck_after_s,
            },
        }

    # -- background upkeep (`upkeep.py`) -----------------------------------------------------

    async def flush_now(self) -> None:
        """Write every running job's changed partial output in one batch."""
        await self._upkeep.flush_now()

    async def prune_now(self) -> int:
        """Delete the finished jobs older than the retention; how many went."""
        return await self._upkeep.prune_now()


async def _outcome(write: Awaitable[JobView]) -> tuple[JobView | None, Exception | None]:
    """What `write` gave, its failure returned rather than raised: the caller raises it, and
    the task supervisor logs no failure of its own."""
    try:
        return await write, None
    except Exception as exc:
        return None, exc
