"""One vocabulary for how work ends, shared by jobs and flight-recorder rows. Pure code.

A job (`jobs/model.py`) and the recorder row of the call that made it describe the same
work, so they must never disagree: the words for an ending are defined here once, and both
state sets take them from here. A row has a few states a job never has (it was refused
before any job existed, or it joined another job), and one a job has under another name
(`started`, for a call whose job is queued or running).

Code run for every request names a member it compares with as a module global of its own
(`_FAILED = RecordState.FAILED`), not `RecordState.FAILED` at each use: on Python 3.11 a read
through an enum class passes `EnumType.__getattr__`'s hook (about a thousand instructions,
where a global is a few; 3.12 has no such hook). The value is the member itself, so every
comparison is the one it was.
"""

from __future__ import annotations

import enum

__all__ = ["ENDINGS", "Ending", "RecordState", "record_state_of"]


class Ending(enum.StrEnum):
    """How a piece of work that ran (or was about to) ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    # Someone asked for it to stop: the caller, or the person at the desk.
    CANCELED = "canceled"
    # The gateway stopped (quit, SIGTERM) or crashed while it ran; nothing is re-run.
    INTERRUPTED = "interrupted"


ENDINGS = frozenset(Ending)


class RecordState(enum.StrEnum):
    """A flight-recorder row's state."""

    STARTED = "started"
    COMPLETED = Ending.COMPLETED.value
    FAILED = Ending.FAILED.value
    CANCELED = Ending.CANCELED.value
    INTERRUPTED = Ending.INTERRUPTED.value
    # The approval gate said no: the call never ran.
    DENIED = "denied"
    # Refused before it ran (provider off, not installed, queue full, a bad request).
    REFUSED = "refused"
    # An identical call's job already existed; this row points at it.
    DEDUPED = "deduped"


def record_state_of(ending: str) -> RecordState:
    """The row state for a job's (or a request's) ending.

    Raises:
        ValueError: `ending` is not one of the endings.
    """
    return RecordState(Ending(ending).value)
