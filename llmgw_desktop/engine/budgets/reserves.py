"""Room a process reserves on a hard budget's lane, so it can admit calls in memory.

Admitting a call in the store (`lanes.admit`) costs a transaction on the database thread and
the hops to it: most of what a hard budget adds to a request (PERFORMANCE.md). So a
process that admits a call on a lane also reserves some of the lane's free room: a row of
`budget_holds` it owns (id `reserve:<uuid>`), which every process counts as held, like a running
call's hold. A later call whose holds fit whole in what is left of its lanes' reserves (their
spare) is admitted in memory, with no trip to the store. A call that does not fit, or whose
lane's limit is no longer the one its reserve was granted under (the budget was changed), goes
to the store as before.

The sums: a reserve's row holds at least the holds of the calls admitted from it plus its
spare, so the store's spend plus holds never passes a limit. A call admitted from a reserve
ends: its cost is added to the lane (as every call's, from the recorder's row) and its hold
leaves the row, written at the next flush; until then the store holds more, never less. Each
flush while a lane is in use grants its reserve more spare where it runs below half (at once,
not after the flush's usual wait), each grant at most `RESERVE_SHARE` of the lane's free room
and `RESERVE_CALLS` times the largest hold asked on the lane, and none while the free room is
below `RESERVE_FLOOR_CALLS` such holds: near the limit every call is decided in the store
exactly as before, and a reserve already held there gives its spare back at the next flush.
Only a call uses a reserve: a grant does not, so a reserve whose calls have ended is given back
after `IDLE_S` however its grants went. A reserve is kept up under its lane's limit as the
calls last saw it: a call that sees another (the budget was changed) moves the reserve to it and
gives its spare back, and room a grant in flight got under the old limit is given back when it
lands.
A call decided in the store is decided with this process's spare on its lanes given back
first (`LaneAccounts.admit`): never refused, nor cut to a lower output limit, for room held
idle here. Another process's reserve is not given back by that, so a call decided short in
the store (refused, or sent a lower limit) marks its lanes wanted (`want`: a row of amount 0,
`wanted:<process>`): for `WANTED_S` every other process's reserve there is granted nothing and
gives its spare back at its next flush, as below the floor (the mark is deleted by its
owner's flush after that). A call refused so waits for that (`WAIT_FOR_WANTED_S`) and is
asked again, up to `WANTED_ASKS` times: a busy process's reserve does not refuse another's
call the budget has room for. A call decided in the store first waits for a grant in flight
on its lanes (one transaction), so the spare it gives back is all this process holds there.
A reserve unused for `IDLE_S` is given back.

A process that dies (kill -9) leaves its reserves as it leaves its calls' holds: the next
admission on the lane counts them as spent in full once its lease has run out. That counts
the spare it had as spent (at most `RESERVE_CALLS` calls' holds, and `RESERVE_SHARE` of the
free room): a crash never gives a budget back money that may have been spent. A reserve
another process took that way (this one was stopped past its lease) is found gone at the next
write and dropped; its calls' costs are still added when they end (counted twice: more, never
less).

The memory side (`Reserves`) runs on the event loop; `write` and `grant` run on the database
thread, inside the settlement's or admission's transaction.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.budgets import lanes
from llmgw_desktop.engine.budgets.lanes import LaneKey
from llmgw_desktop.engine.ids import random_hex
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import portable

__all__ = [
    "IDLE_S",
    "RESERVE_CALLS",
    "RESERVE_FLOOR_CALLS",
    "RESERVE_SHARE",
    "WAIT_FOR_WANTED_S",
    "WANTED_ASKS",
    "WANTED_S",
    "Grant",
    "Owed",
    "Reserves",
    "Taken",
    "grant",
    "short",
    "unwant",
    "want",
    "write",
]

# A reserve holds room for at most this many calls like the largest on its lane (fewer ran
# dry while the database thread wrote the recorder's rows: at 16 calls in flight, 32 calls'
# room sent 17 % of calls to the store, 128 sent 1.5 %)...
RESERVE_CALLS = 128
# ... and at most this share of the lane's free room at each grant...
RESERVE_SHARE = 0.125
# ... and none while the lane's free room is below this many such calls: near the limit,
# every call is decided in the store, and a reserve held there is given back at the next
# flush, so another process's reserve does not hold the room a call asks for.
RESERVE_FLOOR_CALLS = 64
# A reserve unused this long is given back (its calls' holds stay until they end).
IDLE_S = 1.0
# A lane where a call was decided short in the store is held from other processes' reserves
# this long (store seconds): a few of their flushes, to give their spare back.
WANTED_S = 1.0
# A call refused where other processes' reserves held room waits this long for them to give
# it back (their flush marks it given back, the next writes it: 50 ms each), then is asked
# again, up to this many times while it is refused so (a loaded machine's flushes come late;
# the lane stays marked wanted meanwhile, `WANTED_S`).
WAIT_FOR_WANTED_S = 0.25
WANTED_ASKS = 4
# Float sums of many small costs: a call that fits to the last billionth of a dollar fits.
_EPSILON = 1e-9

_SHRINK = (
    "UPDATE budget_holds SET amount = amount - ?"
    " WHERE id = ? AND budget = ? AND lane = ? AND period_start = ?"
)
_GROW = (
    "UPDATE budget_holds SET amount = amount + ?"
    " WHERE id = ? AND budget = ? AND lane = ? AND period_start = ?"
)
_DROP = "DELETE FROM budget_holds WHERE id = ? AND budget = ? AND lane = ? AND period_start = ?"
_NEW = (
    "INSERT INTO budget_holds (id, budget, lane, period_start, amount, process, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# A lane's mark that a call of `process` was decided short there (amount 0: holds nothing).
_WANT = (
    "INSERT INTO budget_holds (id, budget, lane, period_start, amount, process, created_at)"
    " VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id, budget, lane)"
    " DO UPDATE SET period_start = excluded.period_start, created_at = excluded.created_at"
)
# The patterns are written into the statements, not bound: SQLite prepares a statement whose
# LIKE has a bound pattern again at every run (the pattern may change its plan), and every
# flush asks `_WANTED` of every reserve.
_WANTED = (
    "SELECT count(*) FROM budget_holds WHERE budget = ? AND lane = ? AND period_start = ?"
    " AND id LIKE 'wanted:%' AND process <> ? AND created_at > ?"
)
# Other processes' reserves on a lane (the room a call decided short there may wait for).
_OTHERS = (
    "SELECT count(*) FROM budget_holds WHERE budget = ? AND lane = ? AND period_start = ?"
    " AND id LIKE 'reserve:%' AND process <> ? AND amount > 0"
)
_UNWANT = "DELETE FROM budget_holds WHERE id = ?"
_UNWANT_OLD = "DELETE FROM budget_holds WHERE id = ? AND created_at <= ?"


@dataclass(slots=True)
class _Reserve:
    """One lane's reserve as this process has it (slots: every call reads and writes it)."""

    key: LaneKey
    row: str  # its id in `budget_holds`
    limit: float  # the lane's hard limit as this process's calls last saw it
    # The row's amount once what this process owes it is written: never above the store's.
    amount: float
    need: float  # the largest hold asked on its lane: what its grants are sized by
    used: float = 0.0  # what the calls admitted from it hold now
    touched: float = 0.0  # when a call last used it (monotonic; grants do not count)
    granting: bool = False  # a grant for it is being written
    owed: float | None = None  # owed to its row since the last `Reserves.owed` (None: nothing)

    @property
    def spare(self) -> float:
        return self.amount - self.used

    @property
    def low(self) -> bool:
        # `spare` written out here and in `Reserves.hold`: each is read for each lane of every
        # call admitted in memory, and a property's call costs more than the subtraction.
        return self.amount - self.used < RESERVE_CALLS * self.need / 2

    def owe(self, amount: float) -> None:
        """Its row is owed `amount` more at the next write (`Reserves.owed`)."""
        self.owed = amount if self.owed is None else self.owed + amount


# What a call admitted in memory took from its lanes' reserves (`Reserves.hold`).
Taken = list[tuple[_Reserve, float]]


@dataclass(frozen=True)
class Grant:
    """Room asked for a lane's reserve: `row` (a new one when `new`) grown by up to `want`,
    if the lane (whose limit is `limit`) has room for at least `need` of it."""

    key: LaneKey
    row: str
    new: bool
    limit: float
    want: float
    need: float

    def free(self, state: lanes.LaneState) -> float:
        """The lane's room under this grant's limit: neither spent nor held by anyone."""
        return self.limit - state.spent - state.held


@dataclass(frozen=True)
class Owed:
    """What this process owes its reserves' rows: how much each shrinks, which are deleted."""

    shrink: Mapping[tuple[LaneKey, str], float]
    drop: frozenset[tuple[LaneKey, str]]

    def __bool__(self) -> bool:
        return bool(self.shrink or self.drop)


class Reserves:
    """This process's reserves, the calls admitted from them, and what it owes their rows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lanes: dict[LaneKey, _Reserve] = {}
        self._shrink: dict[tuple[LaneKey, str], float] = {}
        self._drop: set[tuple[LaneKey, str]] = set()
        # A call just taken left a reserve with less than half the spare it is granted up to
        # (and none is being granted): the flush should come at once (cleared by `upkeep`).
        self.low = False
        # Set when the grants being written land (`settled` waits for it).
        self._landed: asyncio.Event | None = None

    @property
    def active(self) -> bool:
        """Whether a reserve is held or a write to one is owed (the flush keeps running)."""
        return bool(self._lanes or self._shrink or self._drop)

    def hold(
        self, lanes: Iterable[tuple[LaneKey, int, float | None]], amounts: Sequence[float]
    ) -> Taken | None:
        """Admit a call in memory if its hold on every lane fits in that lane's spare and the
        lane's limit is the one its reserve was granted under: what it took (for `end_hold`),
        else None (nothing changed: the call goes to the store). Each of `lanes` is a lane's
        key, which of `amounts` it holds (tokens or dollars of one estimate), its limit."""
        reserves = self._lanes
        taken: Taken = []
        for key, which, limit in lanes:
            reserve = reserves.get(key)
            if reserve is None:
                return None
            if reserve.limit != limit:
                if limit is not None:
                    self._move(reserve, limit)
                return None
            need = amounts[which]
            if need > reserve.amount - reserve.used + _EPSILON:  # its `spare`, written out
                return None
            taken.append((reserve, need))
        if not taken:
            return None
        now = self._clock()
        for reserve, need in taken:
            reserve.used += need
            reserve.touched = now
            self.low = self.low or (reserve.low and not reserve.granting)
        return taken

    def end_hold(self, taken: Taken) -> None:
        """A call `hold` admitted ends: its holds leave their rows at the next flush (a reserve
        dropped meanwhile owes nothing)."""
        reserves = self._lanes
        for reserve, need in taken:
            reserve.used -= need
            if reserves.get(reserve.key) is reserve:
                reserve.amount -= need
                reserve.owe(need)

    def _move(self, reserve: _Reserve, limit: float) -> None:
        """The lane's limit is now `limit` (a budget changed): the reserve is kept up under it
        from now on, and the spare granted under the old one given back."""
        reserve.limit = limit
        self.give_back_spare([reserve.key])

    def granting_to(self, keys: Iterable[LaneKey]) -> bool:
        """Whether a grant to one of `keys`' reserves is being written."""
        return any((r := self._lanes.get(k)) is not None and r.granting for k in keys)

    async def settled(self, keys: Iterable[LaneKey]) -> None:
        """Wait until no grant to `keys`' reserves is being written: the room it gets is then
        known here, to be taken or given back."""
        keys = list(keys)
        while self.granting_to(keys):
            if self._landed is None:
                self._landed = asyncio.Event()
            await self._landed.wait()

    def give_back_spare(self, keys: Iterable[LaneKey]) -> float:
        """Give back the spare of `keys`' reserves (written at the next write, before any
        admission in it); how much was given back."""
        back = 0.0
        for key in keys:
            reserve = self._lanes.get(key)
            if reserve is None:
                continue
            spare = reserve.spare
            if spare > 0:
                reserve.amount -= spare
                reserve.owe(spare)
                back += spare
        return back

    def grants_for(
        self, needs: Mapping[LaneKey, float], limits: Mapping[LaneKey, float]
    ) -> list[Grant]:
        """What to grant the lanes of a call decided in the store, if it is admitted."""
        grants = []
        for key, need in needs.items():
            if need <= 0 or key not in limits:
                continue
            reserve = self._lanes.get(key)
            if reserve is not None:
                if reserve.granting:
                    continue
                if reserve.limit != limits[key]:
                    self._move(reserve, limits[key])
                need = reserve.need = max(reserve.need, need)
            want = RESERVE_CALLS * need - (reserve.spare if reserve is not None else 0.0)
            if want < need:
                continue
            if reserve is None:
                grants.append(Grant(key, f"reserve:{random_hex()}", True, limits[key], want, need))
            else:
                grants.append(Grant(key, reserve.row, False, limits[key], want, need))
        return grants

    def upkeep(self, asking: Container[LaneKey] = ()) -> list[Grant]:
        """At a flush: give back reserves unused for `IDLE_S` (a row no call holds anything
        on is deleted); the grants the ones in use and running low ask for, but none on the
        lanes in `asking` (calls there are being decided in the store, with this process's
        spare given back)."""
        now = self._clock()
        self.low = False
        grants = []
        for key, reserve in list(self._lanes.items()):
            if now - reserve.touched >= IDLE_S:
                self._let_go(key, reserve)
                continue
            if not reserve.granting and key not in asking:
                # One running low is granted more; each other is looked at (want 0): its
                # lane's free room may have fallen below the floor.
                want = RESERVE_CALLS * reserve.need - reserve.spare if reserve.low else 0.0
                grants.append(Grant(key, reserve.row, False, reserve.limit, want, reserve.need))
        return grants

    def owed(self) -> Owed:
        """Take what is owed to the rows (given back with `owe_again` if it is not written)."""
        shrink = self._shrink
        for reserve in self._lanes.values():
            if reserve.owed is not None:
                row = (reserve.key, reserve.row)
                shrink[row] = shrink.get(row, 0.0) + reserve.owed
                reserve.owed = None
        owed = Owed(shrink, frozenset(self._drop))
        self._shrink, self._drop = {}, set()
        return owed

    def owe_again(self, owed: Owed) -> None:
        for row, amount in owed.shrink.items():
            self._shrink[row] = self._shrink.get(row, 0.0) + amount
        self._drop.update(owed.drop)

    def granting(self, grants: Iterable[Grant], *, on: bool) -> None:
        for g in grants:
            reserve = self._lanes.get(g.key)
            if reserve is not None and reserve.row == g.row:
                reserve.granting = on
        if not on and self._landed is not None:
            self._landed.set()
            self._landed = None

    def written(
        self,
        granted: Mapping[LaneKey, tuple[float, float]],
        grants: Iterable[Grant],
        gone: Iterable[tuple[LaneKey, str]],
    ) -> None:
        """What a transaction wrote: per lane the room its grant got (0: none) and the lane's
        free room it saw (-inf: another process wants it), and the rows found gone (another
        process counted them as spent: their reserves are dropped). A reserve whose lane has
        below the floor's room beside what the reserve holds spare gives its spare back, as
        does one whose grant was written under a limit the lane no longer has."""
        self.granting(grants, on=False)
        for key, row in gone:
            reserve = self._lanes.get(key)
            if reserve is not None and reserve.row == row:
                self._forget(key, reserve)
        now = self._clock()
        for g in grants:
            amount, free = granted.get(g.key, (0.0, math.inf))
            reserve = self._lanes.get(g.key)
            if amount <= 0:
                # Its own spare is room the lane has (this process gives it back at will).
                if (
                    reserve is not None
                    and free + reserve.spare < RESERVE_FLOOR_CALLS * reserve.need
                ):
                    self.give_back_spare([g.key])
                continue
            if g.new:
                if reserve is not None:  # granted twice at once: keep one, give this back
                    self._drop.add((g.key, g.row))
                    continue
                self._lanes[g.key] = _Reserve(g.key, g.row, g.limit, amount, g.need, touched=now)
            elif reserve is not None and reserve.row == g.row:
                reserve.amount += amount
                if reserve.limit != g.limit:  # granted under a limit changed meanwhile
                    self.give_back_spare([g.key])
            # else: dropped meanwhile (its row is deleted, with the grant)

    def close(self) -> None:
        """At stop: every reserve's spare given back, rows no call holds on deleted."""
        for key, reserve in list(self._lanes.items()):
            self._let_go(key, reserve)

    def _let_go(self, key: LaneKey, reserve: _Reserve) -> None:
        """Give a reserve back: its row deleted if no call holds anything on it, else its
        spare (the row then holds only its calls' holds until they end)."""
        if reserve.used <= _EPSILON:
            self._forget(key, reserve)
            self._drop.add((key, reserve.row))
        else:
            self.give_back_spare([key])

    def _forget(self, key: LaneKey, reserve: _Reserve) -> None:
        """Stop using a reserve: nothing more is owed to its row (deleted, or gone)."""
        del self._lanes[key]
        reserve.owed = None
        self._shrink.pop((key, reserve.row), None)


# -- on the database thread, inside the caller's transaction -----------------------------


def _sql(database: peewee.Database, statement: str, args: tuple[object, ...]) -> Any:
    return database.execute_sql(portable(database, statement), args)


def write(database: peewee.Database, owed: Owed) -> set[tuple[LaneKey, str]]:
    """Write what is owed to the reserves' rows; the rows found gone."""
    gone = set()
    for (key, row), amount in owed.shrink.items():
        args = (amount, row, key.budget, key.lane, key.period_start)
        if not _sql(database, _SHRINK, args).rowcount:
            gone.add((key, row))
    for key, row in owed.drop:
        _sql(database, _DROP, (row, key.budget, key.lane, key.period_start))
    return gone


def short(needs: Mapping[LaneKey, float], holds: Mapping[LaneKey, float]) -> list[LaneKey]:
    """The lanes where a call decided in the store holds less than it asked (`needs`)."""
    return [key for key, need in needs.items() if holds.get(key, 0.0) < need - _EPSILON]


def _wanted_id(process: str) -> str:
    return f"wanted:{process}"


def want(
    database: peewee.Database, keys: Iterable[LaneKey], *, process: str, now: float
) -> set[LaneKey]:
    """Mark `keys` wanted by a call of `process` decided short there: other processes'
    reserves on them give their spare back for `WANTED_S`; the lanes where one holds room."""
    held = set()
    for key in sorted(set(keys)):
        args = (_wanted_id(process), key.budget, key.lane, key.period_start, process, now)
        _sql(database, _WANT, args)
        others = (key.budget, key.lane, key.period_start, process)
        if _sql(database, _OTHERS, others).fetchone()[0]:
            held.add(key)
    return held


def unwant(database: peewee.Database, process: str, *, before: float | None = None) -> None:
    """Delete `process`'s marks written `WANTED_S` or more before `before` (None: all, at
    stop); a dead process's are deleted with its holds."""
    if before is None:
        _sql(database, _UNWANT, (_wanted_id(process),))
    else:
        _sql(database, _UNWANT_OLD, (_wanted_id(process), before - WANTED_S))


def _wanted(database: peewee.Database, key: LaneKey, process: str, now: float) -> bool:
    args = (key.budget, key.lane, key.period_start, process, now - WANTED_S)
    return bool(_sql(database, _WANTED, args).fetchone()[0])


def grant(
    database: peewee.Database,
    serialize: Callable[[str], None],
    grants: Iterable[Grant],
    *,
    process: str,
    now: float,
    reclaim: frozenset[LaneKey] = frozenset(),
    seen: lanes.SeenLanes | None = None,
) -> tuple[dict[LaneKey, tuple[float, float]], set[tuple[LaneKey, str]]]:
    """Grow each reserve by what its lane's free room allows (`RESERVE_SHARE` of it, at most
    what was asked; nothing below `RESERVE_FLOOR_CALLS` calls' room, nor on a lane another
    process wants: `want`); per lane the room granted and the free room seen (-inf where it
    is wanted: the reserve gives its spare back), and the rows found gone. The lanes in
    `reclaim` are searched for dead processes' holds first (`lanes.reclaim_dead`): a lane
    served from reserves has no admission in the store to do it. `seen`: the lanes as last
    read, where no other process has written since (`lanes.SeenLanes`), not read again."""
    grants = list(grants)
    lanes.lock_lanes(serialize, (g.key for g in grants))
    granted: dict[LaneKey, tuple[float, float]] = {}
    gone: set[tuple[LaneKey, str]] = set()
    for g in grants:
        # A lane no other process has written since it was read holds no mark of another's.
        state = None if seen is None or g.key in reclaim else seen.get(g.key)
        wanted = False
        if state is None:
            state = lanes.lane_state(database, g.key)
            if not state.counted:
                continue
            if g.key in reclaim and lanes.reclaim_dead(database, g.key, process, now):
                state = lanes.lane_state(database, g.key)
            wanted = _wanted(database, g.key, process, now)
            if seen is not None and not wanted:  # a mark's time runs out: read one again
                seen.saw(g.key, state)
        free = g.free(state)
        if wanted:
            # Another process's call was decided short here: its retry gets the spare.
            granted[g.key] = (0.0, -math.inf)
            continue
        granted[g.key] = (0.0, free)
        if g.want < g.need or free < RESERVE_FLOOR_CALLS * g.need:
            continue
        amount = min(g.want, free * RESERVE_SHARE)
        key = g.key
        if g.new:
            _sql(
                database,
                _NEW,
                (g.row, key.budget, key.lane, key.period_start, amount, process, now),
            )
        elif not _sql(
            database, _GROW, (amount, g.row, key.budget, key.lane, key.period_start)
        ).rowcount:
            gone.add((key, g.row))
            if seen is not None:
                seen.forget(key)
            continue
        if seen is not None:
            seen.add(key, held=amount)
        granted[key] = (amount, free - amount)
    return granted, gone
