"""Pruning the flight recorder in small transactions.

One `DELETE` of 800,000 rows held the database thread (and the FTS triggers with it) for
about 80 s, while the recorder page waited on that thread with an empty table and
"counting…". Here each transaction deletes at most a batch of rows, lowest rowids (the
oldest) first, and the loop hands the thread back between batches, so a page read or a
recorder flush waits for one batch at most.

How long a batch holds the thread depends on the engine and the rows: on PostgreSQL 5,000
rows take about 20 ms, on SQLite (whose search-index triggers delete each row's words too)
300 to 400 ms (`bench/recorder_write.py`). So the batch adapts: it starts at `PRUNE_BATCH`,
halves while a batch takes longer than `HOLD_TARGET_S`, and grows back while it is quick.

Over the row cap, each principal has a fair share of it (`fair_shares`): the principals over
their share lose their own oldest rows first. Oldest first over the whole table let one caller
(whose refused requests are rows too) push every other principal's history out at each prune.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from llmgw_desktop.engine.recorder.rows import (
    delete_oldest,
    newest_start_over_cap,
    newest_start_over_share,
    principal_counts,
)
from llmgw_desktop.engine.store import Database

__all__ = ["PRUNE_BATCH", "fair_shares", "prune_rows"]

log = logging.getLogger(__name__)

PRUNE_BATCH = 5_000
MIN_BATCH = 200
# The longest a batch should hold the database thread: a page read waits this long at most.
HOLD_TARGET_S = 0.05
# A breath between batches: the loop runs, and queued reads get the database thread first.
PRUNE_PAUSE_S = 0.01


async def prune_rows(
    db: Database, *, cutoff: float, max_rows: int, batch: int = PRUNE_BATCH
) -> int:
    """Delete rows started before `cutoff`, then the oldest beyond `max_rows`; how many."""

    size = batch

    def delete_timed(
        before: float, inclusive: bool, limit: int, principal: str | None
    ) -> tuple[int, float]:
        began = time.perf_counter()
        gone = delete_oldest(
            db.models.database, before, inclusive=inclusive, batch=limit, principal=principal
        )
        return gone, time.perf_counter() - began

    async def delete_all(before: float, inclusive: bool, principal: str | None = None) -> int:
        nonlocal size
        removed = 0
        while True:
            limit = size
            step = functools.partial(delete_timed, before, inclusive, limit, principal)
            gone, took = await db.run(step)
            removed += gone
            if gone < limit:
                return removed
            if took > HOLD_TARGET_S:
                size = max(min(MIN_BATCH, batch), size // 2)
            elif took < HOLD_TARGET_S / 4:
                size = min(batch, size * 2)
            await asyncio.sleep(PRUNE_PAUSE_S)

    removed = await delete_all(cutoff, False)
    counts = await db.run(lambda: principal_counts(db.models.database))
    for principal, keep in fair_shares(counts, max_rows).items():
        over = await db.run(
            functools.partial(newest_start_over_share, db.models.database, principal, keep)
        )
        if over is not None:
            removed += await delete_all(over, True, principal)
    # Rows sharing a start time, or written meanwhile: the cap holds whatever the shares did.
    over = await db.run(lambda: newest_start_over_cap(db.models.database, max_rows))
    if over is not None:
        removed += await delete_all(over, True)
    return removed


def fair_shares(counts: dict[str, int], max_rows: int) -> dict[str, int]:
    """How many rows each principal over its share may keep, when all of them together are
    over `max_rows` (max-min fair: a principal under an equal share keeps all it has, and what
    it leaves is shared among the rest); principals not named keep everything."""
    if sum(counts.values()) <= max_rows:
        return {}
    left, ordered = max_rows, sorted(counts.items(), key=lambda item: item[1])
    for index, (_, count) in enumerate(ordered):
        share = left // (len(ordered) - index)
        if count > share:
            return {principal: share for principal, _ in ordered[index:]}
        left -= count
    return {}
