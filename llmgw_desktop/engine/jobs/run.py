"""A job's run on this process: out of the queue, under its lease, through its work, to its end.

A queued job waits for its slots (`queue.py`), then starts only while this process can prove the
lease it was stored with (`fence.py`): one whose lease was lost first ends `interrupted` without
running, as the store has it. Once running it is marked so in the store without waiting (the
database thread keeps a job's writes in order), and its work runs with a `JobContext`. However
the work ends (a result, an engine error, a cancel, a stop, an adapter's crash), the job reaches
one ending word, which `endings.py` writes and tells.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from llmgw_desktop.engine.errors import EngineError, ErrorCode, disk_refusal
from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.jobs.endings import JobEndings
from llmgw_desktop.engine.jobs.fence import LeaseFence
from llmgw_desktop.engine.jobs.live import JobContext, LiveJob, failed_calls_said
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.jobs.queue import JobQueue
from llmgw_desktop.engine.jobs.store import INTERRUPTED_ERROR, JobStore
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = ["JobRuns"]

log = logging.getLogger(__name__)


class JobRuns:
    """Runs this process's jobs, each from the queue to its end."""

    def __init__(
        self,
        store: JobStore,
        *,
        tasks: TaskSupervisor,
        events: EventBus,
        queue: JobQueue,
        fence: LeaseFence,
        endings: JobEndings,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._tasks = tasks
        self._events = events
        self._queue = queue
        self._fence = fence
        self._endings = endings
        self._clock = clock
        # The gateway is stopping (set by the manager): a job cancelled now ends `interrupted`.
        self.stopping = False

    async def run(self, live: LiveJob) -> None:
        """Run `live` from its place in the queue to its end (its task's whole life)."""
        final_state = JobState.COMPLETED
        live.began = True
        try:
            if live.cancel_requested or live.fenced or self.stopping:
                raise asyncio.CancelledError  # stopped before this task's first turn
            async with self._queue.slots(live.spec.principal, live.spec.provider):
                if not await self._fence.lease_for(live):
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
                self._events.publish(live.state_changed())
                context = JobContext(
                    live,
                    lambda: self.cancel_state(live),
                    lambda pid, identity: self._save_process(live, pid, identity),
                )
                live.result = await live.spec.work(context)
                text = live.result.get("text")
                if isinstance(text, str):
                    live.output = text
        except asyncio.CancelledError:
            final_state = self.cancel_state(live)
            live.error = _stopped_with_failed_calls(
                _cancel_error(final_state, live.cancel_reason), live.progress
            )
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
            if live.started_at is None and not live.fenced and live.spec.unstarted is not None:
                # Left the queue without running (its caller cancelled it there, or the gateway
                # stopped): its work, which ends the call's row, never began. A fenced job's
                # row takes the store's ending instead (`JobEndings._settle`).
                live.spec.unstarted(final_state)
            await self._endings.finish(live, final_state)

    def _save_process(self, live: LiveJob, pid: int, identity: str | None) -> None:
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

    def cancel_state(self, live: LiveJob) -> JobState:
        """A cancel the caller asked for is `canceled`; any other while stopping (quit,
        SIGTERM) is `interrupted`."""
        if (self.stopping or live.fenced) and not live.cancel_requested:
            return JobState.INTERRUPTED
        return JobState.CANCELED


def _stopped_with_failed_calls(
    error: dict[str, Any], progress: Mapping[str, Any]
) -> dict[str, Any]:
    """A stopped job's error, saying the model calls of it that failed at the gateway (in its
    progress): the failures that may have been why it was cancelled are not lost with it."""
    count = progress.get("modelCallsFailed")
    if not isinstance(count, int) or count <= 0:
        return error
    said = failed_calls_said(count, str(progress.get("lastModelCallError", "")))
    details = {**error.get("details", {}), "modelCallsFailed": count}
    return error | {"message": f"{error['message']} ({said})", "details": details}


def _cancel_error(state: JobState, reason: str = "") -> dict[str, Any]:
    if state is JobState.INTERRUPTED:
        return dict(INTERRUPTED_ERROR)
    message = f"the job was canceled: {reason}" if reason else "the job was canceled"
    return {"code": ErrorCode.CANCELED, "message": message, "retryable": False}
