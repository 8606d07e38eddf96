"""The flight recorder's write rate and its retention prune, on SQLite and on PostgreSQL.

Usage: python bench/recorder_write.py [--requests 20000] [--old-rows 500000]
       [--engine sqlite|postgresql ...] [--store-url postgresql://...]

For each engine (both by default, one after the other in the same run; PostgreSQL in a
throwaway cluster, bench/_postgres.py, or the empty database `--store-url` names):

1. `--old-rows` requests older than the retention period go into a fresh store (bulk, as
   bench/recorder_view.py fills it), so the writes below meet indexes of a realistic size.
2. Write rate: `--requests` requests through the real `FlightRecorder`, flushed in batches of
   `BATCH` as its quarter-second flush does under load, two ways: started and finished before
   one flush (one INSERT per row), and finished a flush after they started, as a request that
   takes longer than a quarter second is (an INSERT, then an UPDATE). Printed as rows/s with
   the median and worst flush.
3. Retention: `FlightRecorder.prune` removes the old rows in its batched deletes
   (`PRUNE_BATCH` rows a transaction). Printed: the total time, the number of batches and the
   longest the database thread was held by one batch (measured around the engine's own
   transaction, commit included): what a page read or a recorder flush waits at worst.

Nothing here waits on a timer; every loop is bounded by its count.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from _postgres import ENGINES, store_url  # noqa: E402
from _recorder_rows import DAYS, fill  # noqa: E402

from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder  # noqa: E402
from llmgw_desktop.engine.recorder.prune import PRUNE_BATCH  # noqa: E402
from llmgw_desktop.engine.store import Database  # noqa: E402

T = TypeVar("T")
BATCH = 500  # rows a flush writes: about a quarter second's worth at 2,000 requests/s
RETENTION_DAYS = DAYS
AGE_S = (DAYS + 1) * 86400.0  # the old rows end a day before the retention cutoff


def hold_timer(db: Database) -> list[float]:
    """Time every call the store runs on its database thread, transaction and commit included
    (the engine's own `run`): the list fills with seconds, one entry a call."""
    holds: list[float] = []
    engine_run = db.engine.run

    def timed(database: Any, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return engine_run(database, fn)
        finally:
            holds.append(time.perf_counter() - started)

    setattr(db.engine, "run", timed)  # noqa: B010 - this instance only, for the bench
    return holds


async def write_rate(recorder: FlightRecorder, requests: int, *, finish_later: bool) -> str:
    """Push `requests` through the recorder in flushes of `BATCH`; a line of figures."""
    flushes: list[float] = []
    open_ids: list[str] = []
    started = time.perf_counter()
    for _ in range(max(1, requests // BATCH)):
        ids = [
            recorder.start(principal="local", provider="openai", caller="bench", model="gpt-4o")
            for _ in range(BATCH)
        ]
        finishing, open_ids = (open_ids, ids) if finish_later else (ids, [])
        for record_id in finishing:
            recorder.finish(record_id, state="completed", input_tokens=10, output_tokens=2)
        flush_started = time.perf_counter()
        if not await recorder.flush():
            raise SystemExit(f"the recorder could not write: {recorder.last_error}")
        flushes.append((time.perf_counter() - flush_started) * 1000)
    for record_id in open_ids:
        recorder.finish(record_id, state="completed", input_tokens=10, output_tokens=2)
    await recorder.flush()
    took = time.perf_counter() - started
    written = len(flushes) * BATCH
    shape = "insert, update a flush later" if finish_later else "insert (start + finish)"
    return (
        f"  {shape:<30} {written / took:8,.0f} rows/s  flush of {BATCH}: median"
        f" {statistics.median(flushes):5.1f} ms, worst {max(flushes):5.1f} ms"
    )


async def run_engine(name: str, url: str, scratch: Path, requests: int, old_rows: int) -> None:
    path = scratch / f"{name}.db"
    print(f"\n{name}:")
    await fill(path, old_rows, url, now=time.time() - AGE_S)
    db = Database(path, url=url)
    await db.open()
    try:
        recorder = FlightRecorder(db, retention_days=RETENTION_DAYS, max_rows=10 * old_rows)
        for finish_later in (False, True):
            print(await write_rate(recorder, requests // 2, finish_later=finish_later))
        holds = hold_timer(db)
        started = time.perf_counter()
        removed = await recorder.prune()
        took = time.perf_counter() - started
        batches = holds[:-1]  # the last call is the row-cap check, not a delete
        print(
            f"  prune of {removed:,} rows: {took:.1f} s ({removed / took:,.0f} rows/s) in"
            f" {len(batches)} batches (at most {PRUNE_BATCH:,} rows, fewer after a slow one);"
            " longest hold of the database thread"
            f" {max(batches) * 1000:.0f} ms, median {statistics.median(batches) * 1000:.0f} ms"
        )
    finally:
        await db.close()


async def main_async(args: argparse.Namespace) -> None:
    print(f"{time.strftime('%Y-%m-%d')}; {args.requests:,} requests; {args.old_rows:,} old rows")
    with tempfile.TemporaryDirectory(prefix="llmgw-recorder-write-") as scratch:
        for name in args.engine or ENGINES:
            if name == "sqlite":
                await run_engine(name, "", Path(scratch), args.requests, args.old_rows)
                continue
            with store_url(args.store_url) as url:
                await run_engine(name, url, Path(scratch), args.requests, args.old_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--old-rows", type=int, default=500_000)
    parser.add_argument("--engine", choices=ENGINES, action="append")
    parser.add_argument("--store-url", default=None, help="an empty PostgreSQL database to use")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
