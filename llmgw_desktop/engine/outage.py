"""One stretch of failures of one thing, so it is said twice: when it starts, when it ends.

A store outage or an absent OpenTelemetry collector fails the same write every few hundred
milliseconds, each time in slightly different words (a reset, then a refusal, then a timeout).
Logging each new wording logged 40 "store degraded" lines for one 30 s partition, and the
exporters 323 lines in 10 minutes. An `Outage` counts instead: `failed` says whether this
failure begins one (log it then), `recovered` gives how many failures there were and for how
long (log that once). Thread-safe: the OpenTelemetry exporters fail on threads of their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Outage", "OutageEnd"]


@dataclass(frozen=True)
class OutageEnd:
    """How an outage went: its failures, how long it lasted, and its last reason."""

    failures: int
    seconds: float
    last_reason: str

    def describe(self) -> str:
        """`after 40 failure(s) over 30.2 s`."""
        return f"after {self.failures} failure(s) over {self.seconds:.1f} s"


class Outage:
    """Whether one thing is failing now, since when, how often, and why last."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0
        self.reason = ""

    @property
    def active(self) -> bool:
        return self._since is not None

    @property
    def failures(self) -> int:
        """Failures so far in the outage under way (0 when there is none)."""
        return self._failures

    def failed(self, reason: str) -> bool:
        """Count a failure; True when it begins an outage (the one to say)."""
        with self._lock:
            self.reason = reason
            self._failures += 1
            if self._since is not None:
                return False
            self._since = self._clock()
            return True

    def recovered(self) -> OutageEnd | None:
        """End the outage under way: what it was, or None when there was none."""
        with self._lock:
            if self._since is None:
                return None
            end = OutageEnd(self._failures, self._clock() - self._since, self.reason)
            self._since, self._failures = None, 0
            return end
