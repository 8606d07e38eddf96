"""A job's end: written to the store, and told to nobody before the store holds it.

On a shared store a peer that took this process for dead (it was cut off from the store, or
stalled past its lease) may have ended the row otherwise: `JobStore.finish` writes an end only
to a row still open under the job's lease epoch, and returns what the row keeps. Until the
store answers, the job reads as it was, with the end waiting in `progress.pendingEnd`; once it
has, what the store kept is the job's end in every view (status, result, the recorder row,
through `JobSpec.overruled`). An end the store cannot take now (it is unreachable) is kept in
memory and written again at every progress flush until it is stored. On an exclusive store
(SQLite) nobody else ends a row, and the end is readable at once.

The views of jobs that just finished are kept for a while: the caller was waiting, and asks at
once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import LiveJob, LiveJobs
from llmgw_desktop.engine.jobs.model import JobState, JobView, can_move
from llmgw_desktop.engine.jobs.store import INTERRUPTED_ERROR, JobStore
from llmgw_desktop.engine.jobs.stuck import StuckWatch

__all__ = ["MAX_UNSAVED_ENDS", "RECENT_FINISHED", "JobEndings"]

log = logging.getLogger(__name__)

# Jobs that just finished are asked about at once (the caller was waiting); keeping their final
# views spares a store round trip. Bounded, and emptied whenever old jobs are pruned.
RECENT_FINISHED = 512
# Job ends held in memory while the store cannot take them (each holds the job's output); past
# this the oldest is dropped, said with an ERROR. Below RECENT_FINISHED, so each one's view
# stays readable from memory meanwhile.
MAX_UNSAVED_ENDS = 256


class JobEndings:
    """Ends this process's jobs in the store, and keeps the views of those just ended."""

    def __init__(
        self,
        store: JobStore,
        *,
        live: LiveJobs,
        events: EventBus,
        stuck: StuckWatch,
        leases: JobLeases | None,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._live = live
        self._events = events
        self._stuck = stuck
        self._leases = leases
        self._clock = clock
        self._recent: OrderedDict[str, tuple[JobView, str]] = OrderedDict()
        # Job ends the store could not take (it was unreachable), oldest first, with the job
        # they end: tried again at every progress flush until stored.
        self._unsaved_ends: OrderedDict[str, tuple[LiveJob, Callable[[], Awaitable[JobView]]]] = (
            OrderedDict()
        )

    def recent(self, job_id: str) -> tuple[JobView, str] | None:
        """The final view of a job that ended here lately, with its owner principal."""
        return self._recent.get(job_id)

    def forget_recent(self) -> None:
        """Drop the views kept of jobs that ended lately (old jobs were pruned)."""
        self._recent.clear()

    @property
    def unsaved(self) -> int:
        """How many job ends wait for the store to take them."""
        return len(self._unsaved_ends)

    async def finish(self, live: LiveJob, state: JobState) -> None:
        """End `live` as `state`: write it, and tell it once the store holds it."""
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
                # (`save_unsaved`); meanwhile the job reads from memory (its end pending on a
                # shared store, where a peer may end the row otherwise).
                self._keep_unsaved_end(live, write, exc)
            else:
                log.exception("could not record the end of job %s", live.id)
                live.pending = False
        finally:
            live.dirty = False
            self._live.forget(live)
            if not live.pending:
                live.settled.set()
            live.done.set()
            live.touch()
            self._events.publish(live.state_changed())
            self._stuck.ended(live)

    def _settle(self, live: LiveJob, final: JobView) -> None:
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
        self, live: LiveJob, write: Callable[[], Awaitable[JobView]], exc: BaseException
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

    async def save_unsaved(self) -> None:
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
            self._events.publish(live.state_changed())
            if not self._unsaved_ends:
                log.warning("every job end that waited for the store is stored")
