"""Schema 21's partial indexes on SQLite: every query that read one of the seven indexes reads it
still. The reads run for real, their SQL is caught as SQLite runs it, and each statement's plan
is compared with its plan over the same indexes whole: no step that used an index walks the
table instead."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from llmgw_desktop.engine.recorder.cache_state import CacheState
from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.lanes import read_lanes
from llmgw_desktop.engine.recorder.query import RecorderQuery
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.migrations.m0021_recorder_partial_indexes import PARTIAL

pytestmark = pytest.mark.parametrize("store_engine", ["sqlite"])  # PostgreSQL's stay whole


def _steps_without_an_index(connection: sqlite3.Connection, sql: str) -> int:
    """How many steps of `sql`'s plan read a table without an index (peewee's `t1` is the
    requests table too; the other tables' steps are the same over both stores)."""
    plan = connection.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    return sum(
        1 for _, _, _, step in plan if step.startswith(("SCAN", "SEARCH")) and "USING" not in step
    )


def _whole_again(path: Path) -> sqlite3.Connection:
    """A copy of the store at `path` whose seven indexes hold every row, as before schema 21."""
    copy = path.with_name("whole.db")
    source = sqlite3.connect(path)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    for name, columns, _ in PARTIAL:
        target.execute(f"DROP INDEX {name}")
        target.execute(f"CREATE INDEX {name} ON requests ({columns})")
    return target


async def test_every_read_of_a_partial_index_still_uses_an_index(
    db: Database, tmp_path: Path
) -> None:
    recorder = FlightRecorder(db)
    for n in range(40):
        record = recorder.start(
            principal="local",
            provider="openai",
            caller="agent",
            correlation_id=f"corr-{n}" if n % 4 == 0 else None,
            session_id=f"session-{n % 3}" if n % 2 else None,
            prefix_hash=f"prefix-{n % 5}" if n % 3 else None,
        )
        recorder.finish(
            record,
            state="failed" if n % 5 == 0 else "completed",
            error_code="upstream_timeout" if n % 5 == 0 else None,
            project=f"project-{n % 2}" if n % 7 else None,
        )
    await recorder.flush()
    caught: list[str] = []

    def trace() -> None:
        db.models.database.connection().set_trace_callback(caught.append)

    await db.run(trace)
    query = RecorderQuery(db, recorder)
    choices = await query.choices()
    assert choices["error_code"] == ["upstream_timeout"]
    assert choices["project"] == ["project-0", "project-1"]
    for filters in (
        RecorderFilters(error_code="upstream_timeout"),
        RecorderFilters(project="project-1"),
        RecorderFilters(error_code="upstream_timeout", provider="openai"),
    ):
        assert (await query.page(filters)).rows
        assert await query.count(filters) > 0
    assert await recorder.by_correlation("local", "corr-8") is not None
    cache = CacheState(db, recorder, anthropic_ttl_s=300.0)
    assert await cache.session_view("local", "session-1") is not None
    assert await cache.prefix_view("local", "prefix-1") is not None
    await db.run(
        lambda: read_lanes(
            lambda sql, params: db.models.database.execute_sql(sql, params),
            0.0,
            ("failed",),
            postgresql=False,
        )
    )
    await db.run(lambda: db.models.database.connection().set_trace_callback(None))
    await db.close()

    reads = [sql for sql in caught if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(reads) > 10
    partial = sqlite3.connect(db.path)
    whole = _whole_again(db.path)
    try:
        worse = [
            sql
            for sql in reads
            if _steps_without_an_index(partial, sql) > _steps_without_an_index(whole, sql)
        ]
    finally:
        partial.close()
        whole.close()
    assert worse == []
    await db.open()  # the fixture closes it
