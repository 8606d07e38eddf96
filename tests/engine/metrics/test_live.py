"""LiveMetrics: requests and jobs counted into per-window time buckets, on a fake clock."""

from __future__ import annotations

import math
import tracemalloc

import pytest

from llmgw_desktop.engine.events import (
    AttemptFailedOver,
    EventBus,
    JobStateChanged,
    RequestFinished,
)
from llmgw_desktop.engine.metrics.live import (
    MAX_PROVIDERS,
    OTHER_PROVIDER,
    WINDOWS,
    LiveMetrics,
    PastTraffic,
)
from tests.clock import Clock

START = 1_800_000_000.0  # a multiple of every bucket size, so bucket edges are easy to place


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def metrics(bus: EventBus, clock: Clock) -> LiveMetrics:
    return LiveMetrics(bus, clock=clock)


def finished(
    provider: str = "anthropic",
    *,
    model: str | None = "claude-sonnet-4-6",
    input_tokens: int = 0,
    output_tokens: int = 0,
    read: int = 0,
    write: int = 0,
    cost: float | None = None,
) -> RequestFinished:
    return RequestFinished(
        record_id="r",
        provider=provider,
        model=model,
        state="completed",
        principal="local",
        caller="test",
        started_at=0.0,
        finished_at=0.0,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cost_usd=cost,
    )


def test_windows_have_a_few_hundred_buckets_each() -> None:
    assert [(w.key, w.bucket_s, w.buckets) for w in WINDOWS] == [
        ("15m", 5, 180),
        ("1h", 15, 240),
        ("24h", 300, 288),
    ]


def test_requests_land_in_the_bucket_of_their_finish_as_a_rate(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    for _ in range(10):
        bus.publish(finished(input_tokens=100, output_tokens=20))
    clock.now += 5  # the next 5 s bucket; the first is now complete
    series = metrics.series("15m")
    assert len(series.times) == 180
    assert series.times[-2] == START
    assert series.requests_per_s[-2] == pytest.approx(10 / 5)
    assert series.input_tokens_per_s[-2] == pytest.approx(1000 / 5)
    assert series.output_tokens_per_s[-2] == pytest.approx(200 / 5)
    assert series.requests_per_s[-1] == 0.0
    assert series.total.requests == 10
    assert series.total.output_tokens == 200


def test_requests_summed_per_5_s_land_in_each_window_s_bucket_of_their_own_time(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    # Requests add into one running sum per 5 s bucket (issue 42), folded into the rings when
    # the next bucket's first request comes or a window is read: each must still land in the
    # bucket of its own time in every window, including across a 15 s bucket's edge.
    clock.now = START + 10  # 15 s bucket START..START+15, 5 s bucket START+10..START+15
    bus.publish(finished(input_tokens=1))
    clock.now = START + 14.9
    bus.publish(finished(input_tokens=2))
    clock.now = START + 15.1  # a new 5 s bucket and a new 15 s bucket: the sum above folds
    bus.publish(finished(input_tokens=4))
    clock.now = START + 16  # nothing more comes: read folds the last sum
    fine = metrics.series("15m")
    assert fine.times[-2:] == [START + 10, START + 15]
    assert [fine.requests_per_s[-2] * 5, fine.input_tokens_per_s[-2] * 5] == pytest.approx([2, 3])
    assert fine.total.input_tokens == 7
    hourly = metrics.series("1h")
    assert hourly.times[-2:] == [START, START + 15]
    assert hourly.requests_per_s[-2] * 15 == pytest.approx(2)
    assert hourly.requests_per_s[-1] == pytest.approx(1 / 1)  # filling: 1 s of it has run
    assert metrics.series("24h").total.requests == 3
    assert metrics.since_start()["anthropic"].input_tokens == 7
    # A sum left unfolded for longer than a window's span goes to no bucket of that window.
    clock.now = START + 100
    bus.publish(finished(input_tokens=8))
    clock.now = START + 100 + 20 * 60
    bus.publish(finished(input_tokens=16))
    assert metrics.series("15m").total.input_tokens == 16
    assert metrics.series("1h").total.input_tokens == 7 + 8 + 16
    assert metrics.since_start()["anthropic"].input_tokens == 31


def test_the_filling_bucket_counts_over_the_time_it_has_run(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    clock.now += 2
    for _ in range(4):
        bus.publish(finished())
    assert metrics.series("15m").requests_per_s[-1] == pytest.approx(4 / 2)


def test_each_window_forgets_what_is_older_than_its_span(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    bus.publish(finished(input_tokens=7))
    clock.now += 20 * 60
    assert metrics.series("15m").total.requests == 0
    assert metrics.series("1h").total.requests == 1
    clock.now += 60 * 60
    assert metrics.series("1h").total.requests == 0
    assert metrics.series("24h").total.requests == 1
    clock.now += 24 * 60 * 60
    assert metrics.series("24h").total.requests == 0
    # A ring slot reused later holds only the new bucket's figures.
    bus.publish(finished(input_tokens=3))
    assert metrics.series("24h").total.input_tokens == 3
    assert metrics.since_start()["anthropic"].requests == 2


def test_hit_rate_per_provider_per_bucket_with_gaps_where_nothing_was_sent(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    bus.publish(finished("anthropic", input_tokens=100, read=300))
    bus.publish(finished("openai", model="gpt-5", input_tokens=50, read=0, write=50))
    clock.now += 10
    bus.publish(finished("anthropic", input_tokens=100, read=0, write=100))
    series = metrics.series("15m")
    anthropic = series.hit_rate["anthropic"]
    assert anthropic[-3] == pytest.approx(300 / 400)
    assert math.isnan(anthropic[-2])  # no request in that bucket: a gap, not 0 %
    assert anthropic[-1] == 0.0
    assert series.hit_rate["openai"][-3] == 0.0
    assert series.by_provider["anthropic"].hit_rate == pytest.approx(300 / 600)
    assert series.by_provider["openai"].hit_rate == 0.0


def test_a_provider_without_traffic_in_the_window_is_left_out(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    bus.publish(finished("openai", input_tokens=1))
    clock.now += 16 * 60
    bus.publish(finished("anthropic", input_tokens=1))
    assert set(metrics.series("15m").hit_rate) == {"anthropic"}
    assert set(metrics.series("1h").hit_rate) == {"anthropic", "openai"}


def test_savings_price_cache_reads_at_the_input_discount_or_count_tokens_when_unpriced(
    bus: EventBus, metrics: LiveMetrics
) -> None:
    # claude-sonnet: input 3.00, cache read 0.30 USD per million tokens.
    bus.publish(finished(model="claude-sonnet-4-6", read=1_000_000, cost=0.5))
    bus.publish(finished(model="anthropic/claude-sonnet-4-6", read=1_000_000))
    bus.publish(finished("local", model="llama-3.1-8b", read=4_000))
    total = metrics.series("1h").total
    assert total.saved_usd == pytest.approx(2 * 2.70)
    assert total.unpriced_cache_read_tokens == 4_000
    assert total.cache_read_tokens == 2_004_000
    assert total.cost_usd == pytest.approx(0.5)


def test_active_jobs_follow_job_states_and_carry_across_quiet_buckets(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    def job(job_id: str, state: str) -> None:
        bus.publish(JobStateChanged(job_id, "claude", state, "local"))

    job("a", "queued")
    job("b", "queued")
    job("a", "running")
    clock.now += 30
    job("b", "completed")
    clock.now += 30
    assert metrics.active_jobs == 1
    jobs = metrics.series("15m").active_jobs
    # Buckets of 5 s, newest last: the jobs came at -60 s, one finished at -30 s.
    assert jobs[-14] == 0.0  # before the first job
    assert jobs[-13:-6] == [2.0] * 7  # two queued, then quiet, then the finish (peak 2)
    assert jobs[-6:] == [1.0] * 6


def test_a_job_running_since_before_the_window_shows_in_it(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    bus.publish(JobStateChanged("long", "codex", "running", "local"))
    clock.now += 2 * 60 * 60
    assert metrics.series("15m").active_jobs == [1.0] * 180


def test_providers_past_the_cap_are_counted_together(bus: EventBus, metrics: LiveMetrics) -> None:
    for n in range(MAX_PROVIDERS + 5):
        bus.publish(finished(f"p{n}", input_tokens=1))
    by_provider = metrics.series("15m").by_provider
    assert len(by_provider) == MAX_PROVIDERS + 1
    assert by_provider[OTHER_PROVIDER].requests == 5


def test_memory_stays_bounded_over_two_days_of_traffic(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    def traffic(hours: int) -> None:
        # One request every 37 s per provider, for `hours` of fake time.
        for _ in range(hours * 3600 // 37):
            clock.now += 37
            for provider in ("anthropic", "openai", "claude"):
                bus.publish(finished(provider, input_tokens=10, read=5, output_tokens=3))

    traffic(25)  # every ring has come round at least once
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        traffic(24)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024
    assert metrics.series("24h").total.requests == 3 * (24 * 3600 // 37)


def test_close_stops_counting(bus: EventBus, metrics: LiveMetrics) -> None:
    metrics.close()
    bus.publish(finished())
    assert metrics.series("15m").total.requests == 0


def test_an_unknown_window_is_a_key_error(metrics: LiveMetrics) -> None:
    with pytest.raises(KeyError):
        metrics.series("5m")


def past(at: float, requests: int, *, read: int = 0, cost: float = 0.0) -> PastTraffic:
    return PastTraffic(at, "anthropic", "claude-sonnet-4-6", requests, 100, 10, read, 0, cost)


def test_past_traffic_lands_at_its_own_time_and_never_counts_as_since_start(
    metrics: LiveMetrics, clock: Clock
) -> None:
    counted = metrics.replay(
        [
            past(START - 60, 3, read=200, cost=0.5),  # a minute ago: every window
            past(START - 7200, 4),  # two hours ago: the 24 h window only
            past(START - 2 * 86400, 9),  # older than any window: left out
        ]
    )
    assert counted == 7
    assert metrics.series("15m").total.requests == 3
    assert metrics.series("1h").total.requests == 3
    day = metrics.series("24h").total
    assert day.requests == 7 and day.cost_usd == pytest.approx(0.5)
    assert day.saved_usd == pytest.approx(200 * 2.70 / 1_000_000)
    assert metrics.since_start() == {}
    clock.now += 120  # the live counting goes on beside it
    assert metrics.series("24h").total.requests == 7


def test_requests_are_split_into_asked_refused_and_failed(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    """Overview's totals say what they count: every request, those a provider was asked (the
    health table's calls), those refused before any was, and the failed among the asked."""

    def ended(state: str, *, code: str | None = None, caller: str = "test") -> RequestFinished:
        return RequestFinished(
            record_id="r",
            provider="openai",
            model="gpt-4o-mini",
            state=state,
            principal="local",
            caller=caller,
            started_at=0.0,
            finished_at=0.0,
            error_code=code,
        )

    for event in (
        ended("completed"),
        ended("completed"),
        ended("failed", code="upstream_503"),
        ended("refused", code="no_api_key"),
        ended("denied", code="approval_denied"),
        ended("completed", caller="dashboard: key check"),
        ended("canceled"),
    ):
        bus.publish(event)
    total = metrics.series("15m").total
    assert (total.requests, total.asked, total.refused, total.errors) == (7, 3, 2, 1)
    assert metrics.series("15m").by_provider["openai"].asked == 3
    metrics.replay([PastTraffic(START - 60, "openai", "gpt-4o-mini", 4, 0, 0, 0, 0, 0.0, 1, 3, 1)])
    total = metrics.series("15m").total
    assert (total.requests, total.asked, total.refused, total.errors) == (11, 6, 3, 2)


def test_a_request_counts_as_the_shared_definitions_say(clock: Clock) -> None:
    """The handler adds a request's figures in place (no `bucket_values` tuple); they must be
    the figures `bucket_values`, `health.asked_provider` and `provider_failed` give, as the
    replay of an earlier run's traffic uses them, for every kind of end."""
    from llmgw_desktop.engine.metrics.health import asked_provider, provider_failed

    def ended(state: str, code: str | None, caller: str, model: str | None, read: int):
        return RequestFinished(
            record_id="r",
            provider="openai",
            model=model,
            state=state,
            principal="local",
            caller=caller,
            started_at=0.0,
            finished_at=0.0,
            input_tokens=7,
            output_tokens=3,
            cache_read_tokens=read,
            cache_write_tokens=2 if read else 0,
            cost_usd=0.25 if state == "completed" else None,
            error_code=code,
        )

    events = [
        ended(state, code, caller, model, read)
        for state, code in (
            ("completed", None),
            ("failed", "upstream_503"),
            ("failed", "no_api_key"),
            ("refused", "budget_exceeded"),
            ("denied", "approval_denied"),
            ("canceled", None),
            ("interrupted", "interrupted"),
        )
        for caller in ("test", "dashboard: key check")
        for model in ("gpt-4o-mini", "a-model-no-table-prices")
        for read in (0, 1000)
    ]
    # Canceled once its answer had begun (its first token out): sent, as the rows say it.
    events += [e._replace(first_token_s=0.004) for e in events if e.state == "canceled"]
    live = LiveMetrics(bus := EventBus(), clock=clock)
    for event in events:
        bus.publish(event)
    replayed = LiveMetrics(EventBus(), clock=clock)
    replayed.replay(
        PastTraffic(
            START - 60,
            "openai",
            e.model,
            1,
            e.input_tokens,
            e.output_tokens,
            e.cache_read_tokens,
            e.cache_write_tokens,
            e.cost_usd or 0.0,
            int(e.state in ("refused", "denied")),
            int(asked_provider(e)),
            int(provider_failed(e)),
            int(e.state == "canceled" and not asked_provider(e)),
        )
        for e in events
    )
    assert live.series("15m").total == replayed.series("15m").total
    # Canceled before any answer (8), or a key being tried whose answer had begun (4).
    assert live.series("15m").total.canceled == 12


def _attempt(record_id: str, provider: str, state: str, code: str | None = None) -> RequestFinished:
    return RequestFinished(
        record_id, provider, "gpt-4o-mini", state, "local", "test", 0.0, 0.0, error_code=code
    )


@pytest.mark.parametrize("apart_s", [0, 7, 600])
def test_an_attempt_that_failed_over_is_a_providers_call_not_a_request(
    bus: EventBus, clock: Clock, metrics: LiveMetrics, apart_s: float
) -> None:
    """A request its route tried at backup (503), then at OpenAI (answered): two calls to
    providers, one of which failed over; one request, which did not fail. The failed-over call
    is counted in the bucket and under the provider of the call that failed, whenever the next
    attempt takes it over (the same bucket, the next, minutes later)."""
    bus.publish(_attempt("a", "backup", "failed", "upstream_503"))
    clock.now += apart_s
    bus.publish(AttemptFailedOver("a", "backup", START, clock.now))
    bus.publish(_attempt("b", "openai", "completed"))
    bus.publish(_attempt("c", "openai", "failed", "upstream_500"))  # no one took it over
    clock.now += 5
    for key in ("15m", "24h"):
        series = metrics.series(key)
        total = series.total
        assert (total.requests, total.asked, total.errors, total.failed_over) == (3, 3, 2, 1)
        assert (total.client_requests, total.client_sent, total.client_failed) == (2, 2, 1)
        assert series.by_provider["backup"].failed_over == 1
        assert series.by_provider["openai"].failed_over == 0
        # The charts draw requests and failures as clients saw them, bucket by bucket.
        spans = [float(series.window.bucket_s)] * len(series.times)
        spans[-1] = max(1.0, clock.now - series.times[-1])  # the newest, still filling
        counts = [rate * span for rate, span in zip(series.requests_per_s, spans, strict=True)]
        failed = [rate * span for rate, span in zip(series.errors_per_s, spans, strict=True)]
        assert (sum(counts), sum(failed)) == (pytest.approx(2), pytest.approx(1))
        assert min(counts) >= 0
    assert metrics.since_start()["backup"].failed_over == 1


def test_a_failing_over_of_a_row_not_heard_failed_takes_nothing_out(
    bus: EventBus, clock: Clock, metrics: LiveMetrics
) -> None:
    """Only a call counted as failed can be taken out of the requests, in its own bucket: one
    completed (or not heard) is no failed attempt, whatever an event says."""
    bus.publish(_attempt("done", "openai", "completed"))
    bus.publish(AttemptFailedOver("done", "openai", START, clock.now))
    bus.publish(AttemptFailedOver("gone", "backup", START, clock.now))
    clock.now += 5
    total = metrics.series("15m").total
    assert (total.requests, total.failed_over, total.client_requests) == (1, 0, 1)


def test_traffic_read_back_at_start_keeps_the_attempts_that_failed_over_apart(
    clock: Clock, metrics: LiveMetrics
) -> None:
    """After a restart, the rows read back say which attempts failed over (the store's
    `failed_over`): the window's requests are what clients sent, as before the restart."""
    backup = PastTraffic(START - 60, "backup", "gpt-4o-mini", 3, 0, 0, 0, 0, 0.0)
    past = [
        backup._replace(asked=3, errors=3, failed_over=3),
        PastTraffic(START - 60, "openai", "gpt-4o-mini", 8, 0, 0, 0, 0, 0.0, asked=8),
    ]
    assert metrics.replay(past) == 11
    total = metrics.series("15m").total
    assert (total.requests, total.client_requests, total.client_failed) == (11, 8, 0)
    assert total.failed_over == 3
