"""Red team: a call that finds its budget reserve dry while a top-up is being written waits for
the top-up and is asked again (`LaneAccounts.waited_for_grant`, `BudgetLedger.reserve`).

Each attack on that wait, beside the legitimate path: the top-up's transaction fails (the store
errs, or stays down), the waiting call is cancelled, the process stops (`LaneAccounts.close`)
while it waits, the budget is lowered or a new hard budget added while it waits, and many calls
of three processes on one store wait at once. What is checked: no call waits past the top-up's
end, spend plus holds never pass the limit, nothing is left held, and a call is asked again
under the budgets as they are after the wait.

A top-up "being written" is a real one: the flush's transaction, held back in front of the
database thread (`_Gate`) until the test lets it go (or fails it).
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from typing import Any

import pytest

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.engine.budgets import lane_accounts, reserves, transactions
from llmgw_desktop.engine.budgets.lane_accounts import LaneAccounts
from llmgw_desktop.engine.budgets.reserves import Taken
from llmgw_desktop.engine.store import Database, StoreUnavailable
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.tasks import TaskSupervisor
from tests import waiting
from tests.engine.budgets.test_reserves import (  # noqa: F401 - fixtures
    _HELD,
    CALL,
    HARD,
    KEY,
    ask,
    in_store,
    processes,
    release,
    stores,
)
from tests.fakes.upstream import ScriptedUpstream
from tests.security.test_budget_reserves import (
    COST,
    HOLD,
    _call,
    _global,
    _held,
    _settled,
    _under,
)
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

# No call here may wait longer than this: a hang fails the test, not the run, and a loaded
# machine's slow call does not.
WAIT_S = 20.0


class _Gate:
    """Holds `db`'s flushes that grant a reserve (a top-up being written) in front of the
    database thread until `open` (then written, or failed with `fail`)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._run = db.run
        self.armed = False  # `arm` holds the next top-ups
        self.fail: BaseException | None = None
        self.down = False  # after `open`, every write fails as the store's outage
        self.delay = 0.0  # each top-up waits this long (the stress test)
        self.waiting = asyncio.Event()  # a top-up is held
        self._open = asyncio.Event()
        db.run = self._gated  # type: ignore[method-assign]

    @staticmethod
    def _grants(fn: Callable[[], Any]) -> bool:
        if not isinstance(fn, functools.partial):
            return False
        if fn.func is transactions.flush:
            return bool(fn.args[3])
        if fn.func is transactions.admit_batch:
            return bool(fn.args[4])
        return False

    async def _gated(self, fn: Callable[[], Any]) -> Any:
        if self.down:
            raise StoreUnavailable("the test's store", "the server is stopped")
        if self._grants(fn):
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.armed:
                self.waiting.set()
                await self._open.wait()
                if self.fail is not None:
                    raise self.fail
        return await self._run(fn)

    def arm(self) -> None:
        self.armed = True
        self.waiting.clear()

    def open(self) -> None:
        self.armed = False
        self._open.set()

    def remove(self) -> None:
        self.open()
        self._db.run = self._run  # type: ignore[method-assign]


async def _dry_with_top_up_held(a: LaneAccounts, gate: _Gate) -> list[Taken]:
    """`a`'s reserve of KEY granted, then spent dry by running calls (taken, as the ledger
    takes them); its top-up is then being written, held by `gate`."""
    assert await ask(a, "first") == "store"  # the store grants the lane a reserve
    held: list[Taken] = []
    gate.arm()
    while (taken := a.hold([(KEY, 0, HARD)], (CALL,))) is not None:
        held.append(taken)
    await asyncio.wait_for(gate.waiting.wait(), WAIT_S)
    assert a.reserves.granting_to([KEY])
    return held


async def _late_call_waiting(a: LaneAccounts) -> asyncio.Future[str]:
    """A call "late" asked of `a` (`ask`), once it waits for the top-up (it found the reserve
    dry)."""
    late = asyncio.ensure_future(ask(a, "late"))
    for _ in range(100):
        await asyncio.sleep(0)
        if a.reserves._landed is not None:
            break
    assert a.reserves._landed is not None and not late.done()
    return late


async def _nothing_left(db: Database, spent: float) -> None:
    for _ in range(150):
        s, h, rows = await in_store(db)
        if rows == 0:
            break
        await asyncio.sleep(0.02)
    assert (rows, h) == (0, 0.0) and s == pytest.approx(spent)


def _end(a: LaneAccounts, held: list[Taken]) -> None:
    for taken in held:
        a.add(KEY, CALL)
        a.end_hold(taken)


async def _all_ended(a: LaneAccounts, db: Database, held: list[Taken], *holds: str) -> None:
    """The calls still open end, each costing CALL (`held`: those taken from the reserve;
    `holds`: those `ask` admitted), `a` closes, and the store holds nothing, every call's cost
    counted."""
    _end(a, held)
    for hold in holds:
        a.add(KEY, CALL)
        release(a, hold)
    await a.close()
    await _nothing_left(db, (len(held) + len(holds)) * CALL)


# -- the legitimate path --------------------------------------------------------------------


async def test_legit_a_call_waiting_for_a_held_top_up_takes_the_room_that_lands(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    a, *_ = processes
    gate = _Gate(stores[0])
    held = await _dry_with_top_up_held(a, gate)
    late = await _late_call_waiting(a)
    gate.open()
    assert await asyncio.wait_for(late, WAIT_S) == "memory"
    spent, in_holds, _rows = await in_store(stores[0])
    assert in_holds >= (len(held) + 2) * CALL - 1e-9 and spent + in_holds <= HARD + 1e-9
    await _all_ended(a, stores[0], held, "first", "late")


# -- the top-up fails ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [peewee.OperationalError("disk I/O error"), StoreUnavailable("the store", "it is down")],
    ids=["store-errs", "store-unreachable"],
)
async def test_a_top_up_that_fails_sends_the_waiting_call_to_the_store_at_once(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
    failure: Exception,
) -> None:
    a, *_ = processes
    gate = _Gate(stores[0])
    held = await _dry_with_top_up_held(a, gate)
    late = await _late_call_waiting(a)
    gate.fail = failure
    gate.open()
    # Woken by the failure (nothing granted): decided in the store, which answers again.
    assert await asyncio.wait_for(late, WAIT_S) == "store"
    assert not a.reserves.granting_to([KEY])
    spent, in_holds, _rows = await in_store(stores[0])
    assert spent + in_holds <= HARD + 1e-9
    gate.remove()
    await _all_ended(a, stores[0], held, "first", "late")


async def test_a_top_up_failing_with_the_store_down_refuses_the_waiting_call_as_the_stores(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    a, *_ = processes
    gate = _Gate(stores[0])
    held = await _dry_with_top_up_held(a, gate)
    late = await _late_call_waiting(a)
    gate.fail = StoreUnavailable("the test's store", "the server is stopped")
    gate.down = True
    gate.open()
    with pytest.raises(StoreUnavailable):
        await asyncio.wait_for(late, WAIT_S)  # not a hang, not admitted from memory
    assert ("late" not in {h for _s, h in _HELD}) and not a.reserves.granting_to([KEY])
    gate.down = False
    gate.remove()
    await _all_ended(a, stores[0], held, "first")


# -- the waiting call goes away ----------------------------------------------------------------


async def test_a_call_cancelled_while_it_waits_for_a_top_up_takes_and_leaves_nothing(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    a, *_ = processes
    gate = _Gate(stores[0])
    held = await _dry_with_top_up_held(a, gate)
    used = a.reserves._lanes[KEY].used
    late = await _late_call_waiting(a)
    late.cancel()  # its client hung up
    with pytest.raises(asyncio.CancelledError):
        await late
    gate.open()
    for _ in range(100):
        if not a.reserves.granting_to([KEY]):
            break
        await asyncio.sleep(0.01)
    assert a.reserves._lanes[KEY].used == pytest.approx(used)  # nothing taken for it
    # Legitimate: the next call takes from the room that landed.
    assert await ask(a, "next") == "memory"
    await _all_ended(a, stores[0], held, "first", "next")


async def test_a_process_closed_while_a_call_waits_for_a_top_up_neither_hangs_nor_admits_it(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    a, *_ = processes
    gate = _Gate(stores[0])
    held = await _dry_with_top_up_held(a, gate)
    _end(a, held)  # the running calls end before the stop (as the engine's stop has them)
    a.add(KEY, CALL)
    release(a, "first")
    late = await _late_call_waiting(a)
    closing = asyncio.ensure_future(a.close())
    await asyncio.sleep(0)
    gate.open()
    await asyncio.wait_for(closing, WAIT_S)
    how = await asyncio.wait_for(late, WAIT_S)  # not a hang
    assert how != "memory"  # a closed process admits nothing from its reserves
    # What the top-up granted during the stop is given back, not left held in the store: only
    # the late call's own hold (admitted in the store after the stop) may remain.
    spent, in_holds, rows = await in_store(stores[0])
    assert spent + in_holds <= HARD + 1e-9
    assert in_holds <= (CALL if how == "store" else 0.0) + 1e-9, (how, in_holds, rows)


# -- the budget changes while the call waits (through the gateway) ----------------------------


async def _gateway_with_dry_reserve(
    start: GatewayFactory, hard: float
) -> tuple[Any, Any, Any, _Gate, list[Taken]]:
    gateway, client, ledger = await _under(start, hard)
    assert [await _call(client) for _ in range(5)] == [200] * 5  # a reserve is held
    await _settled(ledger, gateway)
    accounts = ledger.accounts
    gate = _Gate(gateway.engine.store)
    (reserve,) = accounts.reserves._lanes.values()
    held: list[Taken] = []
    gate.arm()
    # Running calls take its spare (as the ledger takes it): its top-up is written at once.
    while (taken := accounts.hold([(reserve.key, 1, reserve.limit)], (0, HOLD))) is not None:
        held.append(taken)
    await asyncio.wait_for(gate.waiting.wait(), WAIT_S)
    assert accounts.reserves.granting_to([reserve.key])
    return gateway, client, ledger, gate, held


@pytest.mark.parametrize("change", ["none", "lowered", "token-budget-added"])
async def test_a_budget_changed_while_a_call_waits_for_a_real_top_up_decides_that_call(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    change: str,
) -> None:
    gateway, client, ledger, gate, held = await _gateway_with_dry_reserve(start_gateway, 50)
    accounts = ledger.accounts
    spent = ledger.statuses()[0].spent
    running = len(held) * HOLD
    call = asyncio.ensure_future(_call(client))
    # Waits bounded by time, not turns (a loaded CI outran 200 turns of 10 ms in the sibling
    # file's copy of this wait).
    await waiting.until(
        lambda: accounts.reserves._landed is not None or call.done(),
        "the call waits for the top-up (or is answered)",
        timeout_s=20.0,
    )
    assert accounts.reserves._landed is not None and not call.done(), (
        f"the call did not wait for the top-up (answered: {call.done()})"
    )
    if change == "lowered":
        # Room for less than one call beside the spend and the calls running.
        lowered = round(spent + running + 0.10, 2)
        tables = [_global(lowered)]
    elif change == "token-budget-added":
        tables = [_global(50), {"scope": "global", "unit": "tokens", "period": "daily", "hard": 1}]
    else:
        tables = [_global(50)]
    replacing = asyncio.ensure_future(gateway.engine.budgets.replace(LOCAL_CALLER, tables))
    # The ledger runs on the new list (written to config.toml first, on a thread) before it
    # reads their spend: the gate must not open under the old list.
    await waiting.until(
        lambda: len(ledger.budgets) == len(tables) and ledger.budgets[0].hard == tables[0]["hard"],
        "the ledger on the new budget list",
        timeout_s=20.0,
    )
    gate.open()  # the top-up lands, granted under the old limit of $50
    await asyncio.wait_for(replacing, WAIT_S)
    answer = await asyncio.wait_for(call, WAIT_S)
    assert answer == (200 if change == "none" else 402)
    assert len(upstream.llm_requests) == (6 if change == "none" else 5)
    gate.remove()
    for taken in held:
        accounts.end_hold(taken)
    await _settled(ledger, gateway)
    status = ledger.statuses()[0]
    assert status.spent + await _held(gateway) <= (ledger.budgets[0].hard or 0.0) + 1e-9
    assert status.spent == pytest.approx(spent + (COST if change == "none" else 0.0))


# -- three processes, many calls waiting at once ------------------------------------------------


async def test_many_calls_of_three_processes_waiting_for_top_ups_never_pass_the_budget(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lane_accounts, "FLUSH_AFTER_S", 0.005)
    monkeypatch.setattr(reserves, "RESERVE_CALLS", 8)  # top-ups every few calls
    monkeypatch.setattr(reserves, "RESERVE_FLOOR_CALLS", 16)
    gates = [_Gate(db) for db in stores]
    for gate in gates:
        gate.delay = 0.01  # every top-up takes 10 ms: many calls find their reserve dry
    waited = {"n": 0}
    for s in processes:
        real = s.waited_for_grant

        async def counted(lanes: Any, real: Any = real) -> bool:
            did = await real(lanes)
            waited["n"] += did
            return bool(did)

        s.waited_for_grant = counted  # type: ignore[method-assign]
    hard = 1.0
    rng = random.Random(7)
    running: dict[str, float] = {}
    costs: list[float] = []
    how: list[str] = []
    worst = {"over": 0.0}

    async def call(n: int) -> None:
        s = processes[n % 3]
        amount = rng.choice([0.001, 0.002, 0.004])
        hold = f"call-{n}"
        await asyncio.sleep(rng.random() * 0.03)
        how.append(await asyncio.wait_for(ask(s, hold, amount, hard), WAIT_S))
        if not how[-1]:
            return
        running[hold] = amount
        worst["over"] = max(worst["over"], sum(running.values()) + sum(costs) - hard)
        await asyncio.sleep(rng.random() * 0.02)
        cost = amount * rng.random()
        costs.append(cost)
        del running[hold]
        s.add(KEY, cost)
        release(s, hold)

    async def watch() -> None:
        while True:
            spent, held, _rows = await in_store(stores[0])
            worst["over"] = max(worst["over"], spent + held - hard)
            await asyncio.sleep(0.01)

    watcher = asyncio.ensure_future(watch())
    try:
        for wave in range(4):
            await asyncio.gather(*(call(wave * 1000 + n) for n in range(250)))
    finally:
        watcher.cancel()
    assert worst["over"] <= 1e-9, worst
    for s in processes:
        await s.close()
    for gate in gates:
        gate.remove()
    for _ in range(100):
        spent, held, rows = await in_store(stores[0])
        if rows == 0 and spent == pytest.approx(sum(costs)):
            break
        await asyncio.sleep(0.02)
    assert spent == pytest.approx(sum(costs)) and (rows, held) == (0, 0.0)
    assert waited["n"] > 0 and how.count("memory") > 0 and how.count("") > 0, (
        waited,
        how.count("memory"),
        how.count("store"),
        how.count(""),
    )


def _supervised(db: Database) -> tuple[TaskSupervisor, LaneAccounts]:
    """Process c on `db`, its settlements tasks of a supervisor of its own, as the engine's
    are: new ones refused once its shutdown begins, running ones cancelled after the grace."""
    supervisor = TaskSupervisor()
    a = LaneAccounts(
        db, process_id="process-c", spawn=lambda coro: supervisor.spawn(coro, name="budget-settle")
    )
    return supervisor, a


# -- the engine stops while a call waits ---------------------------------------------------------


async def test_the_engine_stopping_while_a_call_waits_for_a_top_up_hangs_nothing_and_leaves_nothing(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    # As the engine has it: the settlements are tasks of its supervisor, which refuses new ones
    # once its shutdown begins, and cancels the ones still running after the grace (the flush
    # is run to its end all the same). Requests still open meanwhile end, and the ledger is
    # closed after.
    supervisor, a = _supervised(stores[0])
    gate = _Gate(stores[0])
    held = await _dry_with_top_up_held(a, gate)
    late = await _late_call_waiting(a)
    stopping = asyncio.ensure_future(supervisor.shutdown(grace=0.05))
    await asyncio.sleep(0.1)  # past the grace: the flush's task is cancelled (its write goes on)
    gate.open()
    how = await asyncio.wait_for(late, WAIT_S)
    await asyncio.wait_for(stopping, WAIT_S)
    assert how in ("memory", "store")
    # The calls still open end (their costs added, their holds ended), then the ledger closes.
    await _all_ended(a, stores[0], held, "first", "late")


async def test_a_call_taken_from_a_reserve_while_the_engine_stops_is_never_left_held(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    # Adjacent to the wait (the same `hold` the waiting call is asked again with): with the
    # engine's supervisor shut, a call that leaves the reserve low asks for a flush at once,
    # which cannot start. Before, `hold` raised then (the call failed, a 500) having taken its
    # hold, which nobody ended: it stayed held in the store after the stop.
    supervisor, a = _supervised(stores[0])
    assert await ask(a, "first") == "store"
    await supervisor.shutdown(grace=0.05)  # the flush's task cancelled; no task may start
    held: list[Taken] = []
    while (taken := a.hold([(KEY, 0, HARD)], (CALL,))) is not None:
        held.append(taken)
    assert held  # the reserve's room, taken call by call until it ran dry
    await _all_ended(a, stores[0], held, "first")


async def test_a_call_decided_in_the_store_while_the_engine_stops_is_answered(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
) -> None:
    # Adjacent to the wait (the top-up the waiting calls wait for may be an admission's): a
    # call decided in the store whose batch grants its lane's reserve more, written while the
    # engine's supervisor shuts down (the flush's task cancelled after the grace).
    supervisor, a = _supervised(stores[0])
    gate = _Gate(stores[0])
    assert await ask(a, "first") == "store"
    gate.arm()
    big = asyncio.ensure_future(ask(a, "big", 2.0))  # more than the reserve: the store
    await asyncio.wait_for(gate.waiting.wait(), WAIT_S)
    stopping = asyncio.ensure_future(supervisor.shutdown(grace=0.05))
    await asyncio.sleep(0.1)
    gate.open()
    await asyncio.wait_for(stopping, WAIT_S)
    try:
        how = await asyncio.wait_for(big, 2.0)
    except TimeoutError:
        _spent, in_holds, rows = await in_store(stores[0])
        pytest.fail(
            "the call decided in the store was never answered (its batch raised after its "
            f"write); the store holds its {in_holds - CALL:.2f} (beside the first call's "
            f"{CALL}; {rows} rows), which no one will release"
        )
    assert how == "store"


async def test_a_reserve_another_process_reclaims_while_a_call_waits_for_its_top_up(
    stores: list[Database],  # noqa: F811
    processes: list[LaneAccounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a stops past its lease (SIGSTOP) with a top-up being written and a call waiting for it:
    # b's admission counts a's holds and reserve as spent. a runs again: its top-up finds the
    # reserve's row gone, so the waiting call takes nothing from it.
    from tests.engine.budgets.test_reserves import lease

    monkeypatch.setattr(lane_accounts, "RECLAIM_EVERY_S", 0.0)
    first = stores[0]
    a, b, _c = processes
    gate = _Gate(first)
    held = await _dry_with_top_up_held(a, gate)
    row = a.reserves._lanes[KEY].row
    late = await _late_call_waiting(a)
    await stores[1].run(lambda: lease(stores[1], "process-a", 0.0))
    assert await ask(b, "b-0") == "store"  # reclaims a's rows as spent
    reclaimed, _held_now, _rows = await in_store(first)
    assert reclaimed >= (len(held) + 1) * CALL - 1e-9
    await stores[1].run(lambda: lease(stores[1], "process-a", 1e12))
    gate.open()
    how = await asyncio.wait_for(late, WAIT_S)
    # Decided in the store (which may grant a new reserve: a new row), not from the old one.
    now = a.reserves._lanes.get(KEY)
    assert how != "memory" and (now is None or now.row != row)
    spent, in_holds, _rows = await in_store(first)
    assert spent + in_holds <= HARD + 1e-9
