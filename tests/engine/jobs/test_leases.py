"""Jobs across gateway processes: any process answers for any job, on both engines.

Two `JobManager`s with leases of their own over two `Database`s on one store stand for two
gateway processes. The reaper of dead processes (PostgreSQL, a shared store) is
test_lease_reaper.py; the real processes are tests/e2e/test_team_gateway.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.manager import JobLimits
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.engine.jobs.test_manager import Gate, Harness
from tests.postgres import opened

SHORT_LEASE_S = 0.5
NEVER_S = 3600.0  # a renewal interval no test outlives: the process has "died"
BOUND_S = 10.0


@dataclass
class Process:
    db: Database
    leases: JobLeases
    harness: Harness


Spawn = Callable[..., Awaitable[Process]]


@pytest.fixture
async def processes(new_database: Callable[[str], Database]) -> AsyncIterator[Spawn]:
    """Start gateway processes (a manager with its own lease) on one store."""
    started: list[Process] = []

    async def spawn(
        *, lease_s: float = SHORT_LEASE_S, renew_every_s: float | None = None
    ) -> Process:
        db = new_database("shared.db")  # the same name: the same store, opened again
        await db.open()
        leases = JobLeases(db, lease_s=lease_s, renew_every_s=renew_every_s)
        harness = Harness(db, JobLimits(flush_interval_s=0.05), Clock(1_000_000.0), leases=leases)
        # As the engine starts it: only a store of its own is recovered at once.
        await harness.manager.start(recover=not db.engine.shared)
        process = Process(db, leases, harness)
        started.append(process)
        return process

    yield spawn
    for process in started:
        await process.harness.stop()
        await process.db.close()


async def eventually(check: Callable[[], Awaitable[bool]], bound_s: float = BOUND_S) -> None:
    deadline = time.monotonic() + bound_s
    while not await check():
        assert time.monotonic() < deadline, "not within the bound"
        await asyncio.sleep(0.05)


async def expire_lease(process: Process) -> None:
    """Have `process`'s lease run out now, as when it stopped renewing a lease ago (killed, or
    stalled): its row's expiry is moved into the past on the store's clock. A process whose
    lease is about to run out starts no job, so a test's "dead" process starts its job first."""
    Lease = process.db.models.ProcessLease
    process_id = process.leases.process_id

    def expire() -> None:
        past = process.leases.stamp() - 1
        Lease.update(expires_at=past).where(Lease.id == process_id).execute()

    await process.db.run(expire)


async def stored_state(process: Process, job_id: str) -> JobState:
    found = await JobStore(process.db).get(job_id)
    assert found is not None
    return found[0].state


async def test_a_job_one_process_runs_is_waited_and_watched_through_another(
    processes: Spawn,
) -> None:
    owner, other = await processes(lease_s=5), await processes(lease_s=5)
    gate = Gate()
    submitted = await owner.harness.manager.submit(owner.harness.spec(gate))
    await gate.started.wait()
    # Watching from the other process sees the row change (the flushed partial output).
    watched = await other.harness.manager.watch(submitted.job_id, "local", timeout_s=BOUND_S)
    assert watched.state is JobState.RUNNING
    # A wait bounded by its timeout returns the job as it stands, not at once.
    began = time.monotonic()
    still = await other.harness.manager.wait(submitted.job_id, "local", timeout_s=0.4)
    assert still.state is JobState.RUNNING and time.monotonic() - began >= 0.35
    waiting = asyncio.ensure_future(
        other.harness.manager.wait(submitted.job_id, "local", timeout_s=BOUND_S)
    )
    gate.opened.set()
    done = await waiting
    assert done.state is JobState.COMPLETED and done.output == "done"


async def test_a_job_one_process_runs_is_cancelled_through_another(processes: Spawn) -> None:
    owner, other = await processes(lease_s=5), await processes(lease_s=5)
    gate = Gate()
    submitted = await owner.harness.manager.submit(owner.harness.spec(gate))
    await gate.started.wait()
    canceled = await other.harness.manager.cancel(submitted.job_id, "local")
    # The owner ended it as a local cancel would: its work was cancelled, the row says so.
    assert canceled.state is JobState.CANCELED
    assert canceled.error is not None and canceled.error["code"] == "canceled"
    assert (await owner.harness.manager.get(submitted.job_id, "local")).state is JobState.CANCELED
    assert gate.runs == 1 and not gate.opened.is_set()


async def test_an_exclusive_store_start_still_interrupts_every_unfinished_job(
    tmp_path: Path,
) -> None:
    """On SQLite (one process's store, under the instance lock) a start ends every job left
    unfinished at once, whoever held it, without waiting for any lease to run out."""
    async with opened(Database(tmp_path / "jobs.db")) as db:
        now = time.time()

        def leave_a_running_job() -> None:
            db.models.ProcessLease.create(
                id="earlier", host="here", pid=1, started_at=now, expires_at=now + 3600
            )
            db.models.Job.create(
                id="job_left",
                owner_principal="local",
                provider="claude",
                state="running",
                request_json="{}",
                created_at=now,
                updated_at=now,
                owner_process="earlier",
            )

        await db.run(leave_a_running_job)
        leases = JobLeases(db, lease_s=SHORT_LEASE_S)
        harness = Harness(db, JobLimits(flush_interval_s=0.05), Clock(1_000_000.0), leases=leases)
        left = await harness.manager.start()
        try:
            assert [job.job_id for job in left] == ["job_left"]
            view = await harness.manager.get("job_left", "local")
            assert view.state is JobState.INTERRUPTED
        finally:
            await harness.stop()
        # A clean stop releases the lease.
        ids = await db.run(lambda: [r.id for r in db.models.ProcessLease.select()])
        assert leases.process_id not in ids


async def test_an_exclusive_store_forgets_at_once_the_leases_of_runs_that_are_gone(
    db: Database,
) -> None:
    """On SQLite (one process: the instance lock) a killed run's lease was counted as a peer
    on `/health` until it lapsed (fault pass of 2026-11-29, F4). A lease goes at once when its
    process is gone, or when it is our own pid's and this process did not make it (a
    container's gateway has the same pid each start); one of a process that runs stays."""
    if db.engine.shared:
        pytest.skip("a shared store's leases are the reaper's (test_lease_reaper.py)")
    killed = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await killed.wait()
    Lease = db.models.ProcessLease
    host, now = socket.gethostname(), time.time()
    left = {
        "killed run": (host, killed.pid, now - 60),
        "earlier run with our pid": (host, os.getpid(), now - 60),
        "another in this process": (host, os.getpid(), now),
        "another host's": ("elsewhere", killed.pid, now - 60),
    }

    def leave() -> None:
        for name, (at, pid, began) in left.items():
            Lease.insert(
                id=name, host=at, pid=pid, started_at=began, expires_at=now + 3600, epoch=1
            ).execute()

    await db.run(leave)
    JobLeases(db, lease_s=30, process_id="another in this process")  # made here, never run
    leases = JobLeases(db, lease_s=30)
    await leases.register()
    kept = await db.run(lambda: {r.id for r in Lease.select()})
    assert kept == {leases.process_id, "another in this process", "another host's"}
    assert leases.health()["peers"] == 2
