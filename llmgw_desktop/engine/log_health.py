"""Whether this process's log file takes its lines, for `/health`.

The log is written by the shell (`shell/logging_setup.py`, on its own thread), which says when
the disk refuses a line and when one fits again (`note_log_refused`); the engine's health reads
it (`log_problem`). One process has one log, so this is a module's state, as the logging
module's own is.
"""

from __future__ import annotations

__all__ = ["log_problem", "note_log_refused"]

_problem: str | None = None


def note_log_refused(reason: str | None) -> None:
    """The log's disk refused a line (`reason`, said in `/health`), or (None) a line fits
    again."""
    global _problem
    _problem = reason


def log_problem() -> str | None:
    """Why the log takes no lines now; None while it does."""
    return _problem
