"""A clock that moves only when a test says so: pass it where the code takes a `clock`."""

from __future__ import annotations

__all__ = ["Clock"]


class Clock:
    """Returns `now` when called; a test sets or advances `now` itself."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
