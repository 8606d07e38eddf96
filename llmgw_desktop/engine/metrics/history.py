"""The dashboard's figures of the last 24 h, and each provider's calls of the health window,
read back from the flight recorder at start-up.

`LiveMetrics` counts in memory, so after a restart Overview said "No requests in the last
24 h" while the store held hundreds from minutes before. At start-up a background task sums
the rows earlier runs finished in the longest chart window, on the database thread, grouped
by provider, model and a span no coarser than the charts draw (5 s for the last hour, 5 min
before it), and the metrics add each group once: the event loop's share is a few thousand
additions at most, whatever the number of rows.
"""

from __future__ import annotations

from llmgw_desktop.engine.gateway.desk.probe import KEY_CHECK_CALLER
from llmgw_desktop.engine.metrics.health import (
    HEALTH_WINDOW_S,
    MAX_PROVIDERS,
    MAX_SAMPLES,
    NOT_THE_PROVIDERS_CODES,
    REQUESTS_OWN_STATUSES,
    CallHealth,
    PastCall,
)
from llmgw_desktop.engine.metrics.live import WINDOWS, LiveMetrics, PastTraffic
from llmgw_desktop.engine.recorder import NotAsked, past_calls, past_traffic
from llmgw_desktop.engine.store import Database

__all__ = ["rebuild_health", "rebuild_metrics"]

# The finest bucket of each span: 5 s serves the 15 min and 1 h charts (buckets of 5 and 15 s,
# aligned on the epoch like these), 5 min serves the 24 h chart.
FINE_S = WINDOWS[0].bucket_s
COARSE_S = WINDOWS[-1].bucket_s
FINE_SPAN_S = WINDOWS[1].span_s
# The start-time bound walks the index (finished_at has none): a request that ran longer than
# this before the window began is left out.
LONGEST_REQUEST_S = 3600.0
# What a provider was not asked, or what says nothing of it, as its live count has it.
NOT_ASKED = NotAsked(
    callers=(KEY_CHECK_CALLER,),
    codes=tuple(sorted(NOT_THE_PROVIDERS_CODES)),
    rejected=tuple(sorted(REQUESTS_OWN_STATUSES)),
)


async def rebuild_metrics(db: Database, metrics: LiveMetrics, *, before: float) -> int:
    """Add what finished in the longest window before `before` (this run's start, so nothing
    this run counts live is counted twice); how many requests that was."""
    since = before - WINDOWS[-1].span_s
    fine_from = before - FINE_SPAN_S

    def read() -> list[PastTraffic]:
        database = db.models.database
        spans = ((since, fine_from, COARSE_S), (fine_from, before, FINE_S))
        return [
            PastTraffic(
                at=float(row[0]),
                provider=row[1],
                model=row[2],
                requests=int(row[3]),
                input_tokens=int(row[4] or 0),
                output_tokens=int(row[5] or 0),
                cache_read_tokens=int(row[6] or 0),
                cache_write_tokens=int(row[7] or 0),
                cost_usd=float(row[8] or 0.0),
                refused=int(row[9] or 0),
                asked=int(row[10] or 0),
                errors=int(row[11] or 0),
                canceled=int(row[12] or 0),
                measured_prompt_tokens=int(row[13] or 0),
                failed_over=int(row[14] or 0),
            )
            for start, end, size in spans
            for row in past_traffic(
                database,
                started_from=since - LONGEST_REQUEST_S,
                start=start,
                end=end,
                span_s=size,
                not_asked=NOT_ASKED,
            )
        ]

    return metrics.replay(await db.read(read))


async def rebuild_health(db: Database, health: CallHealth, *, before: float) -> int:
    """Count the calls finished in the health window before `before` (this run's start) in
    each provider's health, so that after a restart the verdict and the rebuilt charts' failures
    agree. How many."""
    since = before - HEALTH_WINDOW_S

    def read() -> list[PastCall]:
        return past_calls(
            db.models.database,
            started_from=since - LONGEST_REQUEST_S,
            start=since,
            end=before,
            limit=MAX_PROVIDERS * MAX_SAMPLES,
            not_asked=NOT_ASKED,
        )

    return health.replay(await db.read(read))
