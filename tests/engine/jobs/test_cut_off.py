"""A gateway process cut off from the store while a peer still reaches it (issue 38, item 1).

Two `JobManager`s with leases of their own stand for two gateway processes on one PostgreSQL
database; the first reaches it through a TCP proxy (`tests/fakes/tcp_proxy.py`) that resets
its connections, the second directly. The first cannot tell this from an outage for all, so it
starts nothing it cannot prove its lease for, tells nobody an end the store does not hold, and
once the cut heals says what the store says. The real processes, CLIs and each kind of fault
are `tests/reliability/test_partition.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.manager import JobLimits
from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.engine.jobs.test_leases import BOUND_S, eventually
from tests.engine.jobs.test_manager import Gate, Harness
from tests.fakes.tcp_proxy import Fault, FaultyProxy, faulty_proxy
from tests.postgres import PostgresCluster

LEASE_S = 1.0


@dataclass
class Member:
    db: Database
    leases: JobLeases
    harness: Harness
    overruled: list[JobState] = field(default_factory=list)


@dataclass
class Pair:
    cut: Member
    peer: Member
    proxy: FaultyProxy


@pytest.fixture
async def pair(tmp_path: Path, postgres_cluster: PostgresCluster) -> AsyncIterator[Pair]:
    url = postgres_cluster.create_database()
    members: list[Member] = []

    async def member(name: str, database_url: str, max_running: int) -> Member:
        db = Database(tmp_path / name, url=database_url)
        await db.open()
        leases = JobLeases(db, lease_s=LEASE_S)
        limits = JobLimits(flush_interval_s=0.05, max_running=max_running)
        found = Member(db, leases, Harness(db, limits, Clock(1_000_000.0), leases=leases))
        await found.harness.manager.start(recover=False)
        members.append(found)
        return found

    with faulty_proxy(postgres_cluster.port) as proxy:
        try:
            through = url.replace(f":{postgres_cluster.port}/", f":{proxy.port}/")
            yield Pair(await member("cut", through, 1), await member("peer", url, 8), proxy)
        finally:
            proxy.set(Fault.PASS)
            for found in members:
                await found.harness.stop()
                await found.db.close()
            postgres_cluster.drop_database(url)


async def stored(member: Member, job_id: str) -> JobState | None:
    view = await member.harness.manager.get(job_id, "local")
    return view.state


def submit(member: Member, gate: Gate) -> Awaitable[str]:
    async def go() -> str:
        spec = member.harness.spec(gate, prompt=str(id(gate)), overruled=member.overruled.append)
        return (await member.harness.manager.submit(spec)).job_id

    return go()


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    await eventually(check, 3 * BOUND_S)


async def test_a_cut_off_process_starts_nothing_tells_no_end_and_heals_to_the_store(
    pair: Pair,
) -> None:
    cut, peer = pair.cut, pair.peer
    running, queued = Gate(), Gate()
    first = await submit(cut, running)
    await running.started.wait()
    second = await submit(cut, queued)  # one slot: it waits for the first
    await cut.harness.manager.flush_now()
    pair.proxy.set(Fault.RESET)

    async def unproved() -> bool:
        return not cut.leases.holds()

    await until(unproved)  # a renewal failed: nothing is proved beyond the last one
    # The first job's work ends now, freeing the slot the second waits for.
    running.opened.set()
    seen: list[JobView] = []

    async def end_noted() -> bool:
        seen.append(await cut.harness.manager.wait(first, "local", timeout_s=0.1))
        return bool(seen[-1].progress.get("pendingEnd"))

    await until(end_noted)
    told = seen[-1]
    # Its end is not told before the store holds it: the store may keep another.
    assert told.state is JobState.RUNNING and told.result is None
    assert told.progress["pendingEnd"] == "completed"

    async def reaped() -> bool:
        return (await stored(peer, first), await stored(peer, second)) == (
            JobState.INTERRUPTED,
            JobState.INTERRUPTED,
        )

    await until(reaped)
    # The slot the first job freed was never used: no lease, no start.
    assert queued.runs == 0
    pair.proxy.set(Fault.PASS)

    async def adopted() -> bool:
        return (await stored(cut, first), await stored(cut, second)) == (
            JobState.INTERRUPTED,
            JobState.INTERRUPTED,
        )

    await until(adopted)
    done = await cut.harness.manager.wait(first, "local", timeout_s=BOUND_S)
    assert done.result is None and done.error is not None
    assert done.error["code"] == "interrupted"
    # Neither job's recorder row keeps what happened here: both take the store's ending.
    assert sorted(cut.overruled) == [JobState.INTERRUPTED, JobState.INTERRUPTED]
    assert queued.runs == 0 and cut.leases.epoch == 2


async def test_an_end_reached_in_a_short_cut_is_told_once_the_store_holds_it(pair: Pair) -> None:
    cut = pair.cut
    gate = Gate()
    job = await submit(cut, gate)
    await gate.started.wait()
    pair.proxy.set(Fault.REFUSE)
    gate.opened.set()
    waiting = asyncio.ensure_future(cut.harness.manager.wait(job, "local", timeout_s=BOUND_S))

    async def pending() -> bool:
        view = await cut.harness.manager.get(job, "local")
        return view.progress.get("pendingEnd") == "completed"

    await until(pending)
    assert not waiting.done()
    # Healed before the lease could run out: nobody took it for dead, the store takes the end.
    pair.proxy.set(Fault.PASS)
    done = await waiting
    assert done.state is JobState.COMPLETED and done.result is not None
    assert "pendingEnd" not in done.progress and cut.overruled == []
    assert await stored(pair.peer, job) is JobState.COMPLETED
