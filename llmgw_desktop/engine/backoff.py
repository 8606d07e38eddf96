"""How long to wait before trying again something that failed: one typed value for every rest.

A rest starts at `first_s` and each failure after one multiplies it by `factor`, up to
`longest_s`; a wait the other side asked for (`Retry-After`) is kept within the same bounds.
The value is pure (no clock, no state): what rests (a target cooling down, a host no connection
could be made to, a key rate limited, a writer whose store refused) keeps its own current wait
and asks this for the next one, so the rule is written once.

Why not tenacity's `wait_exponential`: its waits are functions of one retry loop's state
(`RetryCallState`: this call's attempt number, its start), while these rests outlive any call
and are shared by the requests that meet them; the arithmetic is the few lines below.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Waits that grow from `first_s` by `factor` up to `longest_s`, each spread by
    ± `jitter` (a fraction) so that many waiters do not all come back at once."""

    first_s: float
    longest_s: float
    factor: float = 2.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        """Raises:
        ValueError: a bound is negative, the first wait is longer than the longest, the
            factor below 1 or the jitter outside [0, 1).
        """
        if not 0 <= self.first_s <= self.longest_s:
            raise ValueError(f"backoff: need 0 <= first_s <= longest_s, got {self}")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError(f"backoff: need factor >= 1 and 0 <= jitter < 1, got {self}")

    def after(self, previous_s: float) -> float:
        """The wait after one of `previous_s` (0 or less: the first), before jitter."""
        if previous_s <= 0:
            return self.first_s
        return min(self.longest_s, max(self.first_s, previous_s * self.factor))

    def nth(self, failures: int) -> float:
        """The wait after `failures` failures in a row (1: the first), before jitter."""
        wait = 0.0
        for _ in range(max(1, failures)):
            wait = self.after(wait)
            if wait >= self.longest_s:
                break
        return wait

    def asked(self, retry_after_s: float | None) -> float:
        """A wait the other side asked for, within the bounds (None: the first)."""
        if retry_after_s is None:
            return self.first_s
        return min(self.longest_s, max(0.0, retry_after_s))

    def spread(self, wait_s: float) -> float:
        """`wait_s` with its jitter applied."""
        if not self.jitter:
            return wait_s
        return wait_s * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311
