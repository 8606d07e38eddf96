"""The recorder's hand-written SQL gives the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.recorder import rows as rows_module
from llmgw_desktop.engine.recorder.prune import prune_rows
from llmgw_desktop.engine.recorder.refusal_rows import add_counts, counts_since, delete_before
from llmgw_desktop.engine.recorder.rows import (
    USAGE_ESTIMATED,
    Entry,
    NotAsked,
    apply_entries,
    delete_oldest,
    newest_start_over_cap,
    past_calls,
    past_traffic,
)
from llmgw_desktop.engine.store import Database

START = 1_700_000_000.0
# A streamed row's route once its first token reached the client, as the recorder stores it,
# its tokens the gateway's estimate.
BEGAN_ESTIMATED = f'{{"attempts":[],"{USAGE_ESTIMATED}":true,"firstTokenMs":4.0}}'


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
    last, provider, model, count, inputs, outputs, _, _, cost, *outcomes = rows[0]
    assert (provider, model, count, inputs, outputs) == ("openai", "gpt", 4, 40, 8)
    # refused, asked, failed, canceled, prompt tokens reported
    assert tuple(int(n) for n in outcomes) == (0, 4, 0, 0, 40, 0)
    assert last == pytest.approx(START + 3.5)
    assert float(cost) == pytest.approx(1.0)


async def test_past_traffic_counts_refused_asked_and_failed_as_the_live_figures_do(
    db: Database,
) -> None:
    """After a restart Overview's 15-minute totals (refused, sent to a provider, failed) are
    rebuilt from the rows: the same split `LiveMetrics` makes as requests finish."""
    database = db.models.database
    rows = [
        _row(0),
        _row(1, state="failed", error_code="upstream_500"),
        _row(2, state="refused", error_code="no_api_key"),
        _row(3, state="denied", error_code="approval_denied"),
        _row(4, state="failed", error_code="budget_exceeded"),  # failed before being asked
        _row(5, caller="dashboard: key check"),  # a key being tried
        _row(6, state="canceled"),
        # Its client left once its answer had begun: sent, and not failed. Its tokens the
        # gateway's estimate: no cache figures, so not in the hit rate's whole.
        _row(7, state="canceled", route_json=BEGAN_ESTIMATED, error_code="client_disconnected"),
        # An attempt that failed and whose request another target took: the providers' call,
        # not a request (`recorder/attempts.py`).
        _row(8, state="failed", error_code="upstream_503", failed_over=1),
    ]
    await db.run(lambda: apply_entries(database, [{"insert": row} for row in rows]))
    found = await db.run(
        lambda: past_traffic(
            database,
            started_from=START,
            start=START,
            end=START + 100,
            span_s=3600.0,
            not_asked=NotAsked(["dashboard: key check"], ["budget_exceeded", "approval_denied"]),
        )
    )
    (row,) = found
    assert row[3] == 9
    # refused, asked, failed, canceled, prompt tokens reported, failed over
    assert tuple(int(n) for n in row[9:]) == (2, 4, 2, 1, 80, 1)


async def test_past_calls_are_the_asked_ones_newest_kept_oldest_first(db: Database) -> None:
    """What each provider's health is rebuilt from at start: the calls a provider was asked, as
    the live count hears them (no refusal, key check, cache answer or failure of the caller's
    own), the newest `limit`, oldest first."""
    database = db.models.database
    cached = '{"cache":{"hit":true,"savedTokens":3}}'
    rejected = {"state": "failed", "error_code": "upstream_rejected"}
    rows = [
        _row(0),
        _row(1, state="failed", error_code="upstream_500", duration_ms=120),
        _row(2, state="refused", error_code="no_api_key"),
        _row(3, **rejected, http_status=404),  # a mistyped model, as its client saw it
        _row(4, caller="dashboard: key check", state="failed", error_code="upstream_401"),
        _row(5, route_json=cached),
        _row(6, state="started", finished_at=None),
        _row(7, state="failed", error_code="upstream_502", provider="anthropic"),
        _row(8, **rejected, http_status=522),  # no route could help: the provider's
        _row(9, state="failed", error_code="upstream_404"),  # an attempt's own row
        # Its client left once its answer had begun: answered, its time not the provider's.
        _row(10, state="canceled", route_json=BEGAN_ESTIMATED, duration_ms=30),
        _row(11, state="canceled", duration_ms=30),  # left before any answer: not asked
    ]
    await db.run(lambda: apply_entries(database, [{"insert": row} for row in rows]))

    def read(limit: int) -> list[tuple[str, float, bool, str | None, float | None]]:
        return past_calls(
            database,
            started_from=START,
            start=START,
            end=START + 100,
            limit=limit,
            not_asked=NotAsked(["dashboard: key check"], ["no_api_key", "upstream_404"], [404]),
        )

    found = await db.run(lambda: read(10))
    assert [(p, at - START, failed, code) for p, at, failed, code, _ms in found] == [
        ("openai", 0.5, False, None),
        ("openai", 1.5, True, "upstream_500"),
        ("anthropic", 7.5, True, "upstream_502"),
        ("openai", 8.5, True, "upstream_rejected"),
        ("openai", 10.5, False, None),
    ]
    assert found[1][4] == 120.0 and found[-1][4] is None
    newest = await db.run(lambda: read(3))
    assert [at - START for _p, at, *_rest in newest] == [7.5, 8.5, 10.5]


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


async def test_prune_removes_old_rows_then_the_oldest_over_the_cap_in_many_batches(
    db: Database,
) -> None:
    database = db.models.database
    await db.run(lambda: apply_entries(database, [{"insert": _row(i)} for i in range(40)]))
    # 10 rows before the cutoff, then 30 - 12 = 18 over the cap: 28 gone in batches of 3.
    removed = await prune_rows(db, cutoff=START + 10, max_rows=12, batch=3)
    assert removed == 28
    left = await db.run(
        lambda: [r[0] for r in database.execute_sql("SELECT id FROM requests ORDER BY id")]
    )
    assert left == [f"r{i:04d}" for i in range(28, 40)]  # the newest twelve


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


async def test_a_batch_of_updates_sets_each_rows_own_values_nulls_and_flags_included(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A few rows a statement, so each batch spans several statements, on both engines.
    monkeypatch.setattr(rows_module, "_MAX_PARAMETERS", 12)
    database = db.models.database
    await db.run(
        lambda: apply_entries(
            database, [{"insert": _row(i, error_code="x", cost_usd=None)} for i in range(9)]
        )
    )
    updates: list[Entry] = [
        {
            "update": f"r{i:04d}",
            "fields": {"state": "failed", "error_code": None, "cost_usd": i / 4, "attempts": i},
        }
        for i in range(6)
    ]
    updates.append({"update": "r0007", "fields": {"fallback_used": True, "http_status": 429}})
    updates.append({"update": "r0006", "fields": {"finished_at": START + 100}})
    updates.append({"update": "r0006", "fields": {"model": None}})  # merged with the one above
    # A number column NULL in every row of its set (an HTTP request's unpriced finish): nothing
    # in the statement says its type, which PostgreSQL then took for text (CI caught it).
    updates.append({"update": "r0008", "fields": {"cost_usd": None, "duration_ms": None}})
    await db.run(lambda: apply_entries(database, updates))
    model = db.models.RecordedRequest
    got = await db.run(lambda: {r["id"]: r for r in model.select().dicts()})
    for i in range(6):
        row = got[f"r{i:04d}"]
        assert (row["state"], row["error_code"], row["cost_usd"], row["attempts"]) == (
            "failed",
            None,
            i / 4,
            i,
        )
    assert got["r0007"]["fallback_used"] and got["r0007"]["http_status"] == 429
    assert got["r0006"]["finished_at"] == START + 100 and got["r0006"]["model"] is None
    assert got["r0008"]["state"] == "completed" and got["r0008"]["error_code"] == "x"
    assert got["r0008"]["cost_usd"] is None and got["r0008"]["duration_ms"] is None


async def test_a_column_added_after_a_write_is_written_at_the_next(db: Database) -> None:
    # The table's columns are remembered between writes (SQLite): a change of the schema must
    # make the next write read them again, or a row's value for a new column would be dropped.
    database = db.models.database
    await db.run(lambda: apply_entries(database, [{"insert": _row(1)}]))
    await db.run(lambda: database.execute_sql("ALTER TABLE requests ADD COLUMN extra_note TEXT"))
    await db.run(lambda: apply_entries(database, [{"insert": _row(2, extra_note="kept")}]))
    note = await db.run(
        lambda: database.execute_sql(
            "SELECT extra_note FROM requests WHERE id = 'r0002'"
        ).fetchone()[0]
    )
    assert note == "kept"


def test_a_row_of_one_column_is_read_as_a_row() -> None:
    # A row that holds its id alone (a spill file's line) has one column: read as a 1-tuple.
    known = {"id", "model"}
    inserts: dict[tuple[str, ...], list[tuple[object, ...]]] = {}
    one, _ = rows_module._insert_shape(("id", "other"), known, inserts)
    two, rows = rows_module._insert_shape(("model", "id"), known, inserts)
    assert one is not None and one({"id": "r1"}) == ("r1",)
    assert two is not None and two({"id": "r1", "model": "m"}) == ("r1", "m")
    assert rows is inserts[("id", "model")] and list(inserts) == [("id",), ("id", "model")]
    # A row without an id is not written, and has no list among the statements'.
    assert rows_module._insert_shape(("model",), known, inserts)[0] is None
    assert len(inserts) == 2
