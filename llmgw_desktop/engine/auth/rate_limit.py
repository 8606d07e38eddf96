"""Token buckets, one per key, refilled continuously.

Used for per-principal rate limits (the local user is never limited: it is their machine;
every other principal gets `burst` requests at once and `per_minute` sustained) and for wrong
credentials (keyed by what was presented and by the client's address). A refused request
learns when to come back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]

MAX_TRACKED = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`check(principal)` is None when the request may go, else seconds to wait."""

    def __init__(
        self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def check(self, principal: str) -> float | None:
        """Take one request from the bucket: None when it may go, else seconds to wait."""
        return self._take(principal, consume=True)

    def waiting(self, principal: str) -> float | None:
        """Seconds until the bucket has a request again, without taking one (None: it has)."""
        return self._take(principal, consume=False)

    def _take(self, principal: str, *, consume: bool) -> float | None:
        if self.per_second <= 0:
            return None
        now = self._clock()
        bucket = self._buckets.get(principal)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._make_room(now)
            bucket = self._buckets[principal] = _Bucket(self.burst, now)
        # Not min(): `engine/values.py`.
        tokens = bucket.tokens + (now - bucket.updated) * self.per_second
        bucket.tokens = tokens if tokens < self.burst else self.burst
        bucket.updated = now
        if bucket.tokens >= 1.0:
            if consume:
                bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.per_second

    def _make_room(self, now: float) -> None:
        """Make room by forgetting the half of the buckets closest to full: those remember the
        least. The ones holding someone back survive, so a flood of fresh keys cannot wipe
        them; halving at once keeps the sort rare."""
        for bucket in self._buckets.values():
            bucket.tokens = min(
                self.burst, bucket.tokens + (now - bucket.updated) * self.per_second
            )
            bucket.updated = now
        by_fullness = sorted(self._buckets, key=lambda key: self._buckets[key].tokens)
        for key in by_fullness[MAX_TRACKED // 2 :]:
            del self._buckets[key]
