"""What the PostgreSQL store's stall watch (`engine/store/stall_watch.py`) costs a transaction.

Usage: python bench/store_watch.py [--transactions 2000] [--rounds 5] [--store-url postgresql://...]

Every transaction on a PostgreSQL store now says when it starts and ends its wait on the server
(`StallWatch.waiting`: a duplicate of the connection's socket, an entry in the watch's table
under its lock) and each COMMIT says so too. This opens a real store (a throwaway cluster,
bench/_postgres.py, or the database `--store-url` names) and runs `--transactions` small ones
(a one-row `SELECT`, as the lease renewals and recorder reads are among the shortest) through
`Database.run`, with the watch as it is and with its two hooks made no-ops, alternating for
`--rounds` rounds in the same run so the machine's load falls on both. Printed: the median
time per transaction each way and their ratio.

Nothing waits on a timer; every loop is bounded by its count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from _postgres import store_url  # noqa: E402

from llmgw_desktop.engine.store import Database  # noqa: E402
from llmgw_desktop.engine.store.stall_watch import StallWatch  # noqa: E402


@contextlib.contextmanager
def _nothing(*_: object) -> Iterator[None]:
    yield


@contextlib.contextmanager
def _unwatched() -> Iterator[None]:
    """The watch's two hooks made no-ops for the length of the block."""
    waiting, committing = StallWatch.waiting, StallWatch.committing
    StallWatch.waiting = lambda self, connection: _nothing()  # type: ignore[method-assign,assignment]
    StallWatch.committing = lambda self: _nothing()  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        StallWatch.waiting, StallWatch.committing = waiting, committing  # type: ignore[method-assign]


async def _per_transaction(db: Database, count: int) -> float:
    database = db.models.database
    began = time.perf_counter()
    for _ in range(count):
        await db.run(lambda: database.execute_sql("SELECT 1").fetchone())
    return (time.perf_counter() - began) / count


async def main(args: argparse.Namespace) -> None:
    with store_url(args.store_url) as url, tempfile.TemporaryDirectory() as home:
        db = Database(Path(home) / "unused.db", url=url)
        await db.open()
        try:
            await _per_transaction(db, 200)  # warm: the pool's connections, the plans
            watched: list[float] = []
            bare: list[float] = []
            for round_ in range(args.rounds):
                # Each first every other round: neither pays for going first.
                for watch_first in (round_ % 2 == 0, round_ % 2 == 1):
                    if watch_first:
                        watched.append(await _per_transaction(db, args.transactions))
                    else:
                        with _unwatched():
                            bare.append(await _per_transaction(db, args.transactions))
        finally:
            await db.close()
    w, b = statistics.median(watched), statistics.median(bare)
    print(f"{args.transactions} transactions x {args.rounds} rounds on PostgreSQL")
    print(f"watched: {w * 1e6:.0f} us a transaction (median of rounds)")
    print(f"bare:    {b * 1e6:.0f} us a transaction")
    print(f"ratio watched / bare: {w / b:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store-url", default=None)
    asyncio.run(main(parser.parse_args()))
