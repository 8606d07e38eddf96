"""Pruning a large recorder store does not take the recorder page away, and the start-up
integrity check does not hold up readiness.

A store far over the cap (made with one bulk INSERT ... SELECT, seconds not minutes: 300,000
rows over on SQLite, 60,000 on PostgreSQL, whose prune of them takes about as long) is pruned,
on SQLite and on PostgreSQL, by the real `FlightRecorder.prune` while the recorder
page's own queries (the first page of rows and the count, through `RecorderQuery`, which the
page calls) run beside it: each answers within a bound instead of waiting for the whole prune
(80 s in the report). The page's Qt widget is left out: it only forwards these two calls.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import peewee

from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.query import RecorderQuery
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.health import quick_check
from llmgw_desktop.engine.store.sql import is_postgresql
from tests.postgres import opened

CAP = 20_000
OVER = 300_000
# PostgreSQL prunes about 4,000 rows a second here (SQLite 30,000): 60,000 keep it pruning
# for many times the page's reads, without a minute of the suite's time.
OVER_POSTGRESQL = 60_000
PAGE_BOUND_S = 2.0  # one prune batch and the page's own query on a loaded 2-core machine


def bulk_fill(path: Path, rows: int, now: float) -> None:
    """`rows` recorder rows, oldest first, one second apart, in one statement."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO requests (id, started_at, finished_at, owner_principal, provider,"
            " model, state, caller, input_tokens, output_tokens)"
            " SELECT printf('%032x', i), ? - (? - i), ? - (? - i) + 1, 'local', 'openai',"
            " 'gpt-4o', 'completed', 'bench', 10, 5 FROM n",
            (rows, now, rows, now, rows),
        )


def bulk_fill_store(database: peewee.Database, rows: int, now: float) -> None:
    """`bulk_fill` through the store's own connection, on either engine (on the DB thread)."""
    if not is_postgresql(database):
        # The file is written by a connection of its own, as the tests that build it do.
        bulk_fill(Path(database.database), rows, now)
        return
    database.execute_sql(
        "INSERT INTO requests (id, started_at, finished_at, owner_principal, provider,"
        " model, state, caller, input_tokens, output_tokens)"
        " SELECT lpad(to_hex(i), 32, '0'), %s - (%s - i), %s - (%s - i) + 1, 'local',"
        " 'openai', 'gpt-4o', 'completed', 'bench', 10, 5 FROM generate_series(1, %s) AS i",
        (now, rows, now, rows, rows),
    )


async def test_page_lists_rows_and_counts_while_a_large_prune_runs(
    new_database: Callable[[str], Database],
) -> None:
    async with opened(new_database("llmgw.db")) as db:
        now = time.time()
        started = time.monotonic()
        over = OVER_POSTGRESQL if is_postgresql(db.models.database) else OVER
        await db.run(lambda: bulk_fill_store(db.models.database, CAP + over, now))
        print(f"made {CAP + over} rows in {time.monotonic() - started:.1f}s")
        recorder = FlightRecorder(db, max_rows=CAP, retention_days=3650)
        query = RecorderQuery(db, recorder)
        pruning = asyncio.create_task(recorder.prune())
        await asyncio.sleep(0.05)  # the prune is under way
        waits = []
        for _ in range(3):
            asked = time.monotonic()
            page, count = await asyncio.gather(
                query.page(RecorderFilters()), query.count(RecorderFilters())
            )
            waits.append(time.monotonic() - asked)
            assert page.rows and page.rows[0].started_at >= now - 1
            assert count >= CAP
        assert not pruning.done(), "the prune finished before the page was asked: too small"
        print("page + count while pruning:", ", ".join(f"{w * 1000:.0f} ms" for w in waits))
        assert max(waits) < PAGE_BOUND_S
        took = time.monotonic()
        removed = await pruning
        print(f"pruned {removed} rows ({time.monotonic() - took:.1f}s after the page reads)")
        assert removed == over
        assert await query.count(RecorderFilters()) == CAP


async def test_start_up_check_of_a_large_healthy_store_is_bounded_and_off_the_db_thread(
    tmp_path: Path,
) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        bulk_fill(db.path, CAP + OVER, time.time())
        checking = asyncio.create_task(asyncio.to_thread(quick_check, db.path, 10.0))
        asked = time.monotonic()
        # The database thread answers while the check reads: readiness does not wait for it.
        assert await db.run(lambda: 1) == 1
        # Answered while the check still reads, or at once: queued behind the check, it would
        # come after it, seconds later (a wall-time bound alone fails a loaded machine's hop).
        assert not checking.done() or time.monotonic() - asked < 0.5
        took = time.monotonic()
        assert await checking is None  # healthy (or the budget ran out: never a false alarm)
        print(f"quick_check of {CAP + OVER} rows: {time.monotonic() - took:.2f}s")
        # A tiny budget stops the check early and reports nothing wrong.
        assert quick_check(db.path, 0.0) is None
