"""What one of this process's budget transactions writes, on the database thread.

`LaneAccounts` (`lane_accounts.py`) decides when to write and keeps what is owed in memory; the two
functions here are the transactions themselves, each all or nothing: a batch of admissions
(`admit_batch`: what is owed written first, each call decided in turn, short calls marking
their lanes wanted, the admitted lanes' reserves granted), and a flush (`flush`: what is owed
written, old marks deleted, the reserves kept up). A failure rolls back the whole transaction,
so the caller gives back exactly what it took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from llmgw_desktop.engine.budgets import lanes, reserves
from llmgw_desktop.engine.budgets.lanes import LaneKey, LaneState
from llmgw_desktop.engine.budgets.reserves import Grant, Owed
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import store_time

__all__ = ["Asked", "BatchWritten", "FlushWritten", "admit_batch", "flush"]


class Asked(NamedTuple):
    """One call waiting for its admission (`LaneAccounts.admit`)."""

    keys: list[LaneKey]
    decide: Callable[[dict[LaneKey, LaneState]], Any]
    hold_id: str
    reclaim: frozenset[LaneKey]
    answer: asyncio.Future[tuple[Any, dict[LaneKey, LaneState]]]
    # What it holds per lane if admitted as it asked, and each lane's limit: what its lanes'
    # reserves are granted by (`reserves.py`; empty: no reserve).
    needs: Mapping[LaneKey, float]
    limits: Mapping[LaneKey, float]


@dataclass
class BatchWritten:
    """What a batch of admissions wrote."""

    kept: dict[LaneKey, float]  # additions whose period is not counted in yet
    decided: list[tuple[Any, dict[LaneKey, LaneState]]]  # each call's verdict and lanes
    granted: dict[LaneKey, tuple[float, float]] = field(default_factory=dict)
    gone: set[tuple[LaneKey, str]] = field(default_factory=set)
    marked: bool = False  # lanes were marked wanted
    contested: set[str] = field(default_factory=set)  # refused where others' reserves hold room


@dataclass
class FlushWritten:
    """What a flush wrote."""

    kept: dict[LaneKey, float]
    granted: dict[LaneKey, tuple[float, float]]
    gone: set[tuple[LaneKey, str]]


@dataclass(frozen=True)
class Owing:
    """What this process owes the store, taken for one transaction."""

    adds: Mapping[LaneKey, float]
    released: Iterable[str]
    reserves: Owed


def admit_batch(
    database: peewee.Database,
    serialize_lane: Callable[[peewee.Database, str], None],
    batch: list[Asked],
    owing: Owing,
    grants: Mapping[LaneKey, Grant],
    *,
    process: str,
    clock: Callable[[], float],
    seen: lanes.SeenLanes,
) -> BatchWritten:
    """One transaction: what is owed, then each call of `batch` decided in turn on the lanes as
    the ones before it left them (their holds included), then the lanes of calls decided short
    marked wanted and the reserves of admitted lanes granted (`grants`). Every lane in `seen`
    is forgotten: the holds written here are not counted into it."""
    seen.forget()
    locked: set[str] = set()

    def serialize(name: str) -> None:  # each lane locked once, all before any is read
        if name not in locked:
            locked.add(name)
            serialize_lane(database, name)

    with lanes.transaction(database):
        written = BatchWritten(_settle(database, owing), [])
        written.gone.update(reserves.write(database, owing.reserves) if owing.reserves else ())
        now = store_time(database) or clock()
        lanes.lock_lanes(serialize, (k for asked in batch for k in asked.keys))
        written.decided = [
            lanes.admit(
                database,
                serialize,
                asked.keys,
                asked.decide,
                hold_id=asked.hold_id,
                process=process,
                now=now,
                reclaim=asked.reclaim,
            )
            for asked in batch
        ]
        decided = list(zip(batch, written.decided, strict=True))
        # A call decided short while other processes' reserves may hold its room: they give it
        # back for its retry (`reserves.want`). A lane whose period is not counted in yet
        # decided nothing (the call is asked again once it is).
        wanting = [
            key
            for asked, (verdict, states) in decided
            for key in reserves.short(asked.needs, verdict.holds)
            if states[key].counted
        ]
        if wanting:
            held = reserves.want(database, wanting, process=process, now=now)
            written.marked = True
            written.contested.update(
                asked.hold_id
                for asked, (verdict, _states) in decided
                if not verdict.holds and held.intersection(asked.keys)
            )
        admitted = {key for verdict, _states in written.decided for key in verdict.holds}
        wanted = [g for key, g in grants.items() if key in admitted]
        if wanted:
            more, lost = reserves.grant(database, serialize, wanted, process=process, now=now)
            written.granted.update(more)
            written.gone.update(lost)
    return written


def flush(
    database: peewee.Database,
    serialize_lane: Callable[[peewee.Database, str], None],
    owing: Owing,
    grants: list[Grant],
    *,
    due: frozenset[LaneKey],
    unmark: bool,
    closed: bool,
    process: str,
    clock: Callable[[], float],
    seen: lanes.SeenLanes,
) -> FlushWritten:
    """One transaction: what is owed, this process's old wanted marks deleted (`unmark`; at
    stop, `closed`, every one), the reserves' grants (`due`: the lanes also searched for dead
    processes' holds). None where there is nothing to write and no other process has written
    since the grants' lanes were read (`seen`): what they would read is known."""
    if not (owing.adds or owing.released or owing.reserves or unmark or due) and all(
        g.want < g.need for g in grants
    ):
        looked = {g.key: seen.get(g.key) for g in grants}
        if seen.fresh(database) and None not in looked.values():
            return FlushWritten({}, _looked(grants, looked), set())
    try:
        with lanes.transaction(database):
            seen.fresh(database)
            kept = _settle(database, owing)
            if owing.released:
                seen.forget()  # how much those holds were is not known here
            for key, amount in owing.adds.items():
                if key not in kept:
                    seen.add(key, spent=amount)
            gone = reserves.write(database, owing.reserves) if owing.reserves else set()
            for (key, row), amount in owing.reserves.shrink.items():
                if (key, row) in gone:
                    seen.forget(key)
                else:
                    seen.add(key, held=-amount)
            for key, _row in owing.reserves.drop:
                seen.forget(key)
            if unmark:
                # At stop every mark; else those older than their time (one written since, by
                # an admission, stays).
                before = None if closed else (store_time(database) or clock())
                reserves.unwant(database, process, before=before)
            granted: dict[LaneKey, tuple[float, float]] = {}
            if grants:
                now = store_time(database) or clock()
                granted, lost = reserves.grant(
                    database,
                    lambda name: serialize_lane(database, name),
                    grants,
                    process=process,
                    now=now,
                    reclaim=due,
                    seen=seen,
                )
                gone |= lost
    except BaseException:
        seen.forget()  # rolled back: what was counted into it was not written
        raise
    return FlushWritten(kept, granted, gone)


def _looked(
    grants: list[Grant], states: Mapping[LaneKey, LaneState | None]
) -> dict[LaneKey, tuple[float, float]]:
    """What `reserves.grant` gives grants that ask nothing, on lanes as `states` has them."""
    out = {}
    for g in grants:
        state = states[g.key]
        assert state is not None
        out[g.key] = (0.0, g.free(state))
    return out


def _settle(database: peewee.Database, owing: Owing) -> dict[LaneKey, float]:
    if not owing.adds and not owing.released:
        return {}
    return lanes.settle(database, owing.adds, owing.released)
