"""The refusal counter's flush loop while the store refuses writes: it waits longer each time,
logs each new error once, keeps the counts, and writes them all once the store is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from llmgw_desktop.engine.recorder import refusals
from llmgw_desktop.engine.recorder.refusals import RefusalCounter
from llmgw_desktop.engine.store import Database


class _RefusingStore:
    """A store whose writes fail while `full` is set (a full disk, said so to the test)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.models = db.models
        self.full = True

    async def run(self, fn):  # type: ignore[no-untyped-def]
        if self.full:
            raise OSError(28, "No space left on device")
        return await self.db.run(fn)


async def test_a_refusing_store_backs_off_logs_once_and_loses_no_count(
    new_database: Callable[[str], Database],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = new_database("store.sqlite3")
    await db.open()
    store = _RefusingStore(db)
    counter = RefusalCounter(store)  # type: ignore[arg-type]
    for _ in range(5):
        counter.count("127.0.0.1", "/v1", 401, "unauthorized")
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 8:
            store.full = False  # the disk has room again
        if len(waits) > 9:
            raise asyncio.CancelledError
        await real_sleep(0)

    # The loop's waits are recorded instead of slept (asyncio.sleep, for this test only).
    monkeypatch.setattr(refusals.asyncio, "sleep", recorded_sleep)
    with (
        caplog.at_level(logging.WARNING, logger=refusals.__name__),
        pytest.raises(asyncio.CancelledError),
    ):
        await counter.run_forever()
    assert waits[:7] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert waits[8] == 2.0  # back to the usual interval once a write succeeded
    said = [r.getMessage() for r in caplog.records if "refusal counts" in r.getMessage()]
    assert len(said) == 2, said  # when the outage starts, and when it ends (with its count)
    assert said[1].startswith("the refusal counts are written again (after 7 failure(s)")
    total = await db.run(
        lambda: db.models.database.execute_sql("SELECT SUM(count) FROM refusals").fetchone()[0]
    )
    assert total == 5
    await db.close()
