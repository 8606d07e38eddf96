"""Job states, the transitions between them, and the identity used for dedup. Pure code."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.states import Ending

__all__ = ["FINISHED", "JobState", "JobView", "can_move", "dedup_key"]


class JobState(enum.StrEnum):
    """A job's state; its endings are the shared vocabulary of `engine/states.py`."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = Ending.COMPLETED.value
    FAILED = Ending.FAILED.value
    CANCELED = Ending.CANCELED.value
    # The gateway stopped (quit or crashed) while the job ran; its partial output is kept and
    # it is never silently re-run.
    INTERRUPTED = Ending.INTERRUPTED.value


FINISHED = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELED, JobState.INTERRUPTED})

_MOVES: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset(
        {JobState.RUNNING, JobState.CANCELED, JobState.FAILED, JobState.INTERRUPTED}
    ),
    JobState.RUNNING: frozenset(
        {JobState.COMPLETED, JobState.FAILED, JobState.CANCELED, JobState.INTERRUPTED}
    ),
}


def can_move(current: JobState, target: JobState) -> bool:
    """Whether a job in `current` may move to `target`; finished jobs never move again."""
    return target in _MOVES.get(current, frozenset())


def dedup_key(
    provider: str, canonical_args: dict[str, Any], working_dir: str, principal: str
) -> str:
    """The identity of a call for dedup: same provider, arguments, directory and caller."""
    material = json.dumps(
        {"provider": provider, "args": canonical_args, "cwd": working_dir, "who": principal},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True)
class JobView:
    """A job as callers see it: state, timing, progress, and the result or error when done."""

    id: str
    provider: str
    state: JobState
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None
    correlation_id: str | None = None
    session_id: str | None = None
    attempts: int = 0
    progress: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    # Only for jobs this gateway process runs: when the job last showed a sign of life (its
    # CLI printed, an attempt or retry began), and whether it has been silent past the limit.
    last_activity_at: float | None = None
    stuck: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def summary(self) -> dict[str, Any]:
        """Status without the (possibly large) output and result text."""
        data: dict[str, Any] = {
            "jobId": self.id,
            "provider": self.provider,
            "state": self.state.value,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "attempts": self.attempts,
            "progress": self.progress,
        }
        if self.correlation_id:
            data["correlationId"] = self.correlation_id
        if self.session_id:
            data["sessionId"] = self.session_id
        if self.error:
            data["error"] = self.error
        return data
