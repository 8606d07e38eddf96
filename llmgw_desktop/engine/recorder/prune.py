"""Pruning the flight recorder in small transactions.

One `DELETE` of 800,000 rows held the database thread (and the FTS triggers with it) for
about 80 s, while the recorder page waited on that thread with an empty table and
"counting…". Here each transaction deletes at most `PRUNE_BATCH` rows, lowest rowids (the
oldest) first, and the loop hands the thread back between batches, so a page read or a
recorder flush waits for one batch at most (tens of milliseconds).
"""

from __future__ import annotations

import asyncio
import logging

from llmgw_desktop.engine.recorder.rows import delete_oldest, newest_start_over_cap
from llmgw_desktop.engine.store import Database

__all__ = ["PRUNE_BATCH", "prune_rows"]

log = logging.getLogger(__name__)

PRUNE_BATCH = 5_000
# A breath between batches: the loop runs, and queued reads get the database thread first.
PRUNE_PAUSE_S = 0.01


async def prune_rows(
    db: Database, *, cutoff: float, max_rows: int, batch: int = PRUNE_BATCH
) -> int:
    """Delete rows started before `cutoff`, then the oldest beyond `max_rows`; how many."""

    def delete(before: float, inclusive: bool) -> int:
        return delete_oldest(db.models.database, before, inclusive=inclusive, batch=batch)

    async def delete_all(before: float, inclusive: bool) -> int:
        removed = 0
        while True:
            gone = await db.run(lambda: delete(before, inclusive))
            removed += gone
            if gone < batch:
                return removed
            await asyncio.sleep(PRUNE_PAUSE_S)

    removed = await delete_all(cutoff, False)
    over = await db.run(lambda: newest_start_over_cap(db.models.database, max_rows))
    if over is not None:
        removed += await delete_all(over, True)
    return removed
