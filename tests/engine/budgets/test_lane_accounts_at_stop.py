"""The budgets' writes cut by the engine's stop: what the database thread did is what counts.

At stop the engine cancels the background tasks still running after a short grace; the
lane accounts' writers are among them (the flush of finished calls' spend, and the batch that
admits calls, which carries the spend owed along). A cancelled `await` on the database thread
does not stop the thread: a transaction already running commits, and one still queued never
runs. Before, the flush forgot what it had taken (a queued flush's spend was never written:
a budget under-counted after the restart) and the admission gave back what it had taken even
when the thread went on to commit it (the last flush then wrote it a second time). Now each
waits for the thread's outcome and acts on it, then lets the cancellation go on.

Real stores (SQLite and PostgreSQL); the database thread is held up by a gate in its queue, or
by another connection holding the lane's lock, so the cancellation lands at a known step.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from llmgw_desktop.engine.budgets import lane_accounts
from llmgw_desktop.engine.budgets.lane_accounts import LaneAccounts
from llmgw_desktop.engine.budgets.lanes import lock_lanes, transaction
from llmgw_desktop.engine.store import Database, StoreUnavailable
from tests.engine.budgets.test_lanes import KEY, lease, stores, take

__all__ = ["stores"]  # the fixture, shared with test_lanes

SPENT = 0.3
# Long enough for a step to reach the database thread (the tests wait for it, not on it).
SETTLE_S = 0.1


class Spawned:
    """The accounts' background tasks, kept so the test can cancel them as the stop does."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def __call__(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    def cancel_all(self) -> None:
        """As `Tasks.shutdown` does after its grace (then it waits for them: `ended`)."""
        for task in self.tasks:
            task.cancel()

    async def ended(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def spent_now(store: Database) -> float:
    """The lane's spend as a fresh process reads it from the store."""
    reader = LaneAccounts(store, process_id="process-reader", spawn=asyncio.ensure_future)
    _verdict, states = await reader.admit([KEY], take(0.0), "a-look")
    return float(states[KEY].spent)


async def accounts_of(store: Database, spawned: Spawned) -> LaneAccounts:
    """Process a's settlements, `KEY`'s period counted in at nothing spent, alive (leased)."""
    mine = LaneAccounts(store, process_id="process-a", spawn=spawned)
    assert await mine.count_in(KEY.budget, KEY.period_start, lambda: {})
    await store.run(lambda: lease(store, "process-a", time.time() + 3600))
    return mine


async def test_a_flush_cut_while_queued_still_writes_the_spend_at_close(
    stores: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _second = stores
    monkeypatch.setattr(lane_accounts, "FLUSH_AFTER_S", 0.0)
    spawned = Spawned()
    a = await accounts_of(first, spawned)
    gate = threading.Event()
    busy = asyncio.ensure_future(first.run(lambda: gate.wait(10)))  # the thread is held up
    await asyncio.sleep(SETTLE_S)
    a.add(KEY, SPENT)  # a call ended: its flush is queued behind the gate
    await asyncio.sleep(SETTLE_S)
    spawned.cancel_all()  # the stop's grace has run out
    await asyncio.sleep(SETTLE_S)
    gate.set()
    await busy
    await spawned.ended()
    await a.close()  # the last flush
    assert await spent_now(first) == pytest.approx(SPENT)


async def test_an_admission_cut_while_its_transaction_runs_is_not_written_twice(
    stores: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = stores
    monkeypatch.setattr(lane_accounts, "FLUSH_AFTER_S", 60.0)  # the spend rides the admission
    spawned = Spawned()
    a = await accounts_of(first, spawned)
    gate = threading.Event()

    def hold_the_lane() -> None:  # another process's transaction on the same lane
        database = second.models.database
        with transaction(database):  # on SQLite: the file's write lock
            lock_lanes(lambda name: second.engine.serialize(database, name), [KEY])
            gate.wait(10)

    holder = asyncio.ensure_future(second.run(hold_the_lane))
    await asyncio.sleep(SETTLE_S)
    a.add(KEY, SPENT)
    call = asyncio.ensure_future(a.admit([KEY], take(0.1), "call-at-stop"))
    await asyncio.sleep(SETTLE_S)  # its batch runs on the thread, waiting for the lane's lock
    spawned.cancel_all()  # the stop cancels the writer (and the flusher)
    await asyncio.sleep(SETTLE_S)
    gate.set()
    await holder
    await spawned.ended()
    await asyncio.gather(call, return_exceptions=True)
    await a.close()
    # The batch committed the spend once; the last flush must not write it again.
    assert await spent_now(first) == pytest.approx(SPENT)


async def test_spend_the_store_does_not_take_at_close_is_said_in_one_warning(
    stores: tuple[Database, Database],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store gone at stop (PostgreSQL frozen or down): a failed flush is a DEBUG line
    during the outage, but the last one's loss must be said."""
    first, _second = stores
    monkeypatch.setattr(lane_accounts, "FLUSH_AFTER_S", 60.0)  # nothing written before the close
    a = await accounts_of(first, Spawned())
    a.add(KEY, SPENT)

    async def unreachable(fn: Any) -> Any:
        raise StoreUnavailable(first.engine.where, "not answering for 5 s")

    monkeypatch.setattr(first, "run", unreachable)
    with caplog.at_level("WARNING", logger=lane_accounts.__name__):
        await a.close()
    (said,) = [r.getMessage() for r in caplog.records if r.name == lane_accounts.__name__]
    assert "not written at stop" in said and f"{SPENT:.6f} on 1 lane(s)" in said, said
