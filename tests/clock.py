"""A clock that moves only when a test says so: pass it where the code takes a `clock`, or have
a running part keep its rests by it (`drive`), and let time pass with `advance` where a test
would otherwise sleep for it."""

from __future__ import annotations

from typing import Any

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

    def drive(self, *parts: Any) -> Clock:
        """Have running `parts` that took a `clock` (kept as `_clock`: the balancer, the
        unreachable hosts, the key chain) read this one from now on, before they have rested
        anything (a rest begun on another clock would end at its time); this clock."""
        for part in parts:
            assert hasattr(part, "_clock"), f"{type(part).__name__} takes no clock"
            part._clock = self
        return self
