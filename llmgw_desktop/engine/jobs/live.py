"""A job as the gateway process running it holds it, from its submission to its end.

A submitted call is a `JobSpec`; while it is queued or running this process keeps it in memory
as a `LiveJob` (its state, partial output, progress and task), listed in `LiveJobs` by id and by
call identity, so an identical call attaches to it. Its work sees only a `JobContext`: where it
reports output and progress, and how a cancel ends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.events import JobStateChanged
from llmgw_desktop.engine.jobs.model import JobState, JobView

__all__ = [
    "JobContext",
    "JobSpec",
    "LiveJob",
    "LiveJobs",
    "Submitted",
    "Work",
    "failed_calls_said",
]


def failed_calls_said(count: int, last: str) -> str:
    """`2 model calls of this job failed at the gateway; the last: upstream_500: ...`: what a
    job's error adds when its agent's model calls failed at the gateway (`last`: the last
    one's code and message)."""
    calls = "1 model call" if count == 1 else f"{count} model calls"
    return f"{calls} of this job failed at the gateway; the last: {last}"


class JobContext:
    """Handed to a job's work: where it reports partial output and progress."""

    def __init__(
        self,
        live: LiveJob,
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

    def note_progress(self, **fields: Any) -> None:
        """Say more of the job's progress without counting it as the CLI's activity (a
        model call of its failing at the gateway: a job that only fails is still quiet)."""
        self._live.progress.update(fields)
        self._live.touch()

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
    # Told the job's ending when it ends before its work began (cancelled or stopped while it
    # waited in the queue): the work ends its call's recorder row, so nothing else would.
    unstarted: Callable[[JobState], None] | None = None


@dataclass(frozen=True)
class Submitted:
    job_id: str
    attached: bool  # True when an identical earlier call's job was reused
    # The flight-recorder row of the call that submitted it (set by the call layer).
    record_id: str = ""


@dataclass
class LiveJob:
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
    # Why it was cancelled when no caller asked for it by its id, said in its error.
    cancel_reason: str = ""
    # Callers waiting for its answer that were never told its id (`JobManager.wait_for_answer`):
    # it runs for them, and stops when the last leaves before the answer, unless `kept`.
    waiters: int = 0
    # Its id went to a caller that may come back for it (an async start, a deferred answer):
    # a waiter that leaves no longer stops it.
    kept: bool = False
    # Its task has had its first turn (`JobRuns.run` began): before that, cancelling the task
    # would stop it before the `finally` that ends the job.
    began: bool = False
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

    def cancel_task(self) -> None:
        """Cancel its task once it has begun. Before its first turn a cancelled task stops
        before the `finally` that ends the job, so the job would stay open for good: it sees
        why it was stopped (`cancel_requested`, `fenced`, the gateway stopping) as it begins
        instead (`JobRuns.run`)."""
        if self.began and self.task is not None:
            self.task.cancel()

    def take_peer_cancel(self) -> bool:
        """Stop it as a local cancel would, for a cancel another gateway process flagged in its
        row; False when there was nothing to take (a cancel asked for already, or no task)."""
        if self.task is None or self.cancel_requested:
            return False
        self.cancel_requested = True
        self.cancel_task()
        return True

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

    def state_changed(self) -> JobStateChanged:
        """The event announcing the state every view shows: an end the store does not hold
        yet is not announced."""
        state = self.before_end if self.pending else self.state
        return JobStateChanged(self.id, self.spec.provider, state.value, self.spec.principal)


class LiveJobs:
    """The jobs this process holds in memory (queued, running, or their end being written), by
    id and by call identity."""

    def __init__(self) -> None:
        self._by_id: dict[str, LiveJob] = {}
        self._by_key: dict[str, LiveJob] = {}

    def add(self, live: LiveJob) -> None:
        self._by_id[live.id] = live
        if live.key is not None:
            self._by_key[live.key] = live

    def forget(self, live: LiveJob) -> None:
        self._by_id.pop(live.id, None)
        if live.key is not None and self._by_key.get(live.key) is live:
            del self._by_key[live.key]

    def get(self, job_id: str) -> LiveJob | None:
        return self._by_id.get(job_id)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._by_id

    def __iter__(self) -> Iterator[LiveJob]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    async def with_key(self, key: str) -> str | None:
        """The id of the unfinished job of this identity that a new call attaches to, if any:
        not one whose cancel was asked for. It is on its way to `canceled` (its CLI's process
        tree being stopped), and an identical call sent meanwhile is the caller asking again
        (Esc, then the same question), who wants an answer, not that job's cancel."""
        live = self._by_key.get(key)
        if live is None or live.cancel_requested:
            return None
        if live.state not in (JobState.QUEUED, JobState.RUNNING):
            return None
        # Its row may still be on its way to the store, which can find that another gateway
        # took the same call first: then that gateway's job is the one to attach to.
        await live.stored.wait()
        if live.same_as is not None:
            return live.same_as
        # Its caller may have been cancelled while the row was written (`JobManager._written`).
        return None if live.cancel_requested else live.id
