"""Retry with exponential backoff, and a circuit breaker per provider (the engine's one circuit,
`engine/circuit.py`, refusing while it is open).

Both sit on the job path: every provider call a job makes goes through `call_with_resilience`,
so a provider that keeps failing is given a rest (breaker open) instead of being hammered, and
a transient failure (rate limit, overload, a cut stream) is retried a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.circuit import Circuit, CircuitState
from llmgw_desktop.engine.errors import EngineError, ErrorCode, ProviderFailure, ProviderUnavailable

__all__ = [
    "CircuitBreaker",
    "RetryPolicy",
    "call_with_resilience",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Failures that say something about the provider's health (and so feed the breaker).
HEALTH_CODES = frozenset(
    {ErrorCode.RATE_LIMITED, ErrorCode.PROVIDER_ERROR, ErrorCode.TIMEOUT, ErrorCode.IDLE_TIMEOUT}
)


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries; the wait doubles from `base_delay_s`, capped, with jitter."""

    attempts: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        waits = Backoff(min(self.base_delay_s, self.max_delay_s), self.max_delay_s, jitter=0.2)
        if retry_after_s is not None:
            return waits.asked(retry_after_s)
        return waits.spread(waits.nth(attempt))


class CircuitBreaker:
    """A provider's CLI jobs behind the engine's one circuit (`engine/circuit.py`): it opens
    after `threshold` health failures in a row, refuses calls for `cooldown_s`, then lets one
    trial call through; a success closes it."""

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        cooldown_s: float = 60.0,
        on_change: Callable[[str, CircuitState, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._on_change = on_change
        self._clock = clock
        self._circuit = Circuit()
        self._rest = Backoff(cooldown_s, cooldown_s)  # the same rest each time it opens
        self._said = CircuitState.CLOSED  # the state last announced

    @property
    def state(self) -> CircuitState:
        """Closed, open or half open (a CLI's circuit never cools: a rate limit is one of its
        failures in a row, not a rest of its own)."""
        return self._circuit.state(self._clock())

    @property
    def consecutive_failures(self) -> int:
        return self._circuit.failures

    def retry_after_s(self) -> float:
        return max(0.0, self._circuit.until - self._clock())

    def before_call(self) -> bool:
        """Let a call through, or refuse it while the breaker is open (or its trial runs);
        whether the call let through is the half-open breaker's trial.

        Raises:
            ProviderUnavailable: code `circuit_open`, with `retry_after_s`.
        """
        circuit = self._circuit
        state = self.state
        if state is CircuitState.OPEN or (state is CircuitState.HALF_OPEN and circuit.trial):
            raise self._refusal()
        if state is CircuitState.HALF_OPEN:
            circuit.trial = True
            self._announce(state)
            return True
        return False

    def record_success(self) -> None:
        self._circuit.answered()
        self._announce(CircuitState.CLOSED)

    def record_failure(self, error: EngineError) -> None:
        circuit = self._circuit
        circuit.trial = False
        if error.code not in HEALTH_CODES:
            return  # a bad request or a cancel says nothing about the provider
        circuit.failed(str(error.code), self._clock(), self._rest, self.threshold)
        self._announce(self.state)

    def release_trial(self) -> None:
        """The trial call (`before_call` said so) ended without a verdict (cancelled, or
        failed by a bug): let the next one try."""
        self._circuit.trial = False

    def _refusal(self) -> ProviderUnavailable:
        wait = round(self.retry_after_s(), 1)
        return ProviderUnavailable(
            f"{self.name} failed {self.consecutive_failures} times in a row; the gateway is "
            f"giving it a rest (retry in {wait:g}s)",
            code=ErrorCode.CIRCUIT_OPEN,
            retryable=True,
            provider=self.name,
            retry_after_s=wait,
        )

    def _announce(self, state: CircuitState) -> None:
        """Say a change of state once (logged, and told `on_change`)."""
        if state is self._said:
            return
        log.warning("circuit breaker for %s: %s -> %s", self.name, self._said.value, state.value)
        self._said = state
        if self._on_change is not None:
            self._on_change(self.name, state, self.consecutive_failures)


async def call_with_resilience(
    call: Callable[[int], Awaitable[T]],
    *,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
    on_retry: Callable[[int, EngineError, float], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    may_retry: Callable[[EngineError], bool] | None = None,
) -> T:
    """Run `call(attempt)` through the breaker, retrying retryable failures with backoff
    (those `may_retry` allows, where given: a CLI attempt that spent its job's hold).

    Raises:
        EngineError: the last failure, or `circuit_open` when the breaker refuses.
    """
    attempt = 1
    while True:
        trial = breaker.before_call()
        try:
            result = await call(attempt)
        except EngineError as error:
            breaker.record_failure(error)
            if not error.retryable or attempt >= policy.attempts:
                raise
            if not isinstance(error, ProviderFailure):
                raise
            if may_retry is not None and not may_retry(error):
                raise
            delay = policy.delay(attempt, error.details.get("retry_after_s"))
            if on_retry is not None:
                on_retry(attempt, error, delay)
            log.info("retrying after %s (attempt %d, wait %.1fs)", error.code, attempt, delay)
            await sleep(delay)
            attempt += 1
            continue
        except BaseException:
            # No verdict (a cancel, a bug's exception): the next call may try, or every later
            # call is refused "retry in 0s" while the trial stays taken. Only the trial's own
            # call gives it back: another call's is still running.
            if trial:
                breaker.release_trial()
            raise
        breaker.record_success()
        return result
