"""What the live figures count a request as, where its end alone does not say it.

A person's pass (2026-12): a streamed OpenAI call its client closed after three chunks reached
the upstream and had its answer begin (its row: "canceled · the caller stopped it
(client_disconnected) · HTTP 200 · 1 attempt(s) · first token 4 ms"), yet Overview counted it
"canceled" and not "sent to providers" (27 sent, 1 refused, 1 canceled of 29) while Spend and
Agents counted 28 calls to OpenAI. A call canceled once its answer had begun was sent: it is
counted so, as a call that did not fail (the client left, the provider answered), live and as
the rows are read back at start-up.

The prompt-cache hit rate of a bucket holding only failed or estimated calls (no cache figures
at all) read 0 %: a call whose tokens the gateway estimated says nothing of the cache, so such
a bucket has no rate, and a call the provider reported without cache reads is a real 0 %.
"""

from __future__ import annotations

import math

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import EventBus, RequestFinished
from llmgw_desktop.engine.metrics.health import CallHealth
from llmgw_desktop.engine.metrics.live import LiveMetrics
from llmgw_desktop.engine.recorder.rows import USAGE_ESTIMATED
from tests.clock import Clock
from tests.waiting import until

START = 1_800_000_000.0
MODEL = "gpt-4o-mini"


def _ended(
    state: str,
    *,
    code: str | None = None,
    took_s: float = 0.2,
    first_token_s: float | None = None,
    fresh: int = 0,
    read: int = 0,
    estimated: bool = False,
) -> RequestFinished:
    return RequestFinished(
        record_id="r",
        provider="openai",
        model=MODEL,
        state=state,
        principal="local",
        caller="openai-python",
        started_at=START,
        finished_at=START + took_s,
        input_tokens=fresh,
        cache_read_tokens=read,
        error_code=code,
        first_token_s=first_token_s,
        usage_estimated=estimated,
    )


def test_a_call_its_caller_left_after_its_answer_began_was_sent_and_did_not_fail() -> None:
    bus, clock = EventBus(), Clock(START)
    metrics = LiveMetrics(bus, clock=clock)
    health = CallHealth(bus, clock=clock)
    for event in (
        _ended("completed"),
        # Its client closed the stream after three chunks: the answer had begun.
        _ended("canceled", code="client_disconnected", took_s=0.01, first_token_s=0.004),
        # Closed while it waited for the first token: canceled before any answer.
        _ended("canceled", code="client_disconnected", took_s=0.05),
        # A job canceled once its call's answer had begun: sent too.
        _ended("canceled", code="canceled", took_s=0.03, first_token_s=0.01),
    ):
        bus.publish(event)
    total = metrics.series("15m").total
    assert (total.requests, total.asked, total.canceled, total.errors) == (4, 3, 1, 0)
    assert metrics.series("15m").by_provider["openai"].asked == 3
    seen = health.of("openai")
    assert (seen.calls, seen.errors) == (3, 0)
    # A call cut short by its client says nothing of how long the provider takes to answer.
    assert seen.p50_ms == pytest.approx(200.0) and seen.p95_ms == pytest.approx(200.0)


def test_a_bucket_of_failed_or_estimated_calls_has_no_hit_rate() -> None:
    bus, clock = EventBus(), Clock(START)
    metrics = LiveMetrics(bus, clock=clock)
    bus.publish(_ended("completed", fresh=1000, read=3000))  # reported: 75 %
    clock.now += 5
    bus.publish(_ended("completed", fresh=500, estimated=True))  # no usage reported
    clock.now += 5
    bus.publish(_ended("failed", code="upstream_500", fresh=400, estimated=True))
    clock.now += 5
    bus.publish(_ended("completed", fresh=100))  # reported, nothing read: a real miss
    clock.now += 1
    rates = metrics.series("15m").hit_rate["openai"][-4:]
    assert rates[0] == pytest.approx(0.75) and rates[3] == 0.0
    assert math.isnan(rates[1]) and math.isnan(rates[2])
    total = metrics.series("15m").total
    assert total.hit_rate == pytest.approx(3000 / 4100)
    assert total.input_tokens == 2000  # the tokens chart still counts every call's


async def test_the_rows_read_back_at_start_count_as_they_were_counted_live(
    loaded: LoadedSettings,
) -> None:
    """After a restart the figures are rebuilt from the rows by the same rules: a call canceled
    once its answer had begun is sent, and estimated tokens give no hit rate."""
    first = Engine(loaded.settings)
    await first.start()
    recorder = first.recorder

    def row(state: str, *, began: bool = False, estimated: bool = False, **fields: object) -> None:
        record = recorder.start(principal="local", provider="openai", caller="sdk", model=MODEL)
        if began:
            recorder.first_token(record)
        route: dict[str, object] = {"attempts": [{"target": "openai"}]}
        if estimated:
            route[USAGE_ESTIMATED] = True
        recorder.finish(record, state=state, route=route, **fields)

    row("completed", input_tokens=1000, cache_read_tokens=3000)
    row("canceled", began=True, estimated=True, error_code="client_disconnected", input_tokens=9)
    row("canceled", error_code="client_disconnected", estimated=True, input_tokens=9)
    row("failed", error_code="upstream_500", estimated=True, input_tokens=400)
    live = first.metrics.series("15m").total
    calls = first.provider_health.of("openai")
    await first.stop()
    assert (live.requests, live.asked, live.canceled, live.errors) == (4, 3, 1, 1)
    assert live.hit_rate == pytest.approx(0.75)
    second = Engine(loaded.settings)
    await second.start()
    try:
        await until(lambda: second.metrics.series("15m").total.requests == 4, "the rows read")
        rebuilt = second.metrics.series("15m").total
        assert (rebuilt.asked, rebuilt.canceled, rebuilt.errors) == (3, 1, 1)
        assert rebuilt.hit_rate == pytest.approx(0.75)
        await until(lambda: second.provider_health.of("openai").calls == 3, "the calls read")
        again = second.provider_health.of("openai")
        assert (again.calls, again.errors) == (calls.calls, calls.errors) == (3, 1)
    finally:
        await second.stop()
