"""CallHealth: a provider's health from the outcomes of its recent calls, on a fake clock."""

from __future__ import annotations

import time

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import EventBus, ProviderHealthChanged, RequestFinished
from llmgw_desktop.engine.gateway.desk.probe import KEY_CHECK_CALLER
from llmgw_desktop.engine.metrics.health import (
    FAILING_STREAK,
    HEALTH_WINDOW_S,
    MAX_SAMPLES,
    CallHealth,
    HealthState,
)
from llmgw_desktop.engine.metrics.live import WINDOWS, LiveMetrics
from tests.clock import Clock
from tests.waiting import until

START = 1_800_000_000.0


def _finish(
    bus: EventBus,
    clock: Clock,
    provider: str,
    state: str,
    *,
    code: str | None = None,
    took_s: float = 0.1,
    caller: str = "agent",
) -> None:
    bus.publish(
        RequestFinished(
            record_id="r",
            provider=provider,
            model="m",
            state=state,
            principal="local",
            caller=caller,
            started_at=clock.now - took_s,
            finished_at=clock.now,
            error_code=code,
        )
    )


def test_consecutive_failures_mark_a_provider_failing_and_name_the_last_error() -> None:
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for _ in range(20):
        _finish(bus, clock, "anthropic", "completed")
    assert health.of("anthropic").state == HealthState.OK
    for _ in range(FAILING_STREAK):
        clock.now += 1
        _finish(bus, clock, "anthropic", "failed", code="upstream_500")
    seen = health.of("anthropic")
    assert seen.state == HealthState.FAILING
    assert (seen.calls, seen.errors, seen.consecutive_failures) == (23, 3, 3)
    assert seen.last_error_code == "upstream_500" and seen.last_error_at == clock.now
    assert "3 calls failed in a row (upstream_500" in seen.describe()
    assert "3 of 23 calls failed in 15 min" in seen.describe()
    assert [h.provider for h in health.failing()] == ["anthropic"]
    # One success ends the streak; the rate (3 of 24) still says some calls fail.
    _finish(bus, clock, "anthropic", "completed")
    assert health.of("anthropic").state == HealthState.DEGRADED
    assert health.failing() == []


def test_a_streak_that_left_the_window_says_nothing_of_now() -> None:
    # Before: 3 calls failed during an outage, none since, and a week later the provider
    # still read "3 calls failed in a row" (failing) on the desk, `/health` and the tray.
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for _ in range(FAILING_STREAK):
        _finish(bus, clock, "anthropic", "failed", code="upstream_503")
    assert health.of("anthropic").state == HealthState.FAILING
    clock.now += HEALTH_WINDOW_S - 1
    assert health.of("anthropic").state == HealthState.FAILING  # within the window
    clock.now += 2
    seen = health.of("anthropic")
    assert (seen.state, seen.consecutive_failures, seen.describe()) == (HealthState.UNKNOWN, 0, "")
    assert health.failing() == []


def test_a_high_error_rate_is_failing_without_a_streak() -> None:
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for _ in range(5):
        _finish(bus, clock, "openai", "failed", code="upstream_502")
        _finish(bus, clock, "openai", "completed")
    seen = health.of("openai")
    assert seen.consecutive_failures == 0 and seen.error_rate == 0.5
    assert seen.state == HealthState.FAILING


def test_a_provider_whose_calls_succeed_again_is_not_failing_by_its_rate() -> None:
    """Nine failed calls, then successes: most calls in the window failed, but the provider
    answers now. It read "failing" (red, "Not working") until the rate fell under half, six
    successes later (person pass, 2026-11-29); three in a row end it, as three failures start
    it, and the rate still says some calls fail."""
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for _ in range(9):
        _finish(bus, clock, "openai", "failed", code="upstream_500")
    for answered in range(1, FAILING_STREAK + 1):
        _finish(bus, clock, "openai", "completed")
        seen = health.of("openai")
        expected = HealthState.DEGRADED if answered == FAILING_STREAK else HealthState.FAILING
        assert seen.state == expected, (answered, seen)
    assert "9 of 12 calls failed in 15 min" in seen.describe()
    for failures in range(1, FAILING_STREAK + 1):  # failing again as a new run makes it
        _finish(bus, clock, "openai", "failed", code="upstream_500")
        expected = HealthState.FAILING if failures == FAILING_STREAK else HealthState.DEGRADED
        assert health.of("openai").state == expected, failures


def test_a_provider_that_recovered_fails_again_only_as_a_new_run_of_failures_makes_it() -> None:
    """After recovering, one failure re-armed the failing rate of the window's old failures:
    three answers and a failure, over and over, read failing, some calls fail, failing ...,
    each turn to red a new message (review, 2026-11-29). The rate counts from the recovery."""
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for _ in range(9):
        _finish(bus, clock, "openai", "failed", code="upstream_500")
    states = []
    for _ in range(3):
        for failed in (False, False, False, True):
            clock.now += 1
            _finish(bus, clock, "openai", "failed" if failed else "completed")
            states.append(health.of("openai").state)
    assert states[2:] == [HealthState.DEGRADED] * 10, states
    # Half of the calls since, failing: failing again.
    for _ in range(2):
        _finish(bus, clock, "openai", "failed", code="upstream_500")
        _finish(bus, clock, "openai", "completed")
    assert health.of("openai").state == HealthState.FAILING


def test_a_request_the_provider_refused_as_its_own_fault_says_nothing_about_it() -> None:
    """A model name mistyped (the upstream's 404, `upstream_rejected`) or content its filter
    holds back: the provider answered as it should. Three such made a provider answering
    every other call read "failing" on every page (person pass, 2026-11-29)."""
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    _finish(bus, clock, "openai", "completed")
    for code in ("upstream_404", "content_filtered", "upstream_422"):  # as its calls end
        _finish(bus, clock, "openai", "failed", code=code)
    seen = health.of("openai")
    assert (seen.calls, seen.errors, seen.state) == (1, 0, HealthState.OK)
    for code in ("upstream_500", "upstream_522", "upstream_429"):  # beside them, its own
        _finish(bus, clock, "openai", "failed", code=code)
    assert health.of("openai").state == HealthState.FAILING


def test_calls_read_back_at_start_come_before_this_runs_own() -> None:
    """After a restart a provider that failed a minute before is failing still; this run's
    calls, heard while the rows were read, are the newer ones, and the runs of failures and of
    successes go on across the two."""
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    _finish(bus, clock, "openai", "failed", code="upstream_503")  # heard before the read ends
    past = [("openai", START - 60 + i, True, "upstream_500", 100.0) for i in range(2)]
    past.append(("anthropic", START - 30, False, None, 80.0))
    assert health.replay(past) == 3
    seen = health.of("openai")
    assert (seen.calls, seen.errors, seen.consecutive_failures) == (3, 3, 3)
    assert seen.state == HealthState.FAILING and seen.last_error_code == "upstream_503"
    assert health.of("anthropic").state == HealthState.OK
    clock.now += HEALTH_WINDOW_S - 55  # the calls read back leave the window first
    assert health.of("openai").calls == 1


def test_a_change_of_state_is_told_once_and_so_are_the_calls_read_back() -> None:
    """`ProviderHealthChanged` when a provider's state moves (the desk redraws on it), not for
    each call: a flood of answers, or of failures in a streak, tells nothing more. The calls
    read back at start tell theirs too (the tray had drawn "idle" before they were read)."""
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    told: list[tuple[str, str]] = []
    bus.subscribe(ProviderHealthChanged, lambda e: told.append((e.provider, e.state)))
    for _ in range(50):
        _finish(bus, clock, "openai", "completed")
    assert told == [("openai", HealthState.OK)]
    for _ in range(FAILING_STREAK + 20):
        clock.now += 1
        _finish(bus, clock, "openai", "failed", code="upstream_500")
    assert told[1:] == [("openai", HealthState.DEGRADED), ("openai", HealthState.FAILING)]
    past = [("anthropic", START - 60 + i, True, "upstream_500", 100.0) for i in range(3)]
    assert health.replay(past) == 3
    assert told[-1] == ("anthropic", HealthState.FAILING)
    assert len(told) == 4  # openai's state, read again, is the one told


def test_refusals_cancels_and_key_checks_say_nothing_about_the_provider() -> None:
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    _finish(bus, clock, "openai", "refused", code="budget_exceeded")
    _finish(bus, clock, "openai", "denied", code="approval_denied")
    _finish(bus, clock, "openai", "canceled", code="canceled")
    _finish(bus, clock, "openai", "failed", code="budget_exceeded")  # waited in the queue
    _finish(bus, clock, "openai", "failed", code="upstream_401", caller=KEY_CHECK_CALLER)
    seen = health.of("openai")
    assert (seen.calls, seen.errors, seen.state) == (0, 0, HealthState.UNKNOWN)
    assert seen.describe() == ""


def test_latency_percentiles_and_the_window() -> None:
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for ms in range(1, 101):  # 1 ms .. 100 ms
        _finish(bus, clock, "google", "completed", took_s=ms / 1000)
    seen = health.of("google")
    assert round(seen.p50_ms or 0) == 50 and round(seen.p95_ms or 0) == 95
    clock.now += HEALTH_WINDOW_S + 1
    later = health.of("google")
    assert later.calls == 0 and later.p50_ms is None and later.state == HealthState.UNKNOWN


def test_memory_is_bounded_per_provider() -> None:
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    for _ in range(MAX_SAMPLES * 3):
        _finish(bus, clock, "xai", "failed", code="upstream_500")
    seen = health.of("xai")
    assert seen.calls == MAX_SAMPLES and seen.consecutive_failures == MAX_SAMPLES * 3


def test_an_answer_from_the_response_cache_is_not_a_call_to_the_provider() -> None:
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    _finish(bus, clock, "openai", "completed", took_s=0.4)
    hit = RequestFinished("r", "openai", "m", "completed", "local", "agent", 0.0, 0.001)
    bus.publish(hit._replace(from_cache=True))
    seen = health.of("openai")
    assert seen.calls == 1 and seen.p50_ms is not None and seen.p50_ms > 399


async def test_a_restart_reads_each_providers_recent_calls_back(loaded: LoadedSettings) -> None:
    """Three calls to Claude Code failed, then the gateway restarted: the rebuilt charts said
    "32 recent failures" beside `/health`'s "unknown" (person pass, 2026-11-29). The health
    is read back from the same rows, so every page says failing."""
    first = Engine(loaded.settings)
    await first.start()
    for _ in range(FAILING_STREAK):
        record = first.recorder.start(principal="local", provider="claude", caller="agent")
        first.recorder.finish(record, state="failed", error_code="provider_error")
    await first.stop()
    second = Engine(loaded.settings)
    await second.start()
    try:
        seen = await until(
            lambda: second.provider_health.of("claude").state == HealthState.FAILING or None,
            "the calls read back",
        )
        assert seen
        health = second.provider_health.of("claude")
        assert (health.calls, health.consecutive_failures) == (3, 3)
        assert health.last_error_code == "provider_error"
    finally:
        await second.stop()


def test_failing_by_the_calls_since_it_last_answered_says_that_count() -> None:
    """Twenty answers, a failure, three answers, then two failures to each answer: failing by
    the calls since it last answered three in a row (4 of 6), while the window's count (5 of
    30) reads as a few failures: the words name the count that decided it, so a red
    "Failing" never stands over "5 of 30 calls failed in 15 min" alone."""
    bus, clock = EventBus(), Clock(START)
    health = CallHealth(bus, clock=clock)
    outcomes = [False] * 20 + [True] + [False] * 3 + [True, True, False] * 2
    for failed in outcomes:
        _finish(bus, clock, "openai", "failed" if failed else "completed", code="upstream_500")
    seen = health.of("openai")
    assert (seen.state, seen.calls, seen.errors, seen.consecutive_failures) == (
        HealthState.FAILING,
        30,
        5,
        0,
    )
    assert seen.describe() == (
        f"4 of 6 calls failed since it last answered {FAILING_STREAK} in a row;"
        " 5 of 30 calls failed in 15 min"
    )
    # Where the window's count says it as well (half of it failed), it alone is said.
    for failed in [True, True, False] * 20:
        _finish(bus, clock, "openai", "failed" if failed else "completed", code="upstream_500")
    seen = health.of("openai")
    assert seen.state == HealthState.FAILING
    assert seen.describe() == "45 of 90 calls failed in 15 min"


def test_a_call_leaves_the_window_when_it_leaves_the_live_figures() -> None:
    """The health table's "Calls 15 min" (the live figures, counted in 5 s buckets) and its
    status's count (this window) count the same calls, so they must leave both at the same
    moment: the window slid on the second and kept a call up to 5 s longer than the figures
    beside it."""
    bus, clock = EventBus(), Clock(START + 2.5)  # inside a bucket, not at its start
    health = CallHealth(bus, clock=clock)
    live = LiveMetrics(bus, clock=clock)
    for step, failed in enumerate((True, False, False, True, False)):
        clock.now = START + 2.5 + step * 1.5
        _finish(bus, clock, "openai", "failed" if failed else "completed", code="upstream_500")
    seen_leaving = False
    for tenths in range(HEALTH_WINDOW_S * 10 - 20, HEALTH_WINDOW_S * 10 + 200, 5):
        clock.now = START + tenths / 10
        totals = live.series(WINDOWS[0].key).by_provider.get("openai")
        shown = (totals.asked, totals.errors) if totals else (0, 0)
        seen = health.of("openai")
        assert (seen.calls, seen.errors) == shown, (clock.now - START, shown, seen)
        seen_leaving |= 0 < shown[0] < 5
    assert seen_leaving  # the calls left one by one, inside the span read
    assert WINDOWS[0].span_s == HEALTH_WINDOW_S


async def test_a_restart_reads_back_the_providers_own_outcome_and_when_its_streak_began(
    loaded: LoadedSettings,
) -> None:
    """A row the client saw end as `all_routes_failed` (the request's own code) is read back
    with its attempt's outcome, `upstream_500`: the reason changed to the request's code after
    a restart (person pass). The streak's first failure is dated before the restart, so it is
    no news after it (the tray's message)."""
    first = Engine(loaded.settings)
    await first.start()
    for _ in range(FAILING_STREAK):
        record = first.recorder.start(principal="local", provider="openai", caller="agent")
        attempt = {"target": "openai/gpt-4o", "key": "env:OPENAI_API_KEY", "outcome": "500"}
        first.recorder.finish(
            record, state="failed", error_code="upstream_500", route={"attempts": [attempt]}
        )
        first.recorder.update(record, error_code="all_routes_failed", http_status=502)
    await first.stop()
    restarted_at = time.time()
    second = Engine(loaded.settings)
    await second.start()
    try:
        await until(
            lambda: second.provider_health.of("openai").state == HealthState.FAILING or None,
            "the calls read back",
        )
        health = second.provider_health.of("openai")
        assert health.last_error_code == "upstream_500"
        assert health.streak_since is not None and health.streak_since < restarted_at
        assert "(upstream_500, last at" in health.describe()
    finally:
        await second.stop()
