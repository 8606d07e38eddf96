"""Hard budgets counted in the store (`engine/budgets/lanes.py`), on both engines.

`Database` objects on one store stand for gateway processes: each admits calls through
`LaneAccounts` under its own process id. What one holds, the other sees; a settlement adds the
cost where the budget's period was counted in and ends the hold; a dead process's holds are
counted as spent in full once its lease has run out; and calls admitted at once from both never
hold more than the budget, which on PostgreSQL only the per-lane lock and the one-snapshot
read make true.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

import pytest

from llmgw_desktop.engine.budgets import lane_accounts
from llmgw_desktop.engine.budgets.lane_accounts import LaneAccounts
from llmgw_desktop.engine.budgets.lanes import LaneKey, LaneState
from llmgw_desktop.engine.store import Database
from tests.engine.budgets.trips import count_trips
from tests.postgres import opened

KEY = LaneKey("principal=key:bot|usd|monthly", "", 1_000.0)
HARD = 1.0
# Gateway processes admitting at once (each a `Database` of its own, its own connections).
PROCESSES = 6


@dataclass(frozen=True)
class Take:
    """A rule for the tests: hold `amount` if the lane has room for it, else nothing."""

    amount: float
    holds: Mapping[LaneKey, float] = field(default_factory=dict)
    seen: LaneState | None = None
    refused_under: tuple[LaneKey, float] | None = None


def take(amount: float) -> Callable[[dict[LaneKey, LaneState]], Take]:
    def decide(states: dict[LaneKey, LaneState]) -> Take:
        state = states[KEY]
        room = HARD - state.spent - state.held
        holds = {KEY: amount} if state.counted and amount <= room + 1e-9 else {}
        return Take(amount, holds, state)

    return decide


def spawned(coro: object) -> object:
    """The accounts' background flush, run by the test's loop."""
    return asyncio.ensure_future(coro)  # type: ignore[arg-type]


@pytest.fixture
async def stores(
    new_database: Callable[[str], Database],
) -> AsyncIterator[tuple[Database, Database]]:
    async with (
        opened(new_database("llmgw.db")) as first,
        opened(new_database("llmgw.db")) as second,
    ):
        yield first, second


def lease(db: Database, process: str, expires_at: float) -> None:
    """`process` is alive until `expires_at` (a gateway's lease, as `JobLeases` writes it)."""
    leases = db.models.ProcessLease
    leases.delete().where(leases.id == process).execute()
    leases.create(id=process, host="here", pid=1, started_at=0.0, expires_at=expires_at, epoch=1)


async def counted_in_from_nothing(store: Database) -> LaneAccounts:
    """Process a's settlements on `store`, with `KEY`'s period counted in at nothing spent."""
    accounts = LaneAccounts(store, process_id="process-a", spawn=spawned)
    await accounts.count_in(KEY.budget, KEY.period_start, lambda: {})
    return accounts


async def test_holds_are_seen_by_another_process_settled_and_reclaimed_when_it_dies(
    stores: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = stores
    a = LaneAccounts(first, process_id="process-a", spawn=spawned)
    b = LaneAccounts(second, process_id="process-b", spawn=spawned)
    assert await a.count_in(KEY.budget, KEY.period_start, lambda: {"": 0.25})
    assert not await b.count_in(KEY.budget, KEY.period_start, lambda: {"": 99.0})  # counted once
    for process in ("process-a", "process-b"):
        await first.run(lambda process=process: lease(first, process, time.time() + 3600))

    admitted, states = await a.admit([KEY], take(0.5), "call-1")
    assert admitted.holds == {KEY: 0.5} and states[KEY] == LaneState(0.25, 0.0, True)
    # The other process sees the hold: no room for another 0.5.
    refused, states = await b.admit([KEY], take(0.5), "call-2")
    assert refused.holds == {} and states[KEY] == LaneState(0.25, 0.5, True)
    # The call ends: its cost is added and its hold gone, in one transaction.
    a.add(KEY, 0.1)
    a.release("call-1")
    assert await a.flush()
    admitted, states = await b.admit([KEY], take(0.5), "call-3")
    assert admitted.holds and states[KEY] == LaneState(pytest.approx(0.35), 0.0, True)
    # Process b dies with call-3 held: once its lease has run out, a's next admission counts
    # the hold as spent in full and deletes it (a lane is searched every RECLAIM_EVERY_S).
    await first.run(lambda: lease(first, "process-b", time.time() - 1))
    monkeypatch.setattr(lane_accounts, "RECLAIM_EVERY_S", 0.0)
    refused, states = await a.admit([KEY], take(0.5), "call-4")
    assert states[KEY] == LaneState(pytest.approx(0.85), 0.0, True)
    assert refused.holds == {}  # 0.15 left


async def test_a_lane_refused_for_too_little_left_reads_so_in_another_process(
    stores: tuple[Database, Database],
) -> None:
    """A refusal with the spend short of the limit is kept in the store beside the spend, so a
    restarted process, or another sharing the store, shows the lane refusing too."""
    first, second = stores
    a = await counted_in_from_nothing(first)
    a.add(KEY, 0.25)
    assert await a.flush()
    refused, _states = await a.admit(
        [KEY], lambda states: Take(0.9, refused_under=(KEY, HARD)), "call"
    )
    assert refused.holds == {}
    b = LaneAccounts(second, process_id="process-b", spawn=spawned)
    read = await b.read({KEY.budget: KEY.period_start})
    assert read.refused_under == {KEY: HARD}
    assert read.spent == {KEY: pytest.approx(0.25)} and read.counted == {KEY.budget}
    # A lane with nothing spent that refused has its row made.
    empty = KEY._replace(lane="key:quiet")
    await a.admit([empty], lambda states: Take(0.9, refused_under=(empty, HARD)), "call-2")
    read = await b.read({KEY.budget: KEY.period_start})
    assert read.refused_under == {KEY: HARD, empty: HARD} and read.spent[empty] == 0.0


async def test_additions_wait_until_the_period_is_counted_in(
    stores: tuple[Database, Database],
) -> None:
    first, _second = stores
    a = LaneAccounts(first, process_id="process-a", spawn=spawned)
    a.add(KEY, 0.3)
    assert await a.flush()
    assert a.owed(KEY) == pytest.approx(0.3)  # kept: the period was not counted in
    await a.count_in(KEY.budget, KEY.period_start, lambda: {"": 0.2})
    assert await a.flush()
    _verdict, states = await a.admit([KEY], take(0.0), "call")
    assert states[KEY].spent == pytest.approx(0.5)


async def test_a_counted_lane_is_raised_to_its_rows_and_never_lowered(
    stores: tuple[Database, Database],
) -> None:
    """A process loading a counted period raises each lane to what the recorder's rows say
    (calls no process counted), after what it owed (calls the rows hold): max(spent + owed,
    rows). A lane holding more than its rows (a dead process's hold counted in full) keeps it;
    a lane no row or addition names is not made."""
    first, second = stores
    a = await counted_in_from_nothing(first)
    a.add(KEY, 0.25)
    assert await a.flush()
    b = LaneAccounts(second, process_id="process-b", spawn=spawned)
    other = KEY._replace(lane="key:other")
    await b.count_at_least(KEY.budget, KEY.period_start, {"": 0.4, other.lane: 0.1}, {})
    read = await a.read({KEY.budget: KEY.period_start})
    assert read.spent == {KEY: pytest.approx(0.4), other: pytest.approx(0.1)}
    # What b owed is in the rows already: counted once, on top of the lane where it is higher.
    await b.count_at_least(KEY.budget, KEY.period_start, {"": 0.5}, {KEY: 0.2})
    await b.count_at_least(KEY.budget, KEY.period_start, {"": 0.3}, {})
    read = await a.read({KEY.budget: KEY.period_start})
    assert read.spent == {KEY: pytest.approx(0.6), other: pytest.approx(0.1)}
    await b.count_at_least(KEY.budget, KEY.period_start, {"key:none": 0.0}, {})
    assert len((await a.read({KEY.budget: KEY.period_start})).spent) == 2


async def test_what_a_flush_is_writing_is_still_owed_until_it_is_written(
    stores: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI, 2026-11-30: the ledger's spend read back was answered while a flush wrote a
    finished call's cost: the read saw the store before the flush's commit, and the flush had
    already taken the cost out of what this process owes, so the budget read short by that
    call (a budget's spend must never read less than what was spent). What is being written
    stays owed until it is written, or given back when it is not."""
    first, _second = stores
    a = await counted_in_from_nothing(first)
    writing, write = asyncio.Event(), asyncio.Event()
    run = first.run

    async def held_write(fn: Callable[[], object]) -> object:
        if getattr(fn, "func", None) is lane_accounts.transactions.flush:
            writing.set()
            await write.wait()  # the flush's write waits here, its costs taken
        return await run(fn)  # (on SQLite a read comes this way too)

    monkeypatch.setattr(first, "run", held_write)
    a.add(KEY, 0.3)
    flushing = asyncio.ensure_future(a.flush())
    await writing.wait()
    read = await a.read({KEY.budget: KEY.period_start})  # the store before the commit
    assert read.spent.get(KEY, 0.0) + a.owed(KEY) == pytest.approx(0.3)
    write.set()
    assert await flushing
    read = await a.read({KEY.budget: KEY.period_start})
    assert read.spent[KEY] + a.owed(KEY) == pytest.approx(0.3)  # counted once, not twice
    assert a.flushes_written == 1


async def test_admissions_at_once_from_many_processes_never_hold_more_than_the_budget(
    new_database: Callable[[str], Database],
) -> None:
    stores = [new_database("llmgw.db") for _ in range(PROCESSES)]
    for store in stores:
        await store.open()
    try:
        each = [
            LaneAccounts(store, process_id=f"process-{n}", spawn=spawned)
            for n, store in enumerate(stores)
        ]
        first = stores[0]
        await each[0].count_in(KEY.budget, KEY.period_start, lambda: {})
        for n in range(PROCESSES):
            await first.run(lambda n=n: lease(first, f"process-{n}", time.time() + 3600))
        for _round in range(3):
            calls = [
                each[n % PROCESSES].admit([KEY], take(0.15), f"call-{_round}-{n}")
                for n in range(PROCESSES * 4)
            ]
            await asyncio.gather(*calls)
        held = await first.run(
            lambda: first.models.database.execute_sql(
                "SELECT count(*), sum(amount) FROM budget_holds"
            ).fetchone()
        )
        # 6 x 0.15 = 0.90: a seventh would pass the 1.00 budget, whichever process took it.
        assert held[0] == 6 and held[1] == pytest.approx(0.9)
    finally:
        for store in stores:
            await store.close()


async def test_calls_asked_at_once_share_one_trip_to_the_store_each_seeing_the_holds_before_it(
    stores: tuple[Database, Database],
) -> None:
    first, _second = stores
    a = await counted_in_from_nothing(first)
    await first.run(lambda: lease(first, "process-a", time.time() + 3600))
    trips = count_trips(first)
    answers = await asyncio.gather(*(a.admit([KEY], take(0.15), f"call-{n}") for n in range(8)))
    # 6 x 0.15 fit in 1.00; each call saw the holds of those decided before it.
    assert [bool(verdict.holds) for verdict, _ in answers] == [True] * 6 + [False] * 2
    assert [states[KEY].held for _, states in answers] == [
        pytest.approx(0.15 * min(n, 6)) for n in range(8)
    ]
    assert trips[0] <= 2  # the first call's, and one for all that were asked meanwhile


async def test_a_call_that_leaves_while_its_admission_is_written_gives_its_hold_back(
    stores: tuple[Database, Database],
) -> None:
    first, _second = stores
    a = await counted_in_from_nothing(first)
    gates = [threading.Event(), threading.Event()]

    async def settled() -> None:  # each step's work has reached the database thread's queue
        await asyncio.sleep(0.05)

    # The database thread's queue: a wait, the first call's admission, another wait.
    busy = [asyncio.ensure_future(first.run(lambda: gates[0].wait(10)))]
    await settled()
    leader = asyncio.ensure_future(a.admit([KEY], take(0.25), "call-first"))
    await settled()
    busy.append(asyncio.ensure_future(first.run(lambda: gates[1].wait(10))))
    await settled()
    left = asyncio.ensure_future(a.admit([KEY], take(0.25), "call-left"))  # the next batch
    await settled()
    gates[0].set()
    await leader
    await settled()  # the next batch, the leaving call's, is on its way behind the wait
    left.cancel()
    gates[1].set()
    await asyncio.gather(*busy)
    held = "SELECT count(*) FROM budget_holds WHERE id = 'call-left'"
    for _ in range(200):  # written, then deleted by the next settlement
        count = await first.run(lambda: first.models.database.execute_sql(held).fetchone()[0])
        if count == 0:
            break
        await asyncio.sleep(0.02)
    assert left.cancelled() and count == 0
