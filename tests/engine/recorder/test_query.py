"""The desk's reading of the flight recorder: filters, keyset pages, counts, detail, export.

Rows are written two ways: in bulk straight into the store's file (the way a big recorder
looks after weeks of traffic, and fast enough to make 50,000 of them in a test), and through
the real `FlightRecorder` where the write path itself matters (updates and pruning must keep
the search index in step).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peewee
import pytest

from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.recorder import export as recorder_export
from llmgw_desktop.engine.recorder import query as recorder_query
from llmgw_desktop.engine.recorder import search as recorder_search
from llmgw_desktop.engine.recorder.filters import UNSUCCESSFUL_STATES, PageCursor, RecorderFilters
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.query import RecorderQuery
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.migrations import MIGRATIONS, apply_migrations
from llmgw_desktop.engine.store.migrations.m0008_recorder_search import CATCH_UP_AT
from llmgw_desktop.engine.store.sql import is_postgresql, portable
from tests.engine.jobs.rows import completed, created

START = 1_700_000_000.0
PROVIDERS = ("anthropic", "openai", "claude", "gemini")
STATES = ("completed", "completed", "completed", "failed", "refused")
PRINCIPALS = ("local", "gateway-bearer", "team-ci")


def synthetic_rows(count: int, *, start: float = START) -> list[dict[str, Any]]:
    """Deterministic rows; three share each start second, so paging must break ties by id."""
    rows = []
    for i in range(count):
        provider = PROVIDERS[i % len(PROVIDERS)]
        api = provider in ("anthropic", "openai")
        state = STATES[i % len(STATES)]
        rows.append(
            {
                # Ids in an order unrelated to time, as real uuids are.
                "id": f"{(i * 2654435761) % 2**32:08x}{i:024x}",
                "started_at": start + i // 3,
                "finished_at": start + i // 3 + 1.5,
                "duration_ms": 1500.0 + i % 7,
                "owner_principal": PRINCIPALS[i % len(PRINCIPALS)],
                "caller": f"agent-{i % 11}",
                "transport": "http" if api else "mcp",
                "tool": "/v1/messages" if api else "llm_call",
                "provider": provider,
                "model": f"{provider}-model-{i % 2}",
                "state": state,
                "job_id": None if api else f"job{i:029x}",
                "error_code": "upstream_timeout" if state == "failed" else None,
                "http_status": 504 if state == "failed" else None,
                "project": None if i % 5 == 4 else f"project-{i % 3}",
                "input_tokens": 100 + i % 50,
                "output_tokens": 10 + i % 5,
                "cache_read_tokens": i % 3 * 100,
                "cache_write_tokens": i % 2 * 10,
                "cost_usd": 0.001 * (i % 4),
                "approval_json": json.dumps({"decided_by": "policy", "allowed": True}),
                "route_json": json.dumps(
                    {"attempts": [{"target": f"{provider}/x", "key": f"vault-key-{i % 5}"}]}
                )
                if api
                else None,
            }
        )
    return rows


async def bulk_insert(db: Database, rows: list[dict[str, Any]]) -> None:
    """Write rows straight into the store's file, in one transaction.

    The rows go through a temporary table and then one INSERT ... SELECT; the search index then
    takes them all at once, as the recorder's flushes would have had it take them as they went
    (schema 20).
    """
    columns = ", ".join(rows[0])
    marks = ", ".join("?" * len(rows[0]))

    def write() -> None:
        database = db.models.database
        with database.atomic():
            database.execute_sql(
                f"CREATE TEMP TABLE staging AS SELECT {columns} FROM requests LIMIT 0"
            )
            database.cursor().executemany(
                portable(database, f"INSERT INTO staging VALUES ({marks})"),
                [tuple(r.values()) for r in rows],
            )
            database.execute_sql(f"INSERT INTO requests ({columns}) SELECT * FROM staging")
            database.execute_sql("DROP TABLE staging")
        recorder_search.catch_up(database)

    await db.run(write)


@pytest.fixture
async def filled(db: Database) -> tuple[RecorderQuery, list[dict[str, Any]]]:
    rows = synthetic_rows(600)
    await bulk_insert(db, rows)
    return RecorderQuery(db), rows


def newest_first(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in sorted(rows, key=lambda r: (r["started_at"], r["id"]), reverse=True)]


async def all_pages(
    query: RecorderQuery, filters: RecorderFilters, limit: int, *, oldest_first: bool = False
) -> list[str]:
    ids: list[str] = []
    cursor: PageCursor | None = None
    for _ in range(10_000):  # bounded: a broken cursor must fail, not loop
        page = await query.page(filters, cursor, limit=limit, oldest_first=oldest_first)
        ids += [r.id for r in page.rows]
        cursor = page.next
        if cursor is None:
            return ids
    raise AssertionError("paging never ended")


async def test_pages_walk_every_row_once_newest_first_across_ties(filled: tuple) -> None:
    query, rows = filled
    ids = await all_pages(query, RecorderFilters(), limit=50)
    assert ids == newest_first(rows)
    assert await query.count(RecorderFilters()) == len(rows)


async def test_pages_walk_every_row_once_oldest_first_across_ties(filled: tuple) -> None:
    query, rows = filled
    ids = await all_pages(query, RecorderFilters(), limit=50, oldest_first=True)
    assert ids == newest_first(rows)[::-1]
    narrowed = RecorderFilters(provider="claude", since=START + 30)
    expected = newest_first(
        [r for r in rows if r["provider"] == "claude" and r["started_at"] >= START + 30]
    )
    assert await all_pages(query, narrowed, limit=9, oldest_first=True) == expected[::-1]


async def test_a_page_that_ends_exactly_at_the_last_row_says_there_is_no_more(
    filled: tuple,
) -> None:
    query, rows = filled
    page = await query.page(RecorderFilters(), limit=len(rows))
    assert len(page.rows) == len(rows)
    assert page.next is None


def _matches(row: dict[str, Any], name: str, value: Any) -> bool:
    if name == "since":
        return bool(row["started_at"] >= value)
    if name == "until":
        return bool(row["started_at"] < value)
    column = {"principal": "owner_principal"}.get(name, name)
    return bool(row[column] == value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("provider", "gemini"),
        ("model", "openai-model-1"),
        ("state", "refused"),
        ("caller", "agent-3"),
        ("principal", "team-ci"),
        ("error_code", "upstream_timeout"),
        ("http_status", 504),
        ("project", "project-1"),
        ("since", START + 150),
        ("until", START + 20),
    ],
)
async def test_each_filter_keeps_only_its_rows(filled: tuple, name: str, value: Any) -> None:
    query, rows = filled
    filters = RecorderFilters(**{name: value})
    expected = newest_first([r for r in rows if _matches(r, name, value)])
    assert 0 < len(expected) < len(rows)
    assert await all_pages(query, filters, limit=40) == expected
    assert await query.count(filters) == len(expected)


async def test_filters_combine(filled: tuple) -> None:
    query, rows = filled
    filters = RecorderFilters(principal="local", since=START + 60, until=START + 120, text="claude")
    expected = newest_first(
        [
            r
            for r in rows
            if r["owner_principal"] == "local"
            and START + 60 <= r["started_at"] < START + 120
            and r["provider"] == "claude"
        ]
    )
    assert expected
    assert await all_pages(query, filters, limit=7) == expected
    assert await query.count(filters) == len(expected)


@pytest.mark.parametrize(
    ("text", "keep"),
    [
        ("upstream_timeout", lambda r: r["error_code"] == "upstream_timeout"),
        # Ids are words too: one may start with these digits.
        ("504", lambda r: r["http_status"] == 504 or r["id"].startswith("504")),
        ("vault-key-3", lambda r: r["route_json"] and "vault-key-3" in r["route_json"]),
        ("AGENT-10", lambda r: r["caller"] == "agent-10"),
        ("team", lambda r: r["owner_principal"] == "team-ci"),
        ("openai-model", lambda r: r["provider"] == "openai"),
        ("gemini refused", lambda r: r["provider"] == "gemini" and r["state"] == "refused"),
    ],
)
async def test_search_finds_words_in_any_text_column_by_prefix(
    filled: tuple, text: str, keep: Callable[[dict[str, Any]], bool]
) -> None:
    query, rows = filled
    expected = newest_first([r for r in rows if keep(r)])
    assert expected
    filters = RecorderFilters(text=text)
    assert await all_pages(query, filters, limit=100) == expected
    assert await query.count(filters) == len(expected)


async def test_search_finds_a_row_by_its_id_or_job_id_prefix(filled: tuple) -> None:
    query, rows = filled
    target = rows[202]  # a claude row: it has a job
    for text in (target["id"][:12], target["job_id"]):
        page = await query.page(RecorderFilters(text=text))
        assert [r.id for r in page.rows] == [target["id"]], text


@pytest.mark.parametrize("text", ['"', "AND", "OR NOT", "*", "a:b", "(x", "NEAR(", "-", "  "])
async def test_anything_typed_is_a_search_never_a_query_error(filled: tuple, text: str) -> None:
    query, _ = filled
    page = await query.page(RecorderFilters(text=text))
    assert await query.count(RecorderFilters(text=text)) >= len(page.rows)


async def test_common_and_rare_words_give_the_same_rows(
    db: Database, filled: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, _ = filled
    database = db.models.database
    if db.engine.name == "postgresql":  # its choice reads the planner's statistics
        await db.run(lambda: database.execute_sql("ANALYZE requests"))
    filters = RecorderFilters(text="anthropic", state="completed")
    expression = recorder_search.search_expression("anthropic", postgresql=is_postgresql(database))
    assert expression is not None
    conditions = []
    await db.run(lambda: recorder_search.catch_up(database))  # as a search does first
    for factor in (1e9, 0.0):  # every word rare, then every word common
        monkeypatch.setattr(recorder_search, "COMMON_SEARCH_FACTOR", factor)
        conditions.append(
            await db.run(lambda: recorder_search.search_condition(database, expression))
        )
    assert conditions[0] != conditions[1]  # the two ways were both taken
    monkeypatch.setattr(recorder_search, "COMMON_SEARCH_FACTOR", 1e9)
    driven_by_hits = await all_pages(query, filters, limit=25)
    monkeypatch.setattr(recorder_search, "COMMON_SEARCH_FACTOR", 0.0)
    driven_by_time = await all_pages(query, filters, limit=25)
    assert driven_by_hits == driven_by_time
    assert len(driven_by_hits) == await query.count(filters)


async def test_choices_list_each_filter_columns_values(filled: tuple) -> None:
    query, _ = filled
    choices = await query.choices()
    assert choices["provider"] == sorted(PROVIDERS)
    assert choices["principal"] == sorted(PRINCIPALS)
    assert choices["state"] == ["completed", "failed", "refused"]
    assert len(choices["caller"]) == 11
    # Indexed since schema 14: every value, as for the columns above.
    assert choices["error_code"] == ["upstream_timeout"]
    assert choices["http_status"] == ["504"]
    assert choices["project"] == ["project-0", "project-1", "project-2"]


async def test_the_choices_of_error_code_status_and_project_list_every_value(
    filled: tuple,
) -> None:
    """Schema 14 indexes them, so their values come from a skip scan of the whole index."""
    query, rows = filled
    choices = await query.choices()
    assert choices["project"] == sorted({r["project"] for r in rows if r["project"]})
    statuses = sorted({r["http_status"] for r in rows if r["http_status"] is not None})
    assert choices["http_status"] == [str(status) for status in statuses]


async def test_failed_only_keeps_every_unsuccessful_state_newest_or_oldest_first(
    db: Database,
) -> None:
    # Every state in turn, three rows to a start second: ties within and across the states.
    rows = [
        {**row, "state": list(RecordState)[i % len(RecordState)].value}
        for i, row in enumerate(synthetic_rows(400))
    ]
    await bulk_insert(db, rows)
    query = RecorderQuery(db)
    failures = [r for r in rows if r["state"] in UNSUCCESSFUL_STATES]
    assert {r["state"] for r in failures} == {
        "failed",
        "interrupted",
        "canceled",
        "refused",
        "denied",
    }
    filters = RecorderFilters(failed_only=True)
    assert await all_pages(query, filters, limit=13) == newest_first(failures)
    assert (
        await all_pages(query, filters, limit=13, oldest_first=True) == newest_first(failures)[::-1]
    )
    assert await query.count(filters) == len(failures)
    # With other filters: each state's read is narrowed the same way.
    narrowed = RecorderFilters(failed_only=True, provider="gemini", text="agent-3")
    expected = newest_first(
        [r for r in failures if r["provider"] == "gemini" and r["caller"] == "agent-3"]
    )
    assert expected
    assert await all_pages(query, narrowed, limit=2) == expected
    assert await query.count(narrowed) == len(expected)
    # A state filter inside "failed only" narrows it; one outside it leaves nothing.
    interrupted = RecorderFilters(failed_only=True, state="interrupted")
    assert await all_pages(query, interrupted, limit=50) == newest_first(
        [r for r in rows if r["state"] == "interrupted"]
    )
    completed = RecorderFilters(failed_only=True, state="completed")
    assert (await query.page(completed)).rows == []
    assert await query.count(completed) == 0
    page = await query.page(RecorderFilters(), limit=len(rows))
    assert {r.id for r in page.rows if r.unsuccessful} == {r["id"] for r in failures}


async def test_exports_hold_exactly_the_filtered_rows(
    filled: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, rows = filled
    monkeypatch.setattr(recorder_export, "EXPORT_CHUNK", 17)  # many chunks, and ties across them
    filters = RecorderFilters(provider="openai", text="vault")
    expected = newest_first([r for r in rows if r["provider"] == "openai"])
    progress: list[int] = []

    jsonl = tmp_path / "out" / "requests.jsonl"
    jsonl.parent.mkdir()
    assert await query.export(filters, jsonl, "jsonl", on_progress=progress.append) == 150
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["id"] for r in records] == expected
    assert records[0]["route"]["attempts"][0]["target"] == "openai/x"
    assert records[0]["approval"] == {"decided_by": "policy", "allowed": True}
    assert progress[-1] == 150 and progress == sorted(progress)

    table = tmp_path / "out" / "requests.csv"
    assert await query.export(filters, table, "csv") == 150
    with table.open(newline="") as f:
        read = list(csv.DictReader(f))
    assert [r["id"] for r in read] == expected
    assert {r["provider"] for r in read} == {"openai"}
    assert json.loads(read[0]["route_json"])["attempts"][0]["key"].startswith("vault-key-")
    assert sorted(p.name for p in jsonl.parent.iterdir()) == ["requests.csv", "requests.jsonl"]


async def test_a_failed_export_leaves_no_file(filled: tuple, tmp_path: Path) -> None:
    query, _ = filled
    with pytest.raises(OSError):
        await query.export(RecorderFilters(), tmp_path / "missing" / "out.csv", "csv")
    assert not (tmp_path / "missing").exists()


async def test_detail_has_the_jobs_redacted_prompt_and_answer(db: Database) -> None:
    jobs = JobStore(db)
    await created(
        jobs, "job-1", request={"prompt": "review this, key sk-ant-api03-" + "a" * 40}, now=START
    )
    await completed(jobs, "job-1", "Looks fine.", output="streamed", now=START + 2)
    recorder = FlightRecorder(db)
    record = recorder.start(principal="local", provider="claude", caller="editor", tool="llm_call")
    recorder.update(record, job_id="job-1")
    recorder.finish(record, state="completed", input_tokens=12, cache_read_tokens=4)
    api = recorder.start(principal="local", provider="openai", approval={"allowed": True})
    recorder.finish(api, state="completed", route={"attempts": [{"target": "openai/x"}]})
    query = RecorderQuery(db, recorder)

    detail = await query.detail(record)
    assert detail is not None and detail.job_found
    assert detail.record["caller"] == "editor" and detail.record["cache_read_tokens"] == 4
    assert detail.prompt is not None and "review this" in detail.prompt
    assert "a" * 40 not in detail.prompt  # the job store never keeps the key
    assert (detail.response, detail.job_state) == ("Looks fine.", "completed")

    plain = await query.detail(api)
    assert plain is not None and not plain.job_found and plain.prompt is None
    assert plain.record["route"] == {"attempts": [{"target": "openai/x"}]}
    assert plain.record["approval"] == {"allowed": True}
    assert await query.detail("no-such-row") is None


async def test_a_count_includes_what_just_finished_as_the_first_page_does(db: Database) -> None:
    # The recorder page reloads its first page and its count at once when a request finishes:
    # a count read before the recorder's next flush left the total one short, and nothing
    # counted again until another request finished.
    recorder = FlightRecorder(db)
    query = RecorderQuery(db, recorder)
    record = recorder.start(principal="local", provider="anthropic", caller="ci")
    recorder.finish(record, state="failed", error_code="upstream_500", http_status=502)
    failed = RecorderFilters(failed_only=True)
    assert await query.count(failed) == 1
    assert [row.id for row in (await query.page(failed)).rows] == [record]


async def test_the_search_index_follows_updates_and_pruning(db: Database) -> None:
    clock = [START]
    recorder = FlightRecorder(db, retention_days=1, clock=lambda: clock[0])
    query = RecorderQuery(db, recorder)
    record = recorder.start(principal="local", provider="openai", caller="nightly-batch")
    await recorder.flush()  # inserted as started; finished in a later write (an UPDATE)
    assert await query.count(RecorderFilters(text="started")) == 1
    recorder.finish(record, state="failed", error_code="upstream_connect", http_status=502)
    await recorder.flush()
    assert await query.count(RecorderFilters(text="upstream_connect")) == 1
    assert await query.count(RecorderFilters(text="started")) == 0
    assert await query.count(RecorderFilters(text="nightly")) == 1

    clock[0] += 2 * 86400
    assert await recorder.prune() == 1
    assert await query.count(RecorderFilters(text="nightly")) == 0

    def index_is_sound() -> None:
        database = db.models.database
        database.execute_sql("INSERT INTO requests_fts (requests_fts) VALUES ('integrity-check')")

    if db.engine.name == "sqlite":  # PostgreSQL's generated vector has no index of its own
        await db.run(index_is_sound)


@pytest.mark.parametrize("store_engine", ["sqlite"])  # FTS5's batched catching up
async def test_the_search_index_stays_exact_through_many_writes(db: Database) -> None:
    """Hundreds of rows inserted, finished in later writes, and pruned, across several of the
    triggers' catch-ups: every word then finds exactly the rows that hold it."""
    clock = [START]
    recorder = FlightRecorder(db, retention_days=1, clock=lambda: clock[0])
    query = RecorderQuery(db, recorder)
    expected: dict[str, dict[str, str]] = {}  # record id -> caller and error code
    open_records: list[str] = []
    for batch in range(12):
        clock[0] += 3600 * 3
        for i in range(60):
            caller = f"team{batch % 4}"
            record = recorder.start(principal="local", provider="openai", caller=caller)
            expected[record] = {"caller": caller, "error": ""}
            if i % 3:
                error = f"code{(batch + i) % 5}"
                recorder.finish(record, state="failed", error_code=error)
                expected[record]["error"] = error
            else:
                open_records.append(record)
        await recorder.flush()
        for record in open_records[:-10]:  # finished in a later write: an UPDATE
            error = f"late{batch % 3}"
            recorder.finish(record, state="failed", error_code=error)
            expected[record]["error"] = error
        open_records = open_records[-10:]
        await recorder.flush()
    pruned = await recorder.prune()  # rows older than a day: a DELETE of many at once
    assert pruned > 0
    rows = await query.page(RecorderFilters(), limit=10_000)
    kept = {r.id for r in rows.rows}
    pending = await db.run(
        lambda: db.models.database.execute_sql(
            "SELECT count(*) FROM requests_fts_pending"
        ).fetchone()[0]
    )
    assert 0 < pending < CATCH_UP_AT  # the writes caught the index up as they went
    for word in [f"team{n}" for n in range(4)] + [f"code{n}" for n in range(5)] + ["late1"]:
        want = {r for r, v in expected.items() if r in kept and word in (v["caller"], v["error"])}
        assert await query.count(RecorderFilters(text=word)) == len(want), word
        assert {
            r.id for r in (await query.page(RecorderFilters(text=word), limit=1000)).rows
        } == want


async def test_rows_recorded_before_the_upgrade_are_searchable(tmp_path: Path) -> None:
    path = tmp_path / "llmgw.db"
    old = peewee.SqliteDatabase(str(path))
    old.connect()
    apply_migrations(old, tuple(m for m in MIGRATIONS if m.version < 8))
    old.execute_sql(
        "INSERT INTO requests (id, started_at, owner_principal, provider, state, caller)"
        " VALUES ('r1', 1, 'local', 'openai', 'completed', 'old-friend')"
    )
    old.close()
    db = Database(path)
    await db.open()
    try:
        query = RecorderQuery(db)
        assert [r.id for r in (await query.page(RecorderFilters(text="old-friend"))).rows] == ["r1"]
    finally:
        await db.close()


async def test_fifty_thousand_rows_page_filter_and_count_quickly(db: Database) -> None:
    """The million-row figures are in bench/recorder_view.py; this keeps the shape honest."""
    rows = synthetic_rows(50_000)
    await bulk_insert(db, rows)
    query = RecorderQuery(db)
    cases = [
        RecorderFilters(),
        RecorderFilters(provider="gemini"),
        RecorderFilters(principal="team-ci", since=START + 10_000),
        RecorderFilters(text="upstream_timeout"),
        RecorderFilters(text="agent-7", state="completed"),
        RecorderFilters(failed_only=True),
        RecorderFilters(error_code="upstream_timeout"),
    ]
    for filters, oldest_first in [(f, False) for f in cases] + [(f, True) for f in cases[:3]]:
        started = time.perf_counter()
        first = await query.page(filters, oldest_first=oldest_first)
        assert first.next is not None
        second = await query.page(filters, first.next, oldest_first=oldest_first)
        total = await query.count(filters)
        elapsed = time.perf_counter() - started
        assert len(first.rows) == len(second.rows) == recorder_query.PAGE_SIZE
        if oldest_first:
            assert first.rows[-1].started_at <= second.rows[0].started_at
        else:
            assert first.rows[-1].started_at >= second.rows[0].started_at
        assert total > 2 * recorder_query.PAGE_SIZE
        # Generous for a loaded CI box; these take a few milliseconds on a quiet one.
        assert elapsed < 1.0, (filters, elapsed)


async def test_unanswered_only_leaves_out_attempts_that_failed_over(db: Database) -> None:
    """An attempt that failed and whose request went on to another target is a real provider
    call, listed, but not a request its client got no answer for (`attempts.py`): "Unanswered
    only" and its count leave it out, and the list's row says it failed over."""
    rows = synthetic_rows(300)
    for i, row in enumerate(rows):
        row["failed_over"] = int(row["state"] == "failed" and i % 2 == 0)
    await bulk_insert(db, rows)
    query = RecorderQuery(db)
    over = {r["id"] for r in rows if r["failed_over"]}
    unanswered = [r for r in rows if r["state"] in UNSUCCESSFUL_STATES and not r["failed_over"]]
    assert over and unanswered

    filters = RecorderFilters(failed_only=True)
    assert await all_pages(query, filters, limit=7) == newest_first(unanswered)
    assert (
        await all_pages(query, filters, limit=7, oldest_first=True)
        == (newest_first(unanswered)[::-1])
    )
    assert await query.count(filters) == len(unanswered)
    narrowed = RecorderFilters(failed_only=True, provider="openai", state="failed")
    expected = [r for r in unanswered if r["provider"] == "openai" and r["state"] == "failed"]
    assert expected and await query.count(narrowed) == len(expected)
    assert await all_pages(query, narrowed, limit=5) == newest_first(expected)
    # Every row is still listed; the failed-over ones say so and are not marked unanswered.
    page = await query.page(RecorderFilters(), limit=len(rows))
    assert {r.id for r in page.rows if r.failed_over} == over
    assert not any(r.unsuccessful for r in page.rows if r.failed_over)
    assert await query.count(RecorderFilters()) == len(rows)
    # The count line's attempts: those that failed over among the rows a filter keeps.
    assert await query.count_failed_over(RecorderFilters()) == len(over)
    provider = next(r["provider"] for r in rows if r["failed_over"])
    by_one = [r for r in rows if r["failed_over"] and r["provider"] == provider]
    assert by_one
    assert await query.count_failed_over(RecorderFilters(provider=provider)) == len(by_one)
    assert await query.count_failed_over(filters) == 0
    # With the search box's text too (its index's condition beside the marked rows' index).
    searched = RecorderFilters(text=str(next(r["model"] for r in rows if r["failed_over"])))
    assert 0 < await query.count_failed_over(searched) <= len(over)
