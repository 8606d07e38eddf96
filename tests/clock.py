"""A clock that moves only when a test says so: pass it where the code takes a `clock` (a
part's constructor, or a whole gateway's: `start_gateway(..., monotonic=clock)` for the rests
and cool-downs of its keys, hosts and targets, `clock=` for the time of day its rows and loans
are dated by), and let time pass with `advance` where a test would otherwise sleep for it."""

from __future__ import annotations

__all__ = ["Clock"]


class Clock:
    """Returns `now` when called; a test sets or advances `now` itself."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, at once."""
        self.now += seconds
