"""Stuck jobs: a running job that shows no sign of life for `JobLimits.stuck_after_s`.

A sign of life is output from its CLI, or an attempt or a retry beginning (`JobContext`). The
check runs at each progress flush; `stuck_jobs()` lists the stuck ones, `JobStuckChanged`
announces each change, and the job's view carries the flag and when it last did something. This
only reports: the CLI's own idle timeout (`providers.idle_timeout_ms`) is what stops it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from llmgw_desktop.engine.events import EventBus, JobStuckChanged
from llmgw_desktop.engine.jobs.live import LiveJob, LiveJobs
from llmgw_desktop.engine.jobs.model import JobState

__all__ = ["StuckJob", "StuckWatch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StuckJob:
    """A running job with no output for longer than the limit, as the desk shows it."""

    job_id: str
    provider: str
    principal: str
    idle_s: float
    limit_s: float


class StuckWatch:
    """Marks this process's silent running jobs stuck, and says so."""

    def __init__(self, live: LiveJobs, events: EventBus, stuck_after_s: float) -> None:
        self._live = live
        self._events = events
        self._limit_s = stuck_after_s

    @property
    def stuck_after_s(self) -> float:
        """How long a running job may be silent before it is marked stuck."""
        return self._limit_s

    def stuck_jobs(self) -> list[StuckJob]:
        """The running jobs of this process that are stuck now, the longest silent first."""
        now = time.time()
        stuck = [
            StuckJob(
                job.id,
                job.spec.provider,
                job.spec.principal,
                now - (job.last_activity_at or now),
                self._limit_s,
            )
            for job in self._live
            if job.stuck
        ]
        return sorted(stuck, key=lambda s: -s.idle_s)

    def check(self) -> int:
        """Mark the running jobs silent past the limit stuck, and those that spoke again not;
        publish `JobStuckChanged` for each change. How many are stuck now."""
        now = time.time()
        for job in self._live:
            if job.state is not JobState.RUNNING or job.last_activity_at is None:
                continue
            stuck = now - job.last_activity_at >= self._limit_s
            if stuck != job.stuck:
                job.stuck = stuck
                job.touch()
                self._publish(job, now)
        return sum(1 for job in self._live if job.stuck)

    def ended(self, live: LiveJob) -> None:
        """`live` ended: if it was stuck, it is no longer, and that is said."""
        if live.stuck:
            live.stuck = False
            self._publish(live, time.time())

    def _publish(self, live: LiveJob, now: float) -> None:
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
                self._limit_s,
            )
        )
