"""Hard budgets counted in the store: what every process sharing it admits calls against.

A budget keeps its spend in the store, per lane and period (`budget_spend`), and what calls
running in any process hold against it (`budget_holds`, one row per call and lane, owned by
the process that admitted the call). Admitting a call is one transaction on the lanes it
counts on: their spend and holds are read, the ledger's rule decides, and the call's holds
are written before the transaction ends. On PostgreSQL the transaction first takes an
advisory lock per lane (`StoreEngine.serialize`), so two processes admitting on one lane go
one after the other and the second sees the first's hold; on SQLite the file has one writer.
A lane's spend and its holds are read in one statement (one snapshot), so a settlement that
commits meanwhile (the hold deleted, the cost added) is seen whole or not at all.

Settling is the other half: each process adds the cost of its finished calls to their lanes
and deletes the holds of calls that ended, in one transaction. An addition is made only once
the budget's period has been counted in (`budget_periods`): the first process to need a
budget in a period reads its spend so far from the recorder's rows (`spend.read_spend`) and
marks the period counted; until then a process keeps its additions. A process loading a
counted period raises its lanes to what those rows say where they read less (`count_at_least`).

A process that dies (kill -9) leaves holds no live lease owns (`process_leases`). The next
admission on such a lane counts each as spent in full, the most its call could have cost, and
deletes it: a crash never gives a budget back money that may have been spent.

Every function runs on the database thread (`Database.run`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = [
    "LaneKey",
    "LaneState",
    "LanesRead",
    "SeenLanes",
    "Verdict",
    "admit",
    "count_at_least",
    "count_period",
    "lane_state",
    "lock_lanes",
    "read_lanes",
    "reclaim_dead",
    "settle",
    "transaction",
]

# Holds deleted per statement (a settlement after a burst of calls can end many at once).
_DELETE_CHUNK = 500


class LaneKey(NamedTuple):
    """One lane of one budget in one period: where spend and holds are counted.

    A named tuple, not a dataclass: a call looks its lanes up in dicts about twenty times, and
    a tuple hashes and compares in C where a frozen dataclass's generated `__hash__` runs
    Python each time."""

    budget: str  # `Budget.key`
    lane: str  # the principal, or "" for a budget with one total
    period_start: float


@dataclass(frozen=True)
class LaneState:
    """A lane as an admission sees it: its spend and what running calls hold on it."""

    spent: float
    held: float
    counted: bool  # the budget's period has been counted in (else `spent` means nothing yet)


class Verdict(Protocol):
    """What the ledger's rule decided: the amounts to hold per lane (empty: hold nothing)."""

    @property
    def holds(self) -> Mapping[LaneKey, float]: ...

    @property
    def refused_under(self) -> tuple[LaneKey, float] | None:
        """A lane that refuses calls (used up, or too little left for the smallest), and the
        hard limit it refuses under."""
        ...


V = TypeVar("V", bound=Verdict)

# A lane's spend, what live calls hold on it, and whether its period was counted in: one
# statement, so one snapshot on PostgreSQL.
_STATE = (
    "SELECT"
    " (SELECT spent FROM budget_spend WHERE budget = ? AND lane = ? AND period_start = ?),"
    " (SELECT coalesce(sum(amount), 0) FROM budget_holds"
    "  WHERE budget = ? AND lane = ? AND period_start = ?),"
    " (SELECT count(*) FROM budget_periods WHERE budget = ? AND period_start = ?)"
)
# Holds on a lane that no live process owns (their process died, or its lease ran out).
_DEAD = (
    "SELECT id, amount FROM budget_holds h"
    " WHERE budget = ? AND lane = ? AND period_start = ? AND process <> ?"
    " AND NOT EXISTS (SELECT 1 FROM process_leases p WHERE p.id = h.process AND p.expires_at > ?)"
)
_ADD = (
    "INSERT INTO budget_spend (budget, lane, period_start, spent) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (budget, lane, period_start)"
    " DO UPDATE SET spent = budget_spend.spent + excluded.spent"
)
# The same, only where the budget's period was counted in (else the row count is 0).
_ADD_COUNTED = (
    "INSERT INTO budget_spend (budget, lane, period_start, spent)"
    " SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION),"
    " CAST(? AS DOUBLE PRECISION)"
    " WHERE EXISTS (SELECT 1 FROM budget_periods WHERE budget = ? AND period_start = ?)"
    " ON CONFLICT (budget, lane, period_start)"
    " DO UPDATE SET spent = budget_spend.spent + excluded.spent"
)
# A lane's spend raised to at least the recorder's rows (the value inserted, `excluded.spent`)
# once what this process owed it (the second amount) is added; PostgreSQL spells max greatest.
_AT_LEAST = (
    "INSERT INTO budget_spend (budget, lane, period_start, spent) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (budget, lane, period_start)"
    " DO UPDATE SET spent = {max}(budget_spend.spent + ?, excluded.spent)"
)
# A lane refuses calls under this hard limit (its spend row made if none); written only when
# it changes, so a caller retrying its refusals makes no writes.
_REFUSED = (
    "INSERT INTO budget_spend (budget, lane, period_start, spent, refused_under)"
    " VALUES (?, ?, ?, 0, ?)"
    " ON CONFLICT (budget, lane, period_start) DO UPDATE SET refused_under = excluded.refused_under"
    " WHERE budget_spend.refused_under IS NULL"
    " OR budget_spend.refused_under <> excluded.refused_under"
)
_HOLD = (
    "INSERT INTO budget_holds (id, budget, lane, period_start, amount, process, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class SeenLanes:
    """Lanes as this process's connection last read them, kept while no other connection has
    written the store since (SQLite's `data_version`, which only another's commit moves; never
    on PostgreSQL): a lane is then what was read plus what this connection wrote since
    (`add`), so the reserves' flush reads it again only where another process may have changed
    it. On the database thread only; whatever writes a lane without saying how (`add`) forgets
    it (`forget`), as does a transaction that fails."""

    def __init__(self) -> None:
        self._states: dict[LaneKey, LaneState] = {}
        self._connection: object = None
        self._version: object = None
        # Nothing kept until a `data_version` is read (on PostgreSQL, whose transactions may run
        # on several threads at once, never).
        self._keeps = False

    def fresh(self, database: peewee.Database) -> bool:
        """Read the store's `data_version` (inside the transaction, before any lane is read):
        whether no other connection has written since the last time (else all is forgotten)."""
        connection, version = None, None
        if not is_postgresql(database):  # whose server says no such thing: always read
            connection = database.connection()
            version = database.execute_sql("PRAGMA data_version").fetchone()[0]
        self._keeps = version is not None
        fresh = self._keeps and connection is self._connection and version == self._version
        if not fresh:
            self._states = {}
        self._connection, self._version = connection, version
        return fresh

    def get(self, key: LaneKey) -> LaneState | None:
        return self._states.get(key)

    def saw(self, key: LaneKey, state: LaneState) -> None:
        if state.counted and self._keeps:
            self._states[key] = state

    def add(self, key: LaneKey, *, spent: float = 0.0, held: float = 0.0) -> None:
        """This connection added `spent` to a lane's spend and `held` to its holds."""
        state = self._states.get(key)
        if state is not None:
            self._states[key] = LaneState(state.spent + spent, state.held + held, True)

    def forget(self, key: LaneKey | None = None) -> None:
        """Read `key` (None: every lane) again next time."""
        if key is None:
            self._states = {}
        else:
            self._states.pop(key, None)


def transaction(database: peewee.Database) -> Any:
    """A write transaction: on SQLite one that takes the file's write lock as it begins, so a
    read-then-write waits its turn (busy timeout) instead of failing `database is locked` when
    another connection (the `keys` CLI) writes meanwhile. Inside one already (the caller's, or
    PostgreSQL's `Database.run`), nothing more: a failure rolls that one back whole, which is
    what every caller here wants, and a savepoint cost two statements (and a uuid) a call."""
    if database.in_transaction():
        return contextlib.nullcontext()
    if isinstance(database, peewee.SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()


def _sql(database: peewee.Database, statement: str, args: tuple[object, ...]) -> Any:
    return database.execute_sql(portable(database, statement), args)


def lane_state(database: peewee.Database, key: LaneKey) -> LaneState:
    """A lane's spend, what running calls (and reserves) hold on it, and whether it is counted."""
    b, lane, start = key.budget, key.lane, key.period_start
    row = _sql(database, _STATE, (b, lane, start, b, lane, start, b, start)).fetchone()
    return LaneState(float(row[0] or 0.0), float(row[1] or 0.0), bool(row[2]))


def reclaim_dead(database: peewee.Database, key: LaneKey, process: str, now: float) -> float:
    """Count the holds of dead processes on `key` as spent (in full) and delete them."""
    args = (key.budget, key.lane, key.period_start, process, now)
    dead = _sql(database, _DEAD, args).fetchall()
    if not dead:
        return 0.0
    amount = sum(float(row[1]) for row in dead)
    _sql(database, _ADD, (key.budget, key.lane, key.period_start, amount))
    _delete_holds(database, [str(row[0]) for row in dead], key)
    return amount


def _delete_holds(database: peewee.Database, ids: list[str], key: LaneKey | None = None) -> None:
    for at in range(0, len(ids), _DELETE_CHUNK):
        chunk = ids[at : at + _DELETE_CHUNK]
        marks = ", ".join("?" * len(chunk))
        where = f"id IN ({marks})"
        args: tuple[object, ...] = tuple(chunk)
        if key is not None:
            where += " AND budget = ? AND lane = ? AND period_start = ?"
            args += (key.budget, key.lane, key.period_start)
        _sql(database, f"DELETE FROM budget_holds WHERE {where}", args)  # noqa: S608


def admit(
    database: peewee.Database,
    serialize: Callable[[str], None],
    keys: Iterable[LaneKey],
    decide: Callable[[dict[LaneKey, LaneState]], V],
    *,
    hold_id: str,
    process: str,
    now: float,
    reclaim: frozenset[LaneKey] | None = None,
) -> tuple[V, dict[LaneKey, LaneState]]:
    """Decide a call on its lanes and write what it holds (or, refused by a lane that refuses
    calls, the limit it refuses under), in one transaction; the verdict and the lanes as it saw
    them (a lane not counted in yet: `decide` sees `counted` False).

    `serialize(key)` takes the cross-process lock on a lane (`StoreEngine.serialize`); `now`
    is the store's time, which the leases are compared with; `reclaim`, the lanes whose dead
    processes' holds are looked for this time (None: every lane).
    """
    lanes = sorted(set(keys))
    with transaction(database):
        lock_lanes(serialize, lanes)
        states: dict[LaneKey, LaneState] = {}
        for key in lanes:
            state = lane_state(database, key)
            look = reclaim is None or key in reclaim
            if state.counted and look and reclaim_dead(database, key, process, now):
                state = lane_state(database, key)
            states[key] = state
        verdict = decide(states)
        for key, amount in verdict.holds.items():
            _sql(
                database,
                _HOLD,
                (hold_id, key.budget, key.lane, key.period_start, amount, process, now),
            )
        if (refused := verdict.refused_under) is not None:
            key, limit = refused
            _sql(database, _REFUSED, (key.budget, key.lane, key.period_start, limit))
    return verdict, states


def lock_lanes(serialize: Callable[[str], None], keys: Iterable[LaneKey]) -> None:
    """Take the cross-process lock of every lane of `keys`, in one order (lanes sorted), so
    two transactions locking some of the same lanes never wait for each other in a circle."""
    for key in sorted(set(keys)):
        serialize(f"budget:{key.budget}|{key.lane}|{key.period_start!r}")


def settle(
    database: peewee.Database, adds: Mapping[LaneKey, float], released: Iterable[str]
) -> dict[LaneKey, float]:
    """Add finished calls' costs to their lanes and delete the holds of calls that ended, in
    one transaction; the additions whose budget period is not counted in yet (kept by the
    caller for later)."""
    kept: dict[LaneKey, float] = {}
    with transaction(database):
        for key, amount in adds.items():
            b, lane, start = key.budget, key.lane, key.period_start
            cursor = _sql(database, _ADD_COUNTED, (b, lane, start, amount, b, start))
            if not cursor.rowcount:
                kept[key] = amount
        ids = sorted(set(released))
        if ids:
            _delete_holds(database, ids)
    return kept


def count_period(
    database: peewee.Database,
    serialize: Callable[[str], None],
    budget: str,
    period_start: float,
    spent_so_far: Callable[[], Mapping[str, float]],
    *,
    now: float,
) -> bool:
    """Count a budget's period in: its spend per lane so far (`spent_so_far`, read from the
    recorder's rows) written once, by whichever process gets here first; whether this call
    did it (False: it was counted already)."""
    with transaction(database):
        serialize(f"budget-period:{budget}|{period_start!r}")
        found = _sql(
            database,
            "SELECT count(*) FROM budget_periods WHERE budget = ? AND period_start = ?",
            (budget, period_start),
        ).fetchone()
        if found and found[0]:
            return False
        for lane, amount in spent_so_far().items():
            if amount > 0:
                _sql(database, _ADD, (budget, lane, period_start, amount))
        _sql(
            database,
            "INSERT INTO budget_periods (budget, period_start, counted_at) VALUES (?, ?, ?)",
            (budget, period_start, now),
        )
    return True


def count_at_least(
    database: peewee.Database,
    budget: str,
    period_start: float,
    in_rows: Mapping[str, float],
    owed: Mapping[str, float],
) -> None:
    """Raise each lane of a counted period to at least what the recorder's rows say it spent
    (`in_rows`), after adding what this process owed it (`owed`, calls those rows hold): its
    spend becomes max(spend + owed, rows), in one transaction (`spend.py` says why)."""
    statement = _AT_LEAST.format(max="greatest" if is_postgresql(database) else "max")
    with transaction(database):
        for lane in sorted(in_rows.keys() | owed.keys()):
            mine, floor = owed.get(lane, 0.0), in_rows.get(lane, 0.0)
            if mine > 0 or floor > 0:
                _sql(database, statement, (budget, lane, period_start, max(mine, floor), mine))


class LanesRead(NamedTuple):
    """The lanes of some budgets' current periods as the store has them (`read_lanes`)."""

    spent: dict[LaneKey, float]
    counted: set[str]  # the budgets whose period is counted in
    # Lanes that refuse calls (`Verdict.refused_under`), and the hard limit they refuse under.
    refused_under: dict[LaneKey, float]


def read_lanes(database: peewee.Database, periods: Mapping[str, float]) -> LanesRead:
    """Every lane of the budgets in `periods` (budget key -> its period's start)."""
    read = LanesRead({}, set(), {})
    names = sorted(periods)
    for at in range(0, len(names), _DELETE_CHUNK):
        chunk = names[at : at + _DELETE_CHUNK]
        marks = ", ".join("?" * len(chunk))
        columns = "budget, lane, period_start, spent, refused_under"
        rows = _sql(
            database,
            f"SELECT {columns} FROM budget_spend WHERE budget IN ({marks})",  # noqa: S608
            tuple(chunk),
        ).fetchall()
        for budget, lane, start, amount, under in rows:
            if float(start) == periods[budget]:
                key = LaneKey(budget, lane, float(start))
                read.spent[key] = float(amount)
                if under is not None:
                    read.refused_under[key] = float(under)
        rows = _sql(
            database,
            f"SELECT budget, period_start FROM budget_periods WHERE budget IN ({marks})",  # noqa: S608
            tuple(chunk),
        ).fetchall()
        read.counted.update(b for b, start in rows if float(start) == periods[b])
    return read
