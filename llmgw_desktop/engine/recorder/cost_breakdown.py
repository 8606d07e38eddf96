"""What was spent, grouped by provider, model, project, agent, principal or the session a client
named, over a window.

Read from the flight recorder's rows (the read lane: the database thread, never the loop): one
grouped query for the biggest spenders (at most `GROUPS_MAX` groups, so the desk never lays out
thousands) and one for the window's total, so the total stays true when groups are left off.
The window is bounded by time, through the `started_at` index, and the rows by the recorder's
own row cap. A row that used tokens but has no cost (its model is not in the price table and
the CLI reported none) is counted as "not priced", never as $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from llmgw_desktop.engine.recorder.attempts import CLIENT_REQUESTS_SQL
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import is_postgresql, portable
from llmgw_desktop.engine.tokens.pricing import PRICES_REVISED, price_table

__all__ = [
    "COST_DIMENSIONS",
    "COST_WINDOWS",
    "GROUPS_MAX",
    "CostBreakdown",
    "CostDimension",
    "CostGroup",
    "read_cost_breakdown",
]

CostDimension = Literal["provider", "model", "project", "caller", "principal", "session"]
# What the person picks -> the column it groups by; the agent is the recorder's `caller`, the
# principal who made the call (a gateway key is `key:<name>`: the Access keys page's spend) its
# owner, the session the one its client named (Claude Code's, Codex's).
COST_DIMENSIONS: dict[CostDimension, str] = {
    "provider": "provider",
    "model": "model",
    "project": "project",
    "caller": "caller",
    "principal": "owner_principal",
    "session": "client_session",
}
COST_WINDOWS: dict[str, float] = {"24 h": 86400.0, "7 d": 7 * 86400.0, "30 d": 30 * 86400.0}
GROUPS_MAX = 50

_UNPRICED = (
    "CASE WHEN cost_usd IS NULL AND input_tokens + output_tokens + cache_read_tokens"
    " + cache_write_tokens > 0 THEN 1 ELSE 0 END"
)
# A request whose cost is known: priced, or ended having used no tokens (a call that failed
# before any was reported costs nothing); one still running is not known yet.
COST_KNOWN = (
    "CASE WHEN cost_usd IS NOT NULL OR (state <> 'started' AND input_tokens + output_tokens"
    " + cache_read_tokens + cache_write_tokens = 0) THEN 1 ELSE 0 END"
)
# PostgreSQL has no total() and sums integers as numeric: the same figures, spelled its way.
# A group's requests are those its clients sent (`attempts.py`: an attempt that failed over is
# its provider's call, counted in the cost, not a request); its cost is every row's.
_FIGURES = {
    False: f"{CLIENT_REQUESTS_SQL}, count(cost_usd), total(cost_usd), sum({_UNPRICED})",
    True: (
        f"({CLIENT_REQUESTS_SQL})::bigint, count(cost_usd), coalesce(sum(cost_usd), 0.0),"
        f" sum({_UNPRICED})::bigint"
    ),
}


@dataclass(frozen=True)
class CostGroup:
    """One provider, model, project or agent: its requests and what they cost."""

    name: str  # "" when the rows name none (no project given, say)
    requests: int  # what clients sent (`attempts.py`): a group's last attempts
    priced: int  # requests with a cost (reported by the CLI or estimated)
    unpriced: int  # requests that used tokens but could not be priced
    cost_usd: float


@dataclass(frozen=True)
class CostBreakdown:
    """The biggest groups of one window, the window's total, and the prices behind estimates."""

    by: CostDimension
    window_s: float
    groups: list[CostGroup]
    total: CostGroup
    groups_left_off: bool  # more than `GROUPS_MAX` groups: only the biggest are listed
    prices_revised: str = PRICES_REVISED
    price_sources: tuple[str, ...] = ()


def read_cost_breakdown(
    database: peewee.Database,
    *,
    by: CostDimension,
    since: float,
    window_s: float,
    finished_before: float | None = None,
) -> CostBreakdown:
    """Rows started at or after `since` (and, with `finished_before`, finished before it),
    summed per `by` (call on the database thread).

    Raises:
        ValueError: `by` is not one of `COST_DIMENSIONS`.
    """
    if by not in COST_DIMENSIONS:
        raise ValueError(f"cannot group costs by {by!r}")
    column = COST_DIMENSIONS[by]  # one of the constants above: safe to place in the SQL
    figures = _FIGURES[is_postgresql(database)]
    where, bounds = "started_at >= ?", [since]
    if finished_before is not None:
        where = f"{where} AND finished_at < ?"
        bounds.append(finished_before)
    grouped = (
        f"SELECT coalesce({column}, ''), {figures} FROM requests"  # noqa: S608
        f" WHERE {where} GROUP BY coalesce({column}, '')"
        " ORDER BY 4 DESC, 2 DESC, 1 LIMIT ?"
    )
    rows = database.execute_sql(portable(database, grouped), (*bounds, GROUPS_MAX + 1)).fetchall()
    total_sql = f"SELECT '', {figures} FROM requests WHERE {where}"  # noqa: S608
    total = database.execute_sql(portable(database, total_sql), tuple(bounds)).fetchone()
    return CostBreakdown(
        by=by,
        window_s=window_s,
        groups=[_group(row) for row in rows[:GROUPS_MAX]],
        total=_group(total),
        groups_left_off=len(rows) > GROUPS_MAX,
        price_sources=tuple(price_table().sources.values()),
    )


def _group(row: Any) -> CostGroup:
    name, requests, priced, cost, unpriced = row
    return CostGroup(str(name), int(requests), int(priced), int(unpriced or 0), float(cost or 0.0))
