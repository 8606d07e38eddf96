"""The dashboard's figures of the last 24 h, read back from the flight recorder at start-up.

`LiveMetrics` counts in memory, so after a restart Overview said "No requests in the last
24 h" while the store held hundreds from minutes before. At start-up the rows an earlier run
finished within the longest chart window are read (on the database thread, as a background
task, at most `REBUILD_MAX_ROWS` of the newest) and replayed into the metrics.
"""

from __future__ import annotations

from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.metrics import WINDOWS, LiveMetrics
from llmgw_desktop.engine.store import Database

__all__ = ["REBUILD_MAX_ROWS", "rebuild_metrics"]

# A busy day's rows at most: reading them takes well under a second, and the buckets they fill
# cost the same whatever their number.
REBUILD_MAX_ROWS = 200_000

_SQL = (
    "SELECT id, provider, model, state, owner_principal, caller, started_at, finished_at,"
    " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd"
    # The start-time bound walks the index (finished_at has none); a request that ran longer
    # than LONGEST_REQUEST_S before the window is left out.
    " FROM requests WHERE started_at >= ? AND finished_at >= ? AND finished_at < ?"
    " ORDER BY started_at DESC LIMIT ?"
)
LONGEST_REQUEST_S = 3600.0


async def rebuild_metrics(
    db: Database, metrics: LiveMetrics, *, before: float, limit: int = REBUILD_MAX_ROWS
) -> int:
    """Replay rows finished in the longest window before `before` (this run's start, so
    nothing this run counts live is counted twice); how many were replayed."""
    since = before - WINDOWS[-1].span_s

    def read() -> list[RequestFinished]:
        connection = db.models.database.connection()
        return [
            RequestFinished(
                record_id=row[0],
                provider=row[1],
                model=row[2],
                state=row[3],
                principal=row[4],
                caller=row[5],
                started_at=row[6],
                finished_at=row[7],
                input_tokens=int(row[8] or 0),
                output_tokens=int(row[9] or 0),
                cache_read_tokens=int(row[10] or 0),
                cache_write_tokens=int(row[11] or 0),
                cost_usd=row[12],
            )
            for row in connection.execute(_SQL, (since - LONGEST_REQUEST_S, since, before, limit))
        ]

    return metrics.replay(await db.run(read))
