"""JobManager: turns calls into durable jobs and runs them within limits.

A submitted call becomes a row in the store at once (queued), then runs when a global slot and
a slot for its provider are free. A remote principal holds at most its share of those slots and
of the jobs running or queued (`JobLimits.share`, `shares.py`): beyond the queue share its call
is refused as saturated while another principal's is still taken. A job's partial output is
flushed to the store every second, so status shows progress and a crash loses little. Identical
calls inside the dedup window attach to the job that exists instead of running again, also when
another gateway process on the same store took the call (checked again as the row is written;
see `JobStore.create`). When the gateway stops, running jobs end as `interrupted` with their
partial output; when it starts, jobs a crash left behind are marked the same way (on a shared
store, once their process's lease runs out: `leases.py`). Nothing is silently re-run.

A running job that shows no sign of life (its CLI prints nothing, no attempt or retry begins)
for `JobLimits.stuck_after_s` is marked stuck: `stuck_jobs()` lists those, `JobStuckChanged`
announces each change, and the job's view carries the flag and when it last did something.
The manager only reports it; the CLI's own idle timeout (`providers.idle_timeout_ms`) is what
stops it.

Any process on the store answers for any job: waiting on, watching or cancelling a job another
process runs polls the store, and a cancel reaches the owner as a flag it polls every flush.

On a shared store the store's word is the job's: a job starts only while this process can prove
its lease (`JobLeases.holds`), under the lease epoch it was stored with, and an end reached here
is told to nobody before the store holds it. Until then the job reads as it was, with the end
waiting in `progress.pendingEnd`; a peer that took this process for dead may have ended the row
otherwise, and then that ending is what every view says (status, result, the recorder row).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.errors import (
    EngineError,
    ErrorCode,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    Saturated,
    disk_refusal,
)
from llmgw_desktop.engine.events import EventBus, JobStateChanged, JobStuckChanged
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.model import JobState, JobView, can_move, dedup_key
from llmgw_desktop.engine.jobs.shares import RunningShares
from llmgw_desktop.engine.jobs.store import (
    INTERRUPTED_ERROR,
    DeskFilter,
    DeskJob,
    JobOrigin,
    JobStore,
    LeftRunning,
    ProgressRow,
)
from llmgw_desktop.engine.redact import REDACTED
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = [
    "RETRYABLE",
    "DeskFilter",
    "DeskJob",
    "JobContext",
    "JobLimits",
    "JobManager",
    "JobOrigin",
    "JobSpec",
    "StuckJob",
    "Submitted",
]

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
# Jobs that just finished are asked about at once (the caller was waiting); keeping their final
# views spares a store round trip. Bounded, and emptied whenever old jobs are pruned.
RECENT_FINISHED = 512
# Job ends held in memory while the store cannot take them (each holds the job's output); past
# this the oldest is dropped, said with an ERROR. Below RECENT_FINISHED, so each one's view
# stays readable from memory meanwhile.
MAX_UNSAVED_ENDS = 256
DESK_LIST_LIMIT = 200
# Waiting on, or watching, a job another gateway process runs reads its row this often.
REMOTE_POLL_S = 0.3
# A cancel of a job another process runs waits this long for that process to end it.
REMOTE_CANCEL_WAIT_S = 10.0
# The ends the desk may retry; a completed job is asked again by sending the call again.
RETRYABLE = frozenset({JobState.FAILED, JobState.CANCELED, JobState.INTERRUPTED})
# What a caller refused as saturated is told to wait.
SATURATED_RETRY_AFTER_S = 5


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


@dataclass(frozen=True)
class StuckJob:
    """A running job with no output for longer than the limit, as the desk shows it."""

    job_id: str
    provider: str
    principal: str
    idle_s: float
    limit_s: float


class JobContext:
    """Handed to a job's work: where it reports partial output and progress."""

    def __init__(
        self,
        live: _LiveJob,
        cancel_state: Callable[[], JobState],
        save_process: Callable[[int, str | None], None],
    ) -> None:
        self._live = live
        self._cancel_state = cancel_state
        self._save_process = save_process

    @property
    def job_id(self) -> str:
        return self._live.id

    @property
    def cancel_state(self) -> JobState:
        """How the job ends if its work is cancelled now: `interrupted` while the gateway
        stops, else `canceled`. The work records its own ending with the same word."""
        return self._cancel_state()

    def set_output(self, text: str) -> None:
        """Replace the job's partial output (the text so far)."""
        self._live.output = text
        self._live.touch(active=True)

    def set_progress(self, **fields: Any) -> None:
        self._live.progress.update(fields)
        self._live.touch(active=True)

    def set_process(self, pid: int, identity: str | None) -> None:
        """The job's CLI started as process (group) `pid`: saved at once with its identity,
        so a start after a crash can find and stop it (`providers/orphans.py`)."""
        self.set_progress(pid=pid)
        self._save_process(pid, identity)

    @property
    def attempt(self) -> int:
        return self._live.attempts

    def set_attempt(self, attempt: int) -> None:
        self._live.attempts = attempt
        # The wait before this attempt is over; the last attempt's error stays.
        self._live.progress.pop("retryInSeconds", None)
        self._live.touch(active=True)

    def write_with_result(self, write: Callable[[], None]) -> None:
        """Have `write` (a plain function run on the database thread) commit together with
        the job's end, so whoever sees the job finished also sees what `write` recorded."""
        self._live.final_writes.append(write)


Work = Callable[[JobContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class JobSpec:
    """A call to run as a job. `work` returns the result dict or raises a EngineError."""

    principal: str
    provider: str
    request: dict[str, Any]
    working_dir: str
    work: Work
    correlation_id: str | None = None
    session_id: str | None = None
    # Told the ending the store kept when it is not the one the job reached here (a peer took
    # this process for dead and ended the row first): the call layer corrects its recorder row.
    overruled: Callable[[JobState], None] | None = None


@dataclass(frozen=True)
class Submitted:
    job_id: str
    attached: bool  # True when an identical earlier call's job was reused
    # The flight-recorder row of the call that submitted it (set by the call layer).
    record_id: str = ""


# Rebuilds a stored job's call and submits it as a new job. The call layer knows how (the
# manager keeps only the request's arguments); the engine installs it.


@dataclass
class _LiveJob:
    id: str
    spec: JobSpec
    key: str | None
    created_at: float
    state: JobState = JobState.QUEUED
    started_at: float | None = None
    finished_at: float | None = None
    output: str = ""
    progress: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = None
    stored: asyncio.Event = field(default_factory=asyncio.Event)  # its row written (or refused)
    same_as: str | None = None  # the identical job another gateway stored first
    done: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    dirty: bool = False
    cancel_requested: bool = False
    # Its process lost its lease (it stalled past it) and a peer ended the job's row: the CLI
    # is stopped and the job ends as the store says.
    fenced: bool = False
    # The lease epoch of its process when it was submitted: it runs only under that one.
    epoch: int = 0
    # Its end is reached here and not yet held by the store (shared stores only): until it is,
    # it reads as it was (`before_end`), and `settled` is set once it is.
    pending: bool = False
    before_end: JobState = JobState.QUEUED
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    final_writes: list[Callable[[], None]] = field(default_factory=list)
    last_activity_at: float | None = None  # set when it starts running, then on each sign of life
    stuck: bool = False

    def touch(self, *, active: bool = False) -> None:
        if active:
            self.last_activity_at = time.time()
        self.dirty = True
        self.changed.set()
        self.changed = asyncio.Event()

    def view(self) -> JobView:
        state, result, error, finished_at = self.state, self.result, self.error, self.finished_at
        progress = dict(self.progress)
        if self.pending:
            # The store may keep another ending (a peer took this process for dead): nobody
            # is told this one before the store holds it.
            progress["pendingEnd"] = state.value
            state, result, error, finished_at = self.before_end, None, None, None
        return JobView(
            id=self.id,
            provider=self.spec.provider,
            state=state,
            created_at=self.created_at,
            updated_at=time.time(),
            started_at=self.started_at,
            finished_at=finished_at,
            correlation_id=self.spec.correlation_id,
            session_id=self.spec.session_id,
            attempts=self.attempts,
            progress=progress,
            output=self.output,
            result=result,
            error=error,
            last_activity_at=self.last_activity_at,
            stuck=self.stuck,
        )


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
        self._live: dict[str, _LiveJob] = {}
        self._live_by_key: dict[str, _LiveJob] = {}
        self._recent: OrderedDict[str, tuple[JobView, str]] = OrderedDict()
        # Job ends the store could not take (it was unreachable), oldest first, with the job
        # they end: tried again at every progress flush until stored.
        self._unsaved_ends: OrderedDict[str, tuple[_LiveJob, Callable[[], Awaitable[JobView]]]] = (
            OrderedDict()
        )
        self._losses_seen = 0 if leases is None else leases.losses
        self._global_slots = asyncio.Semaphore(limits.max_running)
        self._provider_slots: dict[str, asyncio.Semaphore] = {}
        self._shares = RunningShares(
            limits.share, limits.max_running, limits.max_running_per_provider
        )
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, recover: bool = True) -> list[LeftRunning]:
        """Mark jobs a previous run left unfinished as interrupted; start flushing and pruning.

        Returns those jobs with the process groups their CLIs ran in, for the caller to stop
        what may still run (`providers/orphans.py`): the manager knows no processes. Without
        `recover` (a store other live gateways share), unfinished jobs are left as they are.
        """
        self._stopping = False
        interrupted = await self._store.interrupt_unfinished(self._clock()) if recover else []
        if interrupted:
            log.warning(
                "%d job(s) were still running when the gateway last stopped", len(interrupted)
            )
        if self._leases is not None:
            # On a shared store this also ends what dead processes left (their leases ran out).
            await self._leases.register()
            self._tasks.spawn(self._leases.run_forever(), name="process-lease", service=True)
            self._tasks.spawn(self._fence_forever(), name="job-lease-fence", service=True)
        self._tasks.spawn(self._flush_forever(), name="job-progress-flusher", service=True)
        self._tasks.spawn(self._prune_forever(), name="job-pruner", service=True)
        return interrupted

    async def stop(self) -> None:
        """End every live job as interrupted (partial output kept), then flush."""
        self._stopping = True
        live = [job for job in self._live.values() if job.task is not None]
        for job in live:
            assert job.task is not None
            job.task.cancel()
        await asyncio.gather(*(job.task for job in live if job.task), return_exceptions=True)
        try:
            await self._save_unsaved_ends()
        except Exception as exc:
            log.warning(
                "%d job end(s) could not be stored before the stop (%s): those rows stay "
                "unfinished until the next start or a peer marks them interrupted",
                len(self._unsaved_ends),
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
        if self._stopping:
            raise ProviderUnavailable(
                "the gateway is stopping; send the call again once it is back",
                code=ErrorCode.GATEWAY_STOPPING,
                retryable=True,
            )
        key = dedup_key(spec.provider, spec.request, spec.working_dir, spec.principal)
        dedup = not force_refresh and self.limits.dedup_window_s > 0
        if dedup:
            # Only this process's live jobs here: the store's are checked as the row is written
            # (`create` with `reuse_since`), so a call that attaches to nothing (nearly all of
            # them) pays one round trip to the database thread before its CLI starts, not two.
            existing = await self._live_with_key(key)
            if existing is not None:
                log.info("call attaches to job %s (dedup)", existing)
                return Submitted(existing, attached=True)
        full = self._saturated(spec.principal)
        if full is not None:
            # Full: a stored job with the same identity can still answer this call.
            stored_earlier = await self._find_reusable(key) if dedup else None
            if stored_earlier is not None:
                log.info("call attaches to job %s (dedup)", stored_earlier)
                return Submitted(stored_earlier, attached=True)
            raise full
        now = self._clock()
        live = _LiveJob(id=f"job_{uuid.uuid4().hex}", spec=spec, key=key, created_at=now)
        live.epoch = 0 if self._leases is None else self._leases.epoch
        # Registered before the first await so a concurrent identical call attaches to it.
        self._live[live.id] = live
        self._live_by_key[key] = live
        try:
            stored = await self._store.create(
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
            self._forget(live)
            live.stored.set()
            raise
        if stored.id != live.id:
            live.same_as = stored.id
            self._forget(live)
            live.stored.set()
            log.info("call attaches to job %s (dedup, found as its row was written)", stored.id)
            return Submitted(stored.id, attached=True)
        live.stored.set()
        live.task = self._tasks.spawn(self._run(live), name=f"job-{live.id}")
        self._publish(live)
        return Submitted(live.id, attached=False)

    def _saturated(self, principal: str) -> Saturated | None:
        """The refusal for a call of `principal` now, if the queue or its share is full."""
        limits = self.limits
        capacity = limits.capacity
        if sum(1 for j in self._live.values() if j.task is not None) >= capacity:
            return Saturated(
                f"the gateway already has {capacity} jobs running or queued; retry in a moment",
                retry_after_s=SATURATED_RETRY_AFTER_S,
            )
        share = limits.share
        if not share.holds(principal):
            return None
        mine = share.of(capacity)
        # Counted with the jobs still being written (no task yet): a burst of calls is
        # counted whole, not only once their rows are in.
        if sum(1 for j in self._live.values() if j.spec.principal == principal) < mine:
            return None
        return Saturated(
            f"{principal} already has {mine} jobs running or queued, its share "
            f"({share.setting} = {share.percent}% of jobs.max_concurrent + jobs.max_queued); "
            "retry once one of them ends",
            retry_after_s=SATURATED_RETRY_AFTER_S,
            share=mine,
            setting=share.setting,
        )

    async def _find_reusable(self, key: str) -> str | None:
        live_id = await self._live_with_key(key)
        if live_id is not None:
            return live_id
        since = self._clock() - self.limits.dedup_window_s
        found = await self._store.find_reusable(key, since)
        # A live job registered while we awaited the store wins: it is the newest.
        live_id = await self._live_with_key(key)
        if live_id is not None:
            return live_id
        return None if found is None else found.id

    async def _live_with_key(self, key: str) -> str | None:
        live = self._live_by_key.get(key)
        if live is None or live.state not in (JobState.QUEUED, JobState.RUNNING):
            return None
        # Its row may still be on its way to the store, which can find that another gateway
        # took the same call first: then that gateway's job is the one to attach to.
        await live.stored.wait()
        return live.same_as or live.id

    # -- running -----------------------------------------------------------------------------

    async def _run(self, live: _LiveJob) -> None:
        provider_slots = self._provider_slots.setdefault(
            live.spec.provider, asyncio.Semaphore(self.limits.max_running_per_provider)
        )
        final_state = JobState.COMPLETED
        try:
            # The principal's own slots first: its jobs past its share wait in its own line.
            async with (
                self._shares.slot(live.spec.principal, live.spec.provider),
                provider_slots,
                self._global_slots,
            ):
                if not await self._lease_for(live):
                    # A peer took this process for dead and ended the job's row: it never
                    # starts here, and its recorder row ends as the store says.
                    log.warning(
                        "job %s: this process lost the lease it was stored under before it "
                        "could start; it ends interrupted, as the store has it",
                        live.id,
                    )
                    live.fenced = True
                    final_state, live.error = JobState.INTERRUPTED, dict(INTERRUPTED_ERROR)
                    return
                live.state = JobState.RUNNING
                live.started_at = self._clock()
                live.last_activity_at = time.time()
                live.attempts = max(live.attempts, 1)
                # Not awaited: the store runs writes in order on one thread, so this lands before
                # any later write of this job, and the CLI need not wait for it to start.
                self._tasks.spawn(
                    self._quietly(
                        "mark job running",
                        self._store.mark_running(live.id, now=live.started_at, attempts=1),
                    ),
                    name=f"mark-running-{live.id}",
                )
                self._publish(live)
                context = JobContext(
                    live,
                    lambda: self._cancel_state(live),
                    lambda pid, identity: self._save_process(live, pid, identity),
                )
                live.result = await live.spec.work(context)
                text = live.result.get("text")
                if isinstance(text, str):
                    live.output = text
        except asyncio.CancelledError:
            final_state = self._cancel_state(live)
            live.error = _cancel_error(final_state)
        except EngineError as error:
            # `interrupted`: its CLI was stopped because this process stalled past its lease.
            interrupted = error.code == ErrorCode.INTERRUPTED
            final_state = JobState.INTERRUPTED if interrupted else JobState.FAILED
            live.error = error.to_dict()
        except Exception as exc:  # a bug in an adapter must not take the manager down
            final_state = JobState.FAILED
            refused = disk_refusal(exc)  # a full disk is not a bug: said, with no traceback
            if refused is not None:
                log.warning("job %s: %s", live.id, refused.message)
                live.error = refused.to_dict()
            else:
                log.exception("job %s crashed", live.id)
                live.error = {
                    "code": ErrorCode.INTERNAL_ERROR,
                    "message": f"the gateway failed while running this job: {exc!r}",
                    "retryable": False,
                }
        finally:
            await self._finish(live, final_state)

    async def _lease_for(self, live: _LiveJob) -> bool:
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

    def _save_process(self, live: _LiveJob, pid: int, identity: str | None) -> None:
        # Not awaited, like the running mark: the DB thread keeps this job's writes in order.
        self._tasks.spawn(
            self._quietly(
                "save the job's process group", self._store.save_process(live.id, pid, identity)
            ),
            name=f"save-process-{live.id}",
        )

    async def _quietly(self, what: str, write: Awaitable[Any]) -> None:
        """`write`, whose failure while the store is unreachable is a DEBUG line (the store
        warned once) rather than a background task's ERROR traceback: the job's end is
        written later in any case, and a row still `queued` takes it as well."""
        try:
            await write
        except Exception as exc:
            self._store.db.log_failure(log, f"could not {what}", exc)

    def _cancel_state(self, live: _LiveJob) -> JobState:
        """A cancel the caller asked for is `canceled`; any other while stopping (quit,
        SIGTERM) is `interrupted`."""
        if (self._stopping or live.fenced) and not live.cancel_requested:
            return JobState.INTERRUPTED
        return JobState.CANCELED

    async def _finish(self, live: _LiveJob, state: JobState) -> None:
        if not can_move(live.state, state):  # cannot happen; keep the record honest if it does
            log.error("job %s cannot move from %s to %s", live.id, live.state, state)
            state = JobState.FAILED
        live.before_end = live.state
        live.state = state
        live.finished_at = self._clock()
        write = functools.partial(
            self._store.finish,
            live.id,
            state=state,
            output=live.output,
            progress=live.progress,
            attempts=live.attempts,
            result=live.result,
            error=live.error,
            now=live.finished_at,
            with_writes=live.final_writes if live.error is None else (),
            known=live.view(),
        )
        # On a shared store a peer may have ended the row already: the end is told once the
        # store holds it (`_settle`).
        live.pending = self._leases is not None and self._leases.shared
        try:
            self._settle(live, await asyncio.shield(write()))
        except asyncio.CancelledError:
            # A stop while the end was being written: the flusher or the stop writes it again
            # (the same conditional write, so the same row), and its answer settles the job.
            self._unsaved_ends[live.id] = (live, write)
            raise
        except Exception as exc:
            if self._store.db.is_write_failure(exc):
                # The store cannot take it now: the write is tried again until it is stored
                # (`_save_unsaved_ends`); meanwhile the job reads from memory (its end pending
                # on a shared store, where a peer may end the row otherwise).
                self._keep_unsaved_end(live, write, exc)
            else:
                log.exception("could not record the end of job %s", live.id)
                live.pending = False
        finally:
            live.dirty = False
            self._forget(live)
            if not live.pending:
                live.settled.set()
            live.done.set()
            live.touch()
            self._publish(live)
            if live.stuck:
                live.stuck = False
                self._publish_stuck(live, time.time())

    def _settle(self, live: _LiveJob, final: JobView) -> None:
        """The store holds `live`'s end as `final`: it is what the job says from now on."""
        if not final.finished:
            # The row is still open under a lease epoch this process no longer holds (it was
            # taken for dead and registered again): a peer's reaper ends it interrupted, which
            # is what its caller is told now.
            final = dataclasses.replace(
                final, state=JobState.INTERRUPTED, result=None, error=dict(INTERRUPTED_ERROR)
            )
        if final.state is not live.state:
            # Another process took this one for dead (it was cut off from the store or stalled
            # past its lease) and marked the row interrupted: the row keeps that, and so does
            # every view here (one truth for the client, the store and the peers; a result the
            # store did not take is not reported).
            log.warning(
                "job %s ended %s here, but another gateway process had already marked it %s: "
                "the store keeps that, and its caller is told so",
                live.id,
                live.state.value,
                final.state.value,
            )
            live.state, live.result, live.error = final.state, None, final.error
            if live.spec.overruled is not None:
                live.spec.overruled(final.state)
        elif live.fenced and live.started_at is None and live.spec.overruled is not None:
            # Its work never ran (its lease was lost first), so nothing ended its call's
            # recorder row: it takes the store's ending too.
            live.spec.overruled(final.state)
        live.pending = False
        live.settled.set()
        self._recent[live.id] = (final, live.spec.principal)
        while len(self._recent) > RECENT_FINISHED:
            self._recent.popitem(last=False)

    def _keep_unsaved_end(
        self, live: _LiveJob, write: Callable[[], Awaitable[JobView]], exc: BaseException
    ) -> None:
        if not self._unsaved_ends:
            log.warning(
                "could not store the end of job %s (%s); kept in memory and written when the "
                "store takes writes again",
                live.id,
                exc,
            )
        self._unsaved_ends[live.id] = (live, write)
        self._recent[live.id] = (live.view(), live.spec.principal)
        while len(self._unsaved_ends) > MAX_UNSAVED_ENDS:
            lost, _ = self._unsaved_ends.popitem(last=False)
            log.error(
                "job %s: its end was dropped unstored (more than %d job ends wait for the "
                "store); its row stays unfinished until it is marked interrupted",
                lost,
                MAX_UNSAVED_ENDS,
            )
        while len(self._recent) > RECENT_FINISHED:
            self._recent.popitem(last=False)

    async def _save_unsaved_ends(self) -> None:
        """Write the job ends the store could not take, oldest first; stop at the first the
        store still refuses (it is down: the next flush tries again).

        Raises:
            Exception: the store's failure, for the caller to log.
        """
        while self._unsaved_ends:
            job_id, (live, write) = next(iter(self._unsaved_ends.items()))
            try:
                stored = await asyncio.shield(write())
            except Exception as exc:
                if self._store.db.is_write_failure(exc):
                    raise
                self._unsaved_ends.pop(job_id, None)
                log.exception("could not record the end of job %s", job_id)
                continue
            # Popped, not deleted: a stop and the flusher may both have written it (the same
            # conditional write twice gives the same row).
            if self._unsaved_ends.pop(job_id, None) is None:
                continue
            # What the store holds is the job's end for every view from now on: a peer that
            # took this process for dead meanwhile ended the row otherwise (then the recorder
            # row is corrected too).
            self._settle(live, stored)
            live.touch()
            self._publish(live)
            if not self._unsaved_ends:
                log.warning("every job end that waited for the store is stored")

    def _forget(self, live: _LiveJob) -> None:
        self._live.pop(live.id, None)
        if live.key is not None and self._live_by_key.get(live.key) is live:
            del self._live_by_key[live.key]

    # -- reading -----------------------------------------------------------------------------

    async def get(self, job_id: str, principal: str) -> JobView:
        """The job as its owner sees it.

        Raises:
            NotFound: no such job, or it belongs to another principal.
        """
        live = self._live.get(job_id)
        if live is not None:
            if live.spec.principal != principal:
                raise _not_found(job_id)
            return live.view()
        found = self._recent.get(job_id) or await self._store.get(job_id)
        if found is None or found[1] != principal:
            raise _not_found(job_id)
        return found[0]

    async def wait(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """The job once finished, or as it stands after `timeout_s`.

        Raises:
            NotFound: no such job for this principal.
        """
        view = await self.get(job_id, principal)
        live = self._live.get(job_id)
        if view.finished:
            return view
        if live is None:  # another gateway process runs it (or its end waits for the store)
            return await self._poll(job_id, principal, timeout_s, lambda seen: seen.finished)
        with contextlib.suppress(TimeoutError):
            # Until the store holds its end: a caller is told no ending the store may not keep.
            await asyncio.wait_for(live.settled.wait(), timeout_s)
        return await self.get(job_id, principal)

    async def watch(self, job_id: str, principal: str, timeout_s: float) -> JobView:
        """Wait up to `timeout_s` for any change (state, output, progress), then return the job.

        Raises:
            NotFound: no such job for this principal.
        """
        view = await self.get(job_id, principal)
        live = self._live.get(job_id)
        if view.finished:
            return view
        if live is None:  # another gateway process runs it: any change to its row
            return await self._poll(job_id, principal, timeout_s, lambda seen: seen != view)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.changed.wait(), timeout_s)
        return await self.get(job_id, principal)

    async def cancel(self, job_id: str, principal: str) -> JobView:
        """Stop a queued or running job (its process group is killed); finished jobs stay.

        Raises:
            NotFound: no such job for this principal.
        """
        view = await self.get(job_id, principal)
        live = self._live.get(job_id)
        if view.finished:
            return view
        if live is None:
            return await self._cancel_remote(job_id, principal)
        if live.task is None:
            return view
        live.cancel_requested = True
        live.task.cancel()
        await live.done.wait()
        return await self.get(job_id, principal)

    async def _cancel_remote(self, job_id: str, principal: str) -> JobView:
        """Cancel a job another gateway process runs: flag it for that process (which kills
        its CLI as a local cancel would), and wait a bounded while for it to end. When the
        owner is dead (no live lease), end the row here."""
        await self._store.request_cancel(job_id)
        deadline = time.monotonic() + REMOTE_CANCEL_WAIT_S
        while True:
            if self._leases is not None and await self._store.cancel_orphan(job_id, self._clock()):
                log.info("job %s canceled here: the gateway process running it had stopped", job_id)
            view = await self.get(job_id, principal)
            if view.finished or time.monotonic() >= deadline:
                return view
            await asyncio.sleep(REMOTE_POLL_S)

    async def _poll(
        self,
        job_id: str,
        principal: str,
        timeout_s: float,
        enough: Callable[[JobView], bool],
    ) -> JobView:
        """Read the job's row every `REMOTE_POLL_S` until `enough` says so or `timeout_s` ends."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return await self.get(job_id, principal)
            await asyncio.sleep(min(REMOTE_POLL_S, left))
            view = await self.get(job_id, principal)
            if enough(view):
                return view

    async def find_by_correlation(self, principal: str, correlation_id: str) -> JobView:
        """The newest job the caller tagged with `correlation_id`.

        Raises:
            NotFound: none for this principal.
        """
        for live in self._live.values():
            if live.spec.principal == principal and live.spec.correlation_id == correlation_id:
                return live.view()
        found = await self._store.find_by_correlation(principal, correlation_id)
        if found is None:
            raise NotFound(f"no job with correlation id {correlation_id!r}")
        return found

    async def list_jobs(self, principal: str, limit: int = 50) -> list[JobView]:
        return await self._store.list_for(principal, limit)

    # -- the desk: the operator of this machine sees and retries every principal's jobs -------

    async def list_for_desk(
        self, filters: DeskFilter | None = None, limit: int = DESK_LIST_LIMIT
    ) -> list[DeskJob]:
        """Every principal's jobs matching `filters`, newest first, live ones as they stand.

        For the desktop window only: front doors list a caller's own jobs (`list_jobs`).
        """
        rows = await self._store.list_for_desk(filters or DeskFilter(), limit)
        return [self._as_live(row) for row in rows]

    def _as_live(self, row: DeskJob) -> DeskJob:
        # The store holds a running job's progress as of the last flush; memory has it now.
        live = self._live.get(row.view.id)
        if live is None:
            return row
        return dataclasses.replace(row, view=dataclasses.replace(live.view(), output=""))

    async def retry_origin(self, job_id: str) -> JobOrigin:
        """What a retry of a failed, canceled or interrupted job submits again (any
        principal's job: the desk's Retry, `jobs/retry.py`, is its only caller).

        Raises:
            NotFound: no such job.
            InvalidRequest: the job did not end in a retryable state (`not_retryable`), or its
                call cannot be rebuilt from what the store kept (`not_rebuildable`).
        """
        if job_id in self._live:
            raise InvalidRequest(
                f"job {job_id} has not finished; cancel it first", code=ErrorCode.NOT_RETRYABLE
            )
        origin = await self._store.origin(job_id)
        if origin is None:
            raise _not_found(job_id)
        if origin.state not in RETRYABLE:
            raise InvalidRequest(
                f"job {job_id} is {origin.state.value}; only failed, canceled or interrupted "
                "jobs can be retried",
                code=ErrorCode.NOT_RETRYABLE,
            )
        if REDACTED in json.dumps(origin.request):
            raise InvalidRequest(
                f"job {job_id}'s request held something that looked like a secret, which the "
                "job store keeps masked, so the call cannot be rebuilt; send it again from "
                "its client",
                code=ErrorCode.NOT_REBUILDABLE,
            )
        return origin

    @property
    def stuck_after_s(self) -> float:
        """How long a running job may be silent before it is marked stuck."""
        return self.limits.stuck_after_s

    def stuck_jobs(self) -> list[StuckJob]:
        """The running jobs of this process that are stuck now, the longest silent first."""
        now = time.time()
        stuck = [
            StuckJob(
                job.id,
                job.spec.provider,
                job.spec.principal,
                now - (job.last_activity_at or now),
                self.limits.stuck_after_s,
            )
            for job in self._live.values()
            if job.stuck
        ]
        return sorted(stuck, key=lambda s: -s.idle_s)

    def check_stuck(self) -> int:
        """Mark the running jobs silent past the limit stuck, and those that spoke again not;
        publish `JobStuckChanged` for each change. How many are stuck now."""
        now = time.time()
        for job in self._live.values():
            if job.state is not JobState.RUNNING or job.last_activity_at is None:
                continue
            stuck = now - job.last_activity_at >= self.limits.stuck_after_s
            if stuck != job.stuck:
                job.stuck = stuck
                job.touch()
                self._publish_stuck(job, now)
        return sum(1 for job in self._live.values() if job.stuck)

    def _publish_stuck(self, live: _LiveJob, now: float) -> None:
        idle = now - (live.last_activity_at or now)
        if live.stuck:
            log.warning(
                "job %s (%s) has had no output for %.0f s: marked stuck",
                live.id,
                live.spec.provider,
                idle,
            )
        self._events.publish(
            JobStuckChanged(
                live.id,
                live.spec.provider,
                live.spec.principal,
                live.stuck,
                idle,
                self.limits.stuck_after_s,
            )
        )

    def health(self) -> dict[str, Any]:
        """Counts of live jobs by state and provider, and the limits in force."""
        by_state: dict[str, int] = {}
        by_provider: dict[str, int] = {}
        for job in self._live.values():
            by_state[job.state.value] = by_state.get(job.state.value, 0) + 1
            by_provider[job.spec.provider] = by_provider.get(job.spec.provider, 0) + 1
        return {
            "live": len(self._live),
            "byState": by_state,
            "byProvider": by_provider,
            "stuck": sum(1 for job in self._live.values() if job.stuck),
            "limits": {
                "maxRunning": self.limits.max_running,
                "maxRunningPerProvider": self.limits.max_running_per_provider,
                "maxQueued": self.limits.max_queued,
                "principalSharePercent": self.limits.share.percent,
                "stuckAfterSeconds": self.limits.stuck_after_s,
            },
        }

    # -- background upkeep -------------------------------------------------------------------

    async def flush_now(self) -> None:
        """Write every running job's changed partial output in one batch."""
        rows = []
        for job in self._live.values():
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

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self.limits.flush_interval_s, self.limits.stuck_after_s / 2))
            self.check_stuck()
            try:
                await self._save_unsaved_ends()
                await self.flush_now()
            except Exception as exc:
                self._store.db.log_failure(log, "could not flush job progress", exc)
            self._fence_if_lease_lost()
            try:
                await self.take_remote_cancels()
            except Exception as exc:
                self._store.db.log_failure(
                    log, "could not read the cancels other gateway processes sent", exc
                )

    async def _fence_forever(self) -> None:
        """Fence the jobs of a lost tenure as soon as the renewal that found it lost is done,
        not at the next flush: a job whose work was held up (awaiting the store it was cut off
        from) must not start its CLI once the next renewal proves the new tenure."""
        assert self._leases is not None
        while True:
            await self._leases.renewed()
            self._fence_if_lease_lost()

    def _fence_if_lease_lost(self) -> None:
        """After this process lost its lease (a peer took it for dead and ended its jobs'
        rows), stop the jobs stored under the lost epoch: their rows say `interrupted` already,
        and a CLI that went on would do work nobody will be told of (the lifeline killed those
        running; this ends the rest, queued or about to start one)."""
        if self._leases is None or self._leases.losses == self._losses_seen:
            return
        self._losses_seen = self._leases.losses
        epoch = self._leases.epoch
        for live in list(self._live.values()):
            # One whose end is being written is left to finish: the store's answer settles it.
            finishing = live.finished_at is not None
            if live.task is not None and live.epoch < epoch and not live.fenced and not finishing:
                live.fenced = True
                log.warning("job %s: this process lost its lease; its CLI is stopped", live.id)
                live.task.cancel()

    async def take_remote_cancels(self) -> int:
        """Cancel the live jobs a cancel sent to another gateway process flagged, as a local
        cancel would (state `canceled`, process group killed); how many."""
        if self._leases is None or not self._live:
            return 0
        flagged = await self._store.cancel_requests(self._leases.process_id)
        taken = 0
        for job_id in flagged:
            live = self._live.get(job_id)
            if live is None or live.task is None or live.cancel_requested:
                continue
            log.info("job %s canceled through another gateway process", job_id)
            live.cancel_requested = True
            live.task.cancel()
            taken += 1
        return taken

    async def prune_now(self) -> int:
        cutoff = self._clock() - self.limits.retention_days * 86400
        removed = await self._store.prune(cutoff)
        self._recent.clear()
        if removed:
            log.info("pruned %d job(s) older than %g days", removed, self.limits.retention_days)
        return removed

    async def _prune_forever(self) -> None:
        while True:
            try:
                await self.prune_now()
            except Exception:
                log.exception("could not prune old jobs")
            await asyncio.sleep(PRUNE_EVERY_S)

    def _publish(self, live: _LiveJob) -> None:
        # The state every view shows: an end the store does not hold yet is not announced.
        state = live.before_end if live.pending else live.state
        self._events.publish(
            JobStateChanged(live.id, live.spec.provider, state.value, live.spec.principal)
        )


def _not_found(job_id: str) -> NotFound:
    return NotFound(f"no job {job_id!r}", job_id=job_id)


def _cancel_error(state: JobState) -> dict[str, Any]:
    if state is JobState.INTERRUPTED:
        return dict(INTERRUPTED_ERROR)
    return {"code": ErrorCode.CANCELED, "message": "the job was canceled", "retryable": False}
