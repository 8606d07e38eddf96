"""What was spent since a period began, read back from the flight recorder's rows.

One grouped read per period start (at most two: today and this month), on the read lane,
through the `started_at` index: tokens and cost per (principal, caller, project), which the
ledger sums into each budget and lane. Only rows that finished before `cut` are read: the
ledger counts every row finishing from `cut` on from the recorder's events, so no row is
counted twice or missed while the read runs (`ledger.py`).

A token budget counts every token of a call (input, output, cache reads and cache writes); the
read says how many were cache reads and writes too, so the desk can say so beside the total
(`cache_parts_of`): the Agents page lists input and output only, and "8,025 tokens" beside its
2,800 in and 225 out read as a mistake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llmgw_desktop.config.budgets import Budget
from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = [
    "CacheParts",
    "Lanes",
    "SpendGroup",
    "add_to",
    "amount_of",
    "cache_parts_of",
    "lanes_of",
    "read_spend",
]

# Spend per budget key, then per lane (the principal, or "" for a budget's one total).
Lanes = dict[str, dict[str, float]]

_TOKENS = "input_tokens + output_tokens + cache_read_tokens + cache_write_tokens"
# PostgreSQL has no total() and sums integers as numeric: the same figures, spelled its way.
_FIGURES = {
    False: f"sum({_TOKENS}), total(cost_usd), sum(cache_read_tokens), sum(cache_write_tokens)",
    True: (
        f"sum({_TOKENS})::bigint, coalesce(sum(cost_usd), 0.0),"
        " sum(cache_read_tokens)::bigint, sum(cache_write_tokens)::bigint"
    ),
}


@dataclass(frozen=True)
class SpendGroup:
    """What one principal's agent spent in one project (None: no project named) since the
    period began."""

    principal: str
    caller: str
    project: str | None
    tokens: int  # every token: input, output, cache reads and cache writes
    cost_usd: float
    cache_read: int = 0  # of `tokens`, those read from the provider's prompt cache
    cache_write: int = 0  # and those written to it


@dataclass(frozen=True)
class CacheParts:
    """Of a token budget's lane's spend, the tokens read from and written to prompt caches."""

    read: int = 0
    write: int = 0


def read_spend(database: peewee.Database, *, since: float, cut: float) -> list[SpendGroup]:
    """Rows started at or after `since` and finished before `cut`, summed per principal,
    caller and project (call on the database thread)."""
    sql = (
        "SELECT owner_principal, coalesce(caller, ''), project, "  # noqa: S608
        f"{_FIGURES[is_postgresql(database)]}"
        " FROM requests WHERE started_at >= ? AND finished_at IS NOT NULL AND finished_at < ?"
        " GROUP BY owner_principal, coalesce(caller, ''), project"
    )
    rows = database.execute_sql(portable(database, sql), (since, cut)).fetchall()
    return [
        SpendGroup(
            str(principal),
            str(caller),
            project,
            int(tokens or 0),
            float(cost or 0.0),
            int(read or 0),
            int(write or 0),
        )
        for principal, caller, project, tokens, cost, read, write in rows
    ]


def lanes_of(budget: Budget, groups: Iterable[SpendGroup]) -> dict[str, float]:
    """What `groups` spent on each of `budget`'s lanes, in its unit (dollars or tokens)."""
    lanes: dict[str, float] = {}
    for g in groups:
        lane = budget.lane(g.principal, g.caller, g.project)
        if lane is not None:
            amount = g.cost_usd if budget.unit == "usd" else g.tokens
            lanes[lane] = lanes.get(lane, 0.0) + amount
    return lanes


def cache_parts_of(budget: Budget, groups: Iterable[SpendGroup]) -> dict[str, CacheParts]:
    """Per lane of `budget`, the cache reads and writes among what `groups` spent."""
    parts: dict[str, CacheParts] = {}
    for g in groups:
        lane = budget.lane(g.principal, g.caller, g.project)
        if lane is not None:
            was = parts.get(lane, CacheParts())
            parts[lane] = CacheParts(was.read + g.cache_read, was.write + g.cache_write)
    return parts


def amount_of(budget: Budget, event: RequestFinished) -> float:
    """What a finished call adds to `budget`: its dollars, or every token it counted."""
    if budget.unit == "usd":
        return float(event.cost_usd or 0.0)
    return float(
        event.input_tokens
        + event.output_tokens
        + event.cache_read_tokens
        + event.cache_write_tokens
    )


def add_to(table: Lanes, key: str, lane: str, amount: float) -> None:
    """Add `amount` to `lane` of budget `key` in `table`."""
    lanes = table.setdefault(key, {})
    lanes[lane] = lanes.get(lane, 0.0) + amount
