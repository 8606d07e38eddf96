"""`Redo`: work owed while the store failed, done again until it succeeds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.store.redo import Redo
from tests.waiting import until

QUICK = Backoff(first_s=0.01, longest_s=0.05)


@contextlib.asynccontextmanager
async def running(redo: Redo) -> AsyncIterator[Redo]:
    task = asyncio.ensure_future(redo.run_forever())
    try:
        yield redo
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_work_is_done_again_until_it_succeeds_then_no_more() -> None:
    tries: list[int] = []

    async def read() -> None:
        tries.append(len(tries))
        if len(tries) < 3:
            raise ConnectionError("the server is stopped")

    later: list[str] = []

    async def another() -> None:
        later.append("done")

    async with running(Redo(QUICK)) as redo:
        redo.owe("read", read)
        await until(lambda: not redo.owed and len(tries) == 3, "three tries, the last good")
        redo.owe("another", another)  # the loop goes on: had `read` stayed owed, it ran again
        await until(lambda: later, "another work owed after")
        assert len(tries) == 3


async def test_work_owed_twice_under_one_name_is_done_once_and_a_work_may_owe_itself() -> None:
    done: list[str] = []
    redo = Redo(QUICK)

    async def swallows_its_failure() -> None:  # as `BudgetLedger.load` does
        done.append("load")
        if done.count("load") == 1:
            redo.owe("load", swallows_its_failure)

    async def first() -> None:
        done.append("first")

    redo.owe("once", first)
    redo.owe("once", first)
    redo.owe("load", swallows_its_failure)
    async with running(redo):
        await until(lambda: not redo.owed and done.count("load") == 2, "the load done again")
    assert done.count("first") == 1
