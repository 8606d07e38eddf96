"""The recorder's hand-written SQL gives the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from llmgw_desktop.engine.recorder.refusal_rows import add_counts, counts_since, delete_before
from llmgw_desktop.engine.recorder.rows import (
    apply_entries,
    delete_oldest,
    newest_start_over_cap,
    past_traffic,
)
from llmgw_desktop.engine.store import Database

START = 1_700_000_000.0


@pytest.fixture
async def db(new_database: Callable[[str], Database]) -> AsyncIterator[Database]:
    database = new_database("llmgw.db")
    await database.open()
    yield database
    await database.close()


def _row(i: int, **fields: object) -> dict[str, object]:
    return {
        "id": f"r{i:04d}",
        "started_at": START + i,
        "finished_at": START + i + 0.5,
        "owner_principal": "local",
        "provider": "openai",
        "model": "gpt",
        "state": "completed",
        "input_tokens": 10,
        "output_tokens": 2,
        "cost_usd": 0.25,
    } | fields


async def test_refusal_counters_add_up_in_place(db: Database) -> None:
    database = db.models.database
    await db.run(lambda: add_counts(database, [(10, "1.2.3.4", "/v1", 401, "unauthorized", 2)]))
    await db.run(lambda: add_counts(database, [(10, "1.2.3.4", "/v1", 401, "unauthorized", 3)]))
    await db.run(lambda: add_counts(database, [(20, "1.2.3.4", "/v1", 429, "rate_limited", 1)]))
    assert sorted(await db.run(lambda: counts_since(database, 0))) == [
        (10, "1.2.3.4", "/v1", 401, "unauthorized", 5),
        (20, "1.2.3.4", "/v1", 429, "rate_limited", 1),
    ]
    assert await db.run(lambda: delete_before(database, 15.0)) == 1
    assert await db.run(lambda: counts_since(database, 0)) == [
        (20, "1.2.3.4", "/v1", 429, "rate_limited", 1)
    ]


async def test_past_traffic_sums_per_provider_model_and_bucket(db: Database) -> None:
    database = db.models.database
    entries = [{"insert": _row(i)} for i in range(4)]
    await db.run(lambda: apply_entries(database, entries))
    rows = await db.run(
        lambda: past_traffic(
            database, started_from=START, start=START, end=START + 100, span_s=3600.0
        )
    )
    assert len(rows) == 1
    last, provider, model, count, inputs, outputs, _, _, cost = rows[0]
    assert (provider, model, count, inputs, outputs) == ("openai", "gpt", 4, 40, 8)
    assert last == pytest.approx(START + 3.5)
    assert float(cost) == pytest.approx(1.0)


async def test_pruning_deletes_the_oldest_rows_in_bounded_batches(db: Database) -> None:
    database = db.models.database
    entries = [{"insert": _row(i)} for i in range(10)]
    await db.run(lambda: apply_entries(database, entries))
    over = await db.run(lambda: newest_start_over_cap(database, 6))
    assert over == START + 3
    assert await db.run(lambda: delete_oldest(database, START + 3, inclusive=True, batch=3)) == 3
    assert await db.run(lambda: delete_oldest(database, START + 3, inclusive=True, batch=3)) == 1
    left = await db.run(lambda: [r.id for r in db.models.RecordedRequest.select()])
    assert sorted(left) == [f"r{i:04d}" for i in range(4, 10)]


async def test_replayed_rows_ignore_columns_the_table_lacks(db: Database) -> None:
    database = db.models.database
    entries = [
        {"insert": _row(1, unknown_column="x", rowid=99, search_vector="x")},
        {"update": "r0001", "fields": {"state": "failed", "also_unknown": 1}},
    ]
    await db.run(lambda: apply_entries(database, entries))
    await db.run(lambda: apply_entries(database, entries))  # a replay is idempotent
    rows = await db.run(lambda: [(r.id, r.state) for r in db.models.RecordedRequest.select()])
    assert rows == [("r0001", "failed")]
