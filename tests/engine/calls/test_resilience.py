from __future__ import annotations

import asyncio

import pytest

from llmgw_desktop.engine.calls.resilience import (
    CircuitBreaker,
    RetryPolicy,
    call_with_resilience,
)
from llmgw_desktop.engine.circuit import CircuitState
from llmgw_desktop.engine.errors import EngineError, InvalidRequest, ProviderFailure
from tests.clock import Clock


async def no_sleep(_: float) -> None:
    return None


def overloaded() -> ProviderFailure:
    return ProviderFailure("overloaded", code="provider_error", retryable=True)


async def _an_answer_closes(breaker: CircuitBreaker) -> None:
    """A call through `breaker` that answers: it goes through, and the breaker closes."""

    async def ok(attempt: int) -> str:
        return "fine"

    assert (
        await call_with_resilience(ok, breaker=breaker, policy=RetryPolicy(), sleep=no_sleep)
        == "fine"
    )
    assert breaker.state is CircuitState.CLOSED


async def test_transient_failures_are_retried_then_succeed() -> None:
    attempts: list[int] = []

    async def call(attempt: int) -> str:
        attempts.append(attempt)
        if attempt < 3:
            raise overloaded()
        return "ok"

    breaker = CircuitBreaker("claude")
    result = await call_with_resilience(
        call, breaker=breaker, policy=RetryPolicy(attempts=3), sleep=no_sleep
    )
    assert result == "ok" and attempts == [1, 2, 3]
    assert breaker.state is CircuitState.CLOSED and breaker.consecutive_failures == 0


async def test_retry_after_from_the_provider_sets_the_wait() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def call(attempt: int) -> str:
        if attempt == 1:
            raise ProviderFailure("slow down", code="rate_limited", retryable=True, retry_after_s=7)
        return "ok"

    await call_with_resilience(call, breaker=CircuitBreaker("x"), policy=RetryPolicy(), sleep=sleep)
    assert waits == [7]


async def test_a_failure_the_caller_will_not_retry_is_raised_at_once() -> None:
    seen: list[EngineError] = []

    def may_retry(error: EngineError) -> bool:
        seen.append(error)
        return False

    async def call(attempt: int) -> str:
        raise overloaded()

    with pytest.raises(ProviderFailure, match="overloaded"):
        await call_with_resilience(
            call,
            breaker=CircuitBreaker("x"),
            policy=RetryPolicy(attempts=3),
            sleep=no_sleep,
            may_retry=may_retry,
        )
    assert len(seen) == 1


async def test_non_retryable_failure_is_raised_at_once() -> None:
    calls = 0

    async def call(attempt: int) -> str:
        nonlocal calls
        calls += 1
        raise ProviderFailure("log in first", code="auth_required")

    with pytest.raises(ProviderFailure, match="log in"):
        await call_with_resilience(
            call, breaker=CircuitBreaker("x"), policy=RetryPolicy(), sleep=no_sleep
        )
    assert calls == 1


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=1, max_delay_s=5)
    delays = [policy.delay(n) for n in (1, 2, 3, 4, 5)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and 3.2 <= delays[2] <= 4.8
    assert all(d <= 6.0 for d in delays[3:])


async def test_breaker_opens_after_threshold_and_refuses_without_calling() -> None:
    clock = Clock(100.0)
    changes: list[CircuitState] = []
    breaker = CircuitBreaker(
        "codex",
        threshold=2,
        cooldown_s=30,
        clock=clock,
        on_change=lambda n, s, c: changes.append(s),
    )
    calls = 0

    async def failing(attempt: int) -> str:
        nonlocal calls
        calls += 1
        raise overloaded()

    policy = RetryPolicy(attempts=1)
    for _ in range(2):
        with pytest.raises(ProviderFailure):
            await call_with_resilience(failing, breaker=breaker, policy=policy, sleep=no_sleep)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(EngineError) as caught:
        await call_with_resilience(failing, breaker=breaker, policy=policy, sleep=no_sleep)
    assert caught.value.code == "circuit_open"
    assert caught.value.details["retry_after_s"] == 30
    assert calls == 2
    assert changes == [CircuitState.OPEN]


async def test_breaker_half_opens_after_cooldown_and_closes_on_success() -> None:
    clock = Clock(100.0)
    breaker = CircuitBreaker("gemini", threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure(overloaded())
    assert breaker.state is CircuitState.OPEN
    clock.now += 11

    await _an_answer_closes(breaker)


async def test_half_open_allows_one_trial_and_a_failure_reopens() -> None:
    clock = Clock(100.0)
    breaker = CircuitBreaker("grok", threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure(overloaded())
    clock.now += 11
    breaker.before_call()  # the trial
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(EngineError, match="rest"):
        breaker.before_call()  # a second caller during the trial waits
    breaker.record_failure(overloaded())
    assert breaker.state is CircuitState.OPEN


async def test_bad_requests_and_cancels_do_not_trip_the_breaker() -> None:
    breaker = CircuitBreaker("claude", threshold=1)
    breaker.record_failure(InvalidRequest("bad"))
    breaker.record_failure(ProviderFailure("stopped", code="canceled"))
    assert breaker.state is CircuitState.CLOSED

    async def hang(attempt: int) -> str:
        await asyncio.Event().wait()
        return ""

    task = asyncio.get_running_loop().create_task(
        call_with_resilience(hang, breaker=breaker, policy=RetryPolicy(), sleep=no_sleep)
    )
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is CircuitState.CLOSED


async def test_a_trial_that_fails_by_a_bug_lets_the_next_call_try() -> None:
    # Before: a half-open trial that raised anything but an engine error (an OSError from
    # the CLI's start, a parser's bug) kept the trial taken, and every later call was
    # refused "retry in 0s" until a restart.
    clock = Clock(100.0)
    breaker = CircuitBreaker("claude", threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure(overloaded())
    clock.now += 11

    async def argument_list_too_long(attempt: int) -> str:
        raise OSError(7, "Argument list too long")

    with pytest.raises(OSError):
        await call_with_resilience(
            argument_list_too_long, breaker=breaker, policy=RetryPolicy(), sleep=no_sleep
        )

    await _an_answer_closes(breaker)


async def test_a_call_that_was_not_the_trial_does_not_give_the_trial_back() -> None:
    clock = Clock(100.0)
    breaker = CircuitBreaker("claude", threshold=1, cooldown_s=10, clock=clock)
    go = asyncio.Event()

    async def fails_by_a_bug_later(attempt: int) -> str:
        await go.wait()
        raise OSError(7, "Argument list too long")

    started_closed = asyncio.ensure_future(
        call_with_resilience(
            fails_by_a_bug_later, breaker=breaker, policy=RetryPolicy(), sleep=no_sleep
        )
    )
    await asyncio.sleep(0)
    breaker.record_failure(overloaded())  # another call's failure opens it
    clock.now += 11
    assert breaker.before_call()  # the trial, still running
    go.set()
    with pytest.raises(OSError):
        await started_closed
    with pytest.raises(EngineError, match="rest"):
        breaker.before_call()  # the trial is still the running one's
