"""Synthetic flight-recorder rows for the benches, and the bulk fill that puts them in a store.

`fill` puts `rows` requests spread over `DAYS` days into a store on either engine (ten
providers, sixty callers, twenty principals, a few states and error codes, route and approval
JSON), far faster than the recorder would: a temp table and one INSERT ... SELECT per chunk on
SQLite, `COPY` on PostgreSQL, whose table is then vacuumed and analysed, as autovacuum would
have done on a server that had been taking these rows for a month.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

from llmgw_desktop.config.settings import Settings, load_settings
from llmgw_desktop.engine.recorder.search import INDEX_BATCH, catch_up
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import is_postgresql

__all__ = ["COLUMNS", "DAYS", "fill", "keeping_every_row", "synthetic_rows"]

DAYS = 30
CHUNK = 100_000
API = ("anthropic", "openai", "google", "mistral", "groq")
CLI = ("claude", "codex", "gemini", "copilot", "opencode")
STATES = ("completed",) * 85 + ("failed",) * 8 + ("refused",) * 3 + ("canceled",) * 3 + ("started",)
ERRORS = ("upstream_timeout", "upstream_429", "upstream_connect", "process_timeout")
COLUMNS = (
    "id, started_at, finished_at, duration_ms, owner_principal, caller, transport, tool, "
    "provider, model, state, job_id, error_code, http_status, attempts, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, approval_json, "
    "route_json, fallback_used"
)


def keeping_every_row(data_dir: Path, rows: int, url: str) -> Settings:
    """An engine's settings on `data_dir` (its store at `url`, "" for SQLite there), with no
    config file, no local servers looked for and a port of its own, that keeps `rows` rows
    of `DAYS` days: the engine's pruning, run once at start, takes none of them."""
    os.environ.update(
        LLM_GATEWAY_DATA_DIR=str(data_dir),
        LLM_GATEWAY_LOG_DIR=str(data_dir / "log"),
        LLM_GATEWAY_CONFIG=str(data_dir / "no-config.toml"),
        LLM_GATEWAY_DETECT_LOCAL="false",
        LLM_GATEWAY_HTTP_PORT="0",
        LLM_GATEWAY_DB_URL=url,
    )
    return load_settings().settings.with_values(
        {"recorder.max_rows": rows * 2, "recorder.retention_days": DAYS * 10}
    )


def synthetic_rows(
    count: int, first: int, total: int, now: float, rnd: random.Random
) -> list[tuple[Any, ...]]:
    """Rows `first`..`first+count` of `total`, oldest first; four share each start time."""
    span = DAYS * 86400.0
    total_ticks = max(1, total // 4)
    rows = []
    for i in range(first, first + count):
        provider = rnd.choice(API + CLI)
        api = provider in API
        state = rnd.choice(STATES)
        started = round(now - span + (i // 4) * span / total_ticks, 3)
        duration = rnd.uniform(200, 20_000)
        error = rnd.choice(ERRORS) if state == "failed" else None
        rows.append(
            (
                f"{rnd.getrandbits(128):032x}",
                started,
                None if state == "started" else started + duration / 1000,
                None if state == "started" else round(duration, 3),
                "local" if rnd.random() < 0.5 else f"client-{rnd.randrange(19)}",
                f"caller-{rnd.randrange(60)}",
                "http" if api else "mcp",
                "/v1/chat/completions" if api else "llm_call",
                provider,
                f"{provider}-model-{rnd.randrange(3)}",
                state,
                None if api else f"{rnd.getrandbits(128):032x}",
                error,
                (504 if error == "upstream_timeout" else 429) if api and error else None,
                1,
                rnd.randrange(50, 20_000),
                rnd.randrange(5, 2_000),
                rnd.randrange(0, 40_000),
                rnd.randrange(0, 2_000),
                round(rnd.uniform(0, 0.2), 5),
                None if api else '{"allowed": true, "decided_by": "policy", "score": 0}',
                f'{{"attempts": [{{"target": "{provider}/m", "key": "vault:k{rnd.randrange(4)}",'
                f' "outcome": "{"ok" if state == "completed" else "timeout"}"}}]}}'
                if api
                else None,
                0,
            )
        )
    return rows


async def fill(path: Path, rows: int, url: str = "", *, now: float | None = None) -> None:
    """Bulk insert through a temp table: one INSERT ... SELECT per chunk, then the search index
    catches up in the recorder's batches (schema 20). On PostgreSQL, one
    `COPY` per chunk (the server computes the search vector and fills its index). The rows
    span the `DAYS` up to `now` (the present when None)."""
    db = Database(path, url=url)
    await db.open()
    try:
        have = await db.run(
            lambda: db.models.database.execute_sql("SELECT count(*) FROM requests").fetchone()[0]
        )
        if have >= rows:
            print(f"store already holds {have:,} rows")
            return
        rnd, started = random.Random(20251121), time.perf_counter()
        now = time.time() if now is None else now
        marks = ", ".join("?" * len(COLUMNS.split(",")))
        for first in range(have, rows, CHUNK):
            batch = synthetic_rows(min(CHUNK, rows - first), first, rows, now, rnd)

            def write(batch: list[tuple[Any, ...]] = batch) -> None:
                database = db.models.database
                connection = database.connection()
                if is_postgresql(database):
                    with connection.cursor().copy(f"COPY requests ({COLUMNS}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                    return
                with database.atomic():
                    connection.execute(
                        f"CREATE TEMP TABLE staging AS SELECT {COLUMNS} FROM requests LIMIT 0"
                    )
                    connection.executemany(f"INSERT INTO staging VALUES ({marks})", batch)
                    connection.execute(f"INSERT INTO requests ({COLUMNS}) SELECT * FROM staging")
                    connection.execute("DROP TABLE staging")
                # The search index takes them as the recorder's flushes have it take rows, a
                # batch at a time, so its segments are what a recorder's would be.
                while catch_up(database, INDEX_BATCH) == INDEX_BATCH:
                    pass

            await db.run(write)
            print(f"  {first + len(batch):>9,} rows  {time.perf_counter() - started:6.1f} s")
    finally:
        await db.close()
    if url:
        size = await asyncio.to_thread(vacuum_analyze, url)
    else:
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    print(f"filled {rows:,} rows in {time.perf_counter() - started:.1f} s; store {size >> 20} MB")


def vacuum_analyze(url: str) -> int:
    """What autovacuum does after bulk inserts (statistics for the planner, the visibility map
    for index-only counts), done now; the table's size with its indexes in bytes."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) requests")
        row = connection.execute("SELECT pg_total_relation_size('requests')").fetchone()
    return int(row[0]) if row else 0
