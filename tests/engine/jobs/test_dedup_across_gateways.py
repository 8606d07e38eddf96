"""Identical calls sent to two gateways sharing one store run once.

Two `JobManager`s over two `Database`s on one store (one SQLite file, or one PostgreSQL
database) stand for two gateway processes. The single-gateway dedup rules (window,
force_refresh, failed jobs) are in test_manager.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from llmgw_desktop.engine.jobs.manager import JobLimits
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.engine.jobs.test_manager import Gate, Harness

ROUNDS = 30


@pytest.fixture
async def gateways(
    new_database: Callable[[str], Database],
) -> AsyncIterator[tuple[Harness, Harness]]:
    opened: list[Database] = []
    harnesses: list[Harness] = []
    for _ in range(2):
        db = new_database("shared.db")  # the same name: the same store, opened twice
        await db.open()
        opened.append(db)
        harness = Harness(db, JobLimits(flush_interval_s=0.05), Clock(1_000_000.0))
        await harness.manager.start()
        harnesses.append(harness)
    yield harnesses[0], harnesses[1]
    for harness in harnesses:
        await harness.stop()
    for db in opened:
        await db.close()


async def test_identical_calls_racing_on_two_gateways_make_one_job(
    gateways: tuple[Harness, Harness],
) -> None:
    first, second = gateways
    gate = Gate()
    gate.opened.set()
    for round_ in range(ROUNDS):
        # Two of the three on one gateway: the one that attaches there in-process must follow
        # its neighbour to the other gateway's job when that one was stored first.
        submitted = await asyncio.gather(
            first.manager.submit(first.spec(gate, prompt=f"call {round_}")),
            second.manager.submit(second.spec(gate, prompt=f"call {round_}")),
            first.manager.submit(first.spec(gate, prompt=f"call {round_}")),
        )
        assert len({s.job_id for s in submitted}) == 1, submitted
        assert [s.attached for s in submitted].count(True) == 2, submitted
        for harness in gateways:  # the gateway that owns it waits for the end; the other reads
            await harness.manager.wait(submitted[0].job_id, "local", 5)
    for harness in gateways:
        assert len(await harness.manager.list_jobs("local", limit=2 * ROUNDS)) == ROUNDS
    assert gate.runs == ROUNDS


async def test_a_call_attaches_to_the_job_another_gateway_runs(
    gateways: tuple[Harness, Harness],
) -> None:
    first, second = gateways
    gate = Gate()
    running = await first.manager.submit(first.spec(gate))
    await gate.started.wait()
    attached = await second.manager.submit(second.spec(gate))
    assert attached.attached and attached.job_id == running.job_id
    # force_refresh still means a new job, whichever gateway takes it.
    forced = await second.manager.submit(second.spec(gate), force_refresh=True)
    assert not forced.attached and forced.job_id != running.job_id
    gate.opened.set()
    await first.manager.wait(running.job_id, "local", 5)
    await second.manager.wait(forced.job_id, "local", 5)
    assert gate.runs == 2
