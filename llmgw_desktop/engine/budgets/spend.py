"""What was spent since a period began, read back from the flight recorder's rows.

One grouped read per period start (at most two: today and this month), on the read lane,
through the `started_at` index: tokens and cost per (principal, caller, project), which the
ledger sums into each budget and lane. Only rows that finished before `cut` are read: the
ledger counts every row finishing from `cut` on from the recorder's events, so no row is
counted twice or missed while the read runs (`ledger.py`).

The rows are read when a process loads a budget's period (`count_in`): at its start, when a
budget is added or comes back, at a rollover. The first process writes the period's lanes
from them (`lanes.count_period`); after that the lanes grow only by the calls that processes
with the budget loaded see finish, so a call that finished while none had it loaded (the app
ran without it or on defaults, the budget was removed and added back) is in the rows and in no
lane. So every later load raises each lane to what the rows say where it reads less: its spend
becomes max(spend + what this process still owes it, rows) (`lanes.count_at_least`), and a
budget's spend, once loaded, is never below what the recorder's finished rows it covers cost.
A max, not a watermark of which rows each lane counted: a lane's additions come from events
in every process, not from rows, and marking rows counted would be a write per call and budget;
and a lane may rightly hold more than its rows (a dead process's holds counted in full), which
the max keeps. Its price is an over-count on the safe side: a call whose row another process
has written but whose cost it has not yet added to the lane (its flush, tens of milliseconds;
on PostgreSQL, one of this process's own being written) is counted twice when the raise lands
between the two. What this process owes is taken back
first (`LaneAccounts.take_adds`: those calls are in the rows), so it counts once. A period a
process has read so and keeps loaded is not read again (`BudgetLedger._read_here`): each call
reaches its lanes by that process's events. A process that keeps a budget loaded throughout
does not see the calls another process sharing the store runs without it until its next load.

A token budget counts every token of a call (input, output, cache reads and cache writes); the
read says how many were cache reads and writes too, so the desk can say so beside the total
(`cache_parts_of`): the Agents page lists input and output only, and "8,025 tokens" beside its
2,800 in and 225 out read as a mistake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmgw_desktop.config.budgets import Budget
from llmgw_desktop.engine.budgets.lanes import LaneKey
from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.store import Database, StoreUnavailable
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import is_postgresql, portable

if TYPE_CHECKING:
    from llmgw_desktop.engine.budgets.lane_accounts import LaneAccounts

__all__ = [
    "CacheParts",
    "Lanes",
    "SpendGroup",
    "add_to",
    "amount_of_tokens",
    "cache_parts_of",
    "count_in",
    "lanes_of",
    "read_spend",
    "used_up",
    "with_owed",
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

# SQLite walked the whole (owner, started_at) index to group in its order, an entry for every
# row of the store even for a day's spend; `+` (a no-op on any value) makes it seek the
# period's rows by `started_at` and group them aside. PostgreSQL has no `+` for text, and
# plans by the period.
_GROUPS = {
    False: "+owner_principal, coalesce(caller, ''), project",
    True: "owner_principal, coalesce(caller, ''), project",
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
    postgresql = is_postgresql(database)
    sql = (
        "SELECT owner_principal, coalesce(caller, ''), project, "  # noqa: S608
        f"{_FIGURES[postgresql]}"
        " FROM requests WHERE started_at >= ? AND finished_at IS NOT NULL AND finished_at < ?"
        f" GROUP BY {_GROUPS[postgresql]}"
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


def amount_of_tokens(event: RequestFinished) -> float:
    """What a finished call adds to a token budget: every token it counted."""
    return float(
        event.input_tokens
        + event.output_tokens
        + event.cache_read_tokens
        + event.cache_write_tokens
    )


def add_to(table: Lanes, key: str, lane: str, amount: float) -> float:
    """Add `amount` to `lane` of budget `key` in `table`; the lane's sum now."""
    lanes = table.get(key)
    if lanes is None:
        lanes = table[key] = {}
    total = lanes[lane] = lanes.get(lane, 0.0) + amount
    return total


def with_owed(
    spent: Mapping[LaneKey, float],
    budgets: Iterable[Budget],
    periods: Mapping[str, float],
    before: Lanes,
    owed: Callable[[LaneKey], float],
) -> Lanes:
    """Each lane of `budgets` as the store has it (`spent`; `periods`: budget key -> its
    period's start) plus what this process still `owed` it; a lane counted `before` that the
    store has nothing on yet stays, at 0, once it had spent something."""
    table: Lanes = {}
    for key, amount in spent.items():
        add_to(table, key.budget, key.lane, amount)
    for budget in budgets:
        start = periods[budget.key]
        lanes = table.setdefault(budget.key, {})
        for lane, amount in before.get(budget.key, {}).items():
            due = owed(LaneKey(budget.key, lane, start))
            if due:
                lanes[lane] = lanes.get(lane, 0.0) + due
            elif lane not in lanes and amount:
                lanes[lane] = 0.0
    return table


def used_up(budgets: Iterable[Budget], table: Lanes) -> bool:
    """Whether a lane of a hard budget among `budgets` has spent its limit in `table`."""
    return any(
        budget.hard is not None and spent >= budget.hard
        for budget in budgets
        for spent in table.get(budget.key, {}).values()
    )


async def count_in(
    accounts: LaneAccounts,
    db: Database,
    flush_rows: Callable[[], Awaitable[bool]],
    budgets: list[Budget],
    periods: dict[str, float],
    *,
    counted: Container[str],
    cut: float,
) -> None:
    """Count `budgets`' periods in from the recorder's rows that finished before `cut` (one
    grouped read per period start, however many budgets; `flush_rows` writes the recorder's
    rows first): a period not `counted` in yet is written once, unless another process does it
    first; a counted one has each lane raised to what the rows say, if it read less.

    Raises:
        StoreUnavailable: the store cannot be reached (what was owed is owed again).
    """
    # What this process owes those periods is in the rows once the recorder has written
    # them: taken back, so the rows count it once.
    owed = {b.key: accounts.take_adds(b.key, periods[b.key]) for b in budgets}
    database = db.models.database
    groups: dict[float, list[SpendGroup]] = {}  # filled on a database thread
    try:
        if not await flush_rows():
            raise StoreUnavailable(db.engine.where, "the recorder cannot write")
        for budget in budgets:
            start = periods[budget.key]

            def spent_so_far(budget: Budget = budget, start: float = start) -> dict[str, float]:
                if start not in groups:
                    groups[start] = read_spend(database, since=start, cut=cut)
                return lanes_of(budget, groups[start])

            if budget.key in counted:
                in_rows = await db.read(spent_so_far)  # read aside: the write is short
                await accounts.count_at_least(budget.key, start, in_rows, owed[budget.key])
                owed.pop(budget.key)
            elif not await accounts.count_in(budget.key, start, spent_so_far):
                # Another process counted it: this one still owes what it owed.
                accounts.give_back(owed.pop(budget.key))
            else:
                owed.pop(budget.key)
    finally:
        for adds in owed.values():  # not counted here (a failure): owed again
            accounts.give_back(adds)
