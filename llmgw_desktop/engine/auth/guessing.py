"""Throttling secret guessing: the consent password, client secrets, the registration secret.

Wrong secrets are counted across requests under three keys, each a bucket that refills:
the (client, address) pair, the address across clients, and the client across addresses. The
address and client buckets hold `SPREAD` times what a pair holds, so one attacker on one
address can never empty the bucket of another address or another client: a right secret from
a different client or a different address still gets checked. Only an attacker spread over
several addresses can empty a client's bucket, and even then an address that has presented
that client's right secret before keeps its way in.

Each check reserves a failure before the secret is looked at (so concurrent guesses cannot
all slip past the count) and gives it back when the secret was right. The slow password hash
runs off the event loop, a few at once, with a short line per address (`SlowCheck`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["GuessGuard", "GuessLimits", "SlowCheck"]

# The address and client buckets hold this many times a pair's, so that one pair's failures
# alone never refuse anyone else.
SPREAD = 4
MAX_KEYS = 10_000  # buckets and remembered (client, address) successes, oldest dropped first
# scrypt takes ~50 ms and 16 MiB: two at once keep memory bounded and the loop's threads free.
HASH_CONCURRENCY = 2
HASH_LINE = 16  # checks waiting for a slot; beyond that a check is refused as busy
HASH_LINE_PER_ADDRESS = 2  # so that one address cannot fill the line


@dataclass(frozen=True)
class GuessLimits:
    """How many wrong secrets a (client, address) pair may present, and how fast that comes
    back; addresses and clients get `SPREAD` times as much."""

    burst: int = 5
    per_minute: float = 2.0


class _Buckets:
    """Failure allowances per key: `burst` at once, refilled at `per_minute`."""

    def __init__(self, burst: float, per_minute: float, clock: Callable[[], float]) -> None:
        self.burst = burst
        self.per_second = per_minute / 60.0
        self._clock = clock
        self._left: dict[str, tuple[float, float]] = {}  # key -> (allowance, as of)

    def _now_left(self, key: str) -> float:
        left, since = self._left.get(key, (self.burst, 0.0))
        return min(self.burst, left + (self._clock() - since) * self.per_second)

    def wait(self, key: str) -> float | None:
        """Seconds until one more failure is allowed; None when it is now."""
        left = self._now_left(key)
        if left >= 1.0:
            return None
        if self.per_second <= 0:
            return 3600.0
        return (1.0 - left) / self.per_second

    def add(self, key: str, delta: float) -> None:
        left = max(0.0, min(self.burst, self._now_left(key) + delta))
        self._left.pop(key, None)  # re-inserted last: the dict's order is least recently used
        if left >= self.burst:
            return  # a full bucket is the default: nothing to remember
        self._left[key] = (left, self._clock())
        while len(self._left) > MAX_KEYS:
            del self._left[next(iter(self._left))]


class GuessGuard:
    """Decides, before a secret is checked, whether this client at this address may try."""

    def __init__(self, limits: GuessLimits, *, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        burst, rate = float(limits.burst), float(limits.per_minute)
        self._pairs = _Buckets(burst, rate, clock)
        self._addresses = _Buckets(burst * SPREAD, rate * SPREAD, clock)
        self._clients = _Buckets(burst * SPREAD, rate * SPREAD, clock)
        self._known: dict[str, None] = {}  # "client|address" that presented the right secret

    def begin(self, client: str, address: str) -> float | None:
        """Reserve one failure for a check: None when the check may run, else the seconds to
        wait (and nothing is reserved)."""
        pair = f"{client}|{address}"
        waits = [self._pairs.wait(pair), self._addresses.wait(address)]
        if pair not in self._known:
            waits.append(self._clients.wait(client))
        refused = [w for w in waits if w is not None]
        if refused:
            return max(refused)
        self._pairs.add(pair, -1)
        self._addresses.add(address, -1)
        self._clients.add(client, -1)
        return None

    def succeeded(self, client: str, address: str) -> None:
        """The secret was right: give the reservation back and remember the pair."""
        pair = f"{client}|{address}"
        self._pairs.add(pair, +1)
        self._addresses.add(address, +1)
        self._clients.add(client, +1)
        self._known.pop(pair, None)
        self._known[pair] = None
        while len(self._known) > MAX_KEYS:
            del self._known[next(iter(self._known))]


class SlowCheck:
    """Runs a slow, blocking check (the scrypt password hash) in a worker thread: a few at
    once, with a short line that no single address can fill."""

    def __init__(
        self,
        *,
        concurrency: int = HASH_CONCURRENCY,
        line: int = HASH_LINE,
        per_address: int = HASH_LINE_PER_ADDRESS,
    ) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._capacity = concurrency + line
        self._per_address = per_address
        self._inside: dict[str, int] = {}

    def admits(self, address: str) -> bool:
        """Whether a check for `address` would get a place now (else: busy, try again)."""
        return (
            sum(self._inside.values()) < self._capacity
            and self._inside.get(address, 0) < self._per_address
        )

    async def run(self, address: str, check: Callable[[], bool]) -> bool:
        """Run `check` off the event loop once a slot is free; call after `admits` said yes.

        The slot is held until the thread finishes, even if the caller goes away, so the
        number of hashes running never exceeds the bound.
        """
        self._inside[address] = self._inside.get(address, 0) + 1
        try:
            await self._slots.acquire()
        except BaseException:
            self._leave(address)
            raise

        def done(_: object) -> None:
            self._slots.release()
            self._leave(address)

        try:
            future = asyncio.get_running_loop().run_in_executor(None, check)
        except BaseException:
            done(None)
            raise
        future.add_done_callback(done)
        return bool(await asyncio.shield(future))

    def _leave(self, address: str) -> None:
        left = self._inside.get(address, 1) - 1
        if left > 0:
            self._inside[address] = left
        else:
            self._inside.pop(address, None)
