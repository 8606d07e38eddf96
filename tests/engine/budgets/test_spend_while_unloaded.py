"""A budget's spend, whenever it is loaded, is never below what the recorder's finished rows it
covers cost in its period: calls finished while no process had the budget loaded (the app ran
without it for a while, on defaults, or the budget was removed and added back) are counted in
when it is loaded again, and calls counted while it was loaded are not counted twice. On
SQLite and on PostgreSQL, through the engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, BudgetExceeded, Engine
from llmgw_desktop.engine.budgets.holds import CallAsk
from llmgw_desktop.engine.budgets.lanes import LaneKey
from llmgw_desktop.engine.tokens.pricing import Price
from tests.postgres import PostgresCluster

DOLLARS = {"scope": "global", "unit": "usd", "period": "daily", "hard": 0.0016}
TOKENS = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_600}
# $1 per million tokens either way: a call of 20 tokens in and 20 out is held at $0.00004.
PRICE = Price(input=1.0, output=1.0, cache_read=1.0, cache_write=1.0)


@pytest.fixture
def settings(
    loaded: LoadedSettings, store_engine: str, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    """The settings every engine of a test starts on: one store, SQLite or PostgreSQL."""
    values: dict[str, Any] = {}
    cluster: PostgresCluster | None = None
    if store_engine == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        values["store.url"] = cluster.create_database()
    yield values
    if cluster is not None:
        cluster.drop_database(values["store.url"])


async def _engine(
    loaded: LoadedSettings, settings: dict[str, Any], budgets: list[dict[str, Any]]
) -> Engine:
    engine = Engine(loaded.settings.with_values({**settings, "budgets": budgets}))
    await engine.start()
    return engine


def _call(engine: Engine, cost_usd: float, tokens: int) -> None:
    """A call finished (its row written at the recorder's next flush)."""
    recorder = engine.recorder
    record = recorder.start(principal="local", provider="claude", caller="agent-a")
    recorder.finish(record, state="completed", input_tokens=tokens, cost_usd=cost_usd)


async def _recorded_today(engine: Engine) -> tuple[float, int]:
    """What the recorder's finished rows of today cost, as the header and Overview read it."""
    (status,) = [s for s in engine.budgets.statuses() if s.budget.unit == "usd"]
    database = engine.store.models.database
    await engine.recorder.flush()

    def read() -> tuple[float, int]:
        row = database.execute_sql(
            "SELECT sum(cost_usd), sum(input_tokens) FROM requests"
            f" WHERE started_at >= {status.starts_at!r} AND finished_at IS NOT NULL"
        ).fetchone()
        return float(row[0]), int(row[1])

    return await engine.store.read(read)


def _lane(engine: Engine) -> LaneKey:
    """The dollar budget's one lane, today."""
    (status,) = [s for s in engine.budgets.statuses() if s.budget.unit == "usd"]
    return LaneKey(status.budget.key, "", status.starts_at)


def _spent(engine: Engine) -> dict[str, float]:
    return {s.budget.unit: s.spent for s in engine.budgets.statuses()}


async def test_calls_finished_with_no_budgets_loaded_count_when_they_are_loaded_again(
    loaded: LoadedSettings, settings: dict[str, Any]
) -> None:
    """The person-pass: the header said $0.00164 of $0.0016 and the Budgets page $0.00161, and
    a call past the hard limit was admitted: a period already counted in never read the calls
    a session without the budgets made."""
    first = await _engine(loaded, settings, [DOLLARS, TOKENS])
    _call(first, 0.0010, 1_000)
    _call(first, 0.0005, 500)
    assert _spent(first) == pytest.approx({"usd": 0.0015, "tokens": 1_500})
    await first.stop()
    unloaded = await _engine(loaded, settings, [])  # the app on defaults, the same store
    _call(unloaded, 0.0003, 300)
    await unloaded.stop()
    again = await _engine(loaded, settings, [DOLLARS, TOKENS])
    try:
        cost, tokens = await _recorded_today(again)
        assert (cost, tokens) == (pytest.approx(0.0018), 1_800)
        assert _spent(again) == pytest.approx({"usd": cost, "tokens": tokens})
        ledger = again.budget_ledger
        priced = CallAsk("gpt-4o", 20, 20, price=PRICE)
        with pytest.raises(BudgetExceeded) as refused:
            await ledger.reserve("local", "agent-a", None, priced)
        assert refused.value.http_status == 402
        assert refused.value.details["spent"] == pytest.approx(cost)
    finally:
        await again.stop()


async def test_calls_of_a_budget_removed_and_added_back_the_same_day_are_counted(
    loaded: LoadedSettings, settings: dict[str, Any]
) -> None:
    """The Budgets page removes a budget and adds it back: what ran between counts."""
    engine = await _engine(loaded, settings, [DOLLARS, TOKENS])
    try:
        _call(engine, 0.0010, 1_000)
        await engine.budgets.replace(LOCAL_CALLER, [])
        _call(engine, 0.0007, 700)
        await engine.budgets.replace(LOCAL_CALLER, [DOLLARS, TOKENS])
        assert _spent(engine) == pytest.approx({"usd": 0.0017, "tokens": 1_700})
        with pytest.raises(BudgetExceeded):
            await engine.budget_ledger.reserve("local", "agent-a", None, CallAsk(None, 10, 10))
    finally:
        await engine.stop()


async def test_calls_counted_while_the_budget_was_loaded_count_once_across_loads(
    loaded: LoadedSettings, settings: dict[str, Any]
) -> None:
    """Loading a budget again reads the rows, which hold the calls its lanes counted already
    (and those this process still owes the store): each is counted once."""
    budgets = [{**DOLLARS, "hard": 1.0}, {**TOKENS, "hard": 100_000}]
    first = await _engine(loaded, settings, budgets)
    _call(first, 0.0010, 1_000)
    await first.stop()
    second = await _engine(loaded, settings, budgets)
    try:
        assert _spent(second) == pytest.approx({"usd": 0.0010, "tokens": 1_000})
        ledger = second.budget_ledger
        _call(second, 0.0004, 400)  # owed to the store as the budgets are loaded again
        assert ledger.accounts.owed(_lane(second)) == pytest.approx(0.0004)
        await second.budgets.replace(LOCAL_CALLER, [])
        await second.budgets.replace(LOCAL_CALLER, budgets)  # the rows read, what is owed too
        await ledger.accounts.flush()
        await ledger._reread()
        assert _spent(second) == pytest.approx({"usd": 0.0014, "tokens": 1_400})
        cost, tokens = await _recorded_today(second)
        assert _spent(second) == pytest.approx({"usd": cost, "tokens": tokens})
    finally:
        await second.stop()
    third = await _engine(loaded, settings, budgets)
    try:
        assert _spent(third) == pytest.approx({"usd": 0.0014, "tokens": 1_400})
    finally:
        await third.stop()
