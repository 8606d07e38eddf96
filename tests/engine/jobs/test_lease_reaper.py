"""The lease reaper: a gateway process that stops renewing its lease has its jobs (and its
recorder rows) ended as `interrupted` by a survivor, once, and never resurrected.

Processes are `JobManager`s with leases of their own (test_leases.py); one "dies" by never
renewing its lease (a renewal interval far longer than the test), as a process killed with -9
stops renewing, while its job keeps running in memory: once its job runs, its lease is made to
run out on the store (`expire_lease`). Reaping happens only on a store other
processes share, so these run on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.store import Database
from tests.engine.jobs.test_leases import (
    BOUND_S,
    NEVER_S,
    Process,
    Spawn,
    eventually,
    expire_lease,
    processes,
    stored_state,
)
from tests.engine.jobs.test_manager import Gate
from tests.postgres import opened

__all__ = ["processes"]  # the fixture, shared with test_leases.py


async def running_job(process: Process) -> tuple[str, Gate]:
    """A job submitted to `process` and started, held until its gate opens: its id, the gate."""
    gate = Gate()
    submitted = await process.harness.manager.submit(process.harness.spec(gate))
    await gate.started.wait()
    return submitted.job_id, gate


@pytest.fixture
def store_engine() -> str:
    """Reaping needs a store other processes share: PostgreSQL."""
    return "postgresql"


async def test_a_dead_process_jobs_and_records_are_interrupted_after_its_lease(
    processes: Spawn, caplog: pytest.LogCaptureFixture
) -> None:
    dead = await processes(lease_s=5, renew_every_s=NEVER_S)
    job_id, gate = await running_job(dead)
    await dead.harness.manager.flush_now()
    recorder = FlightRecorder(dead.db, process_id=dead.leases.process_id)
    record = recorder.start(principal="local", provider="claude")
    recorder.update(record, job_id=job_id)
    in_flight = recorder.start(principal="local", provider="openai")  # an HTTP request, no job
    await recorder.flush()
    await expire_lease(dead)
    caplog.set_level(logging.WARNING, logger="llmgw_desktop.engine.jobs.leases")
    survivor = await processes()

    async def interrupted() -> bool:
        return await stored_state(survivor, job_id) is JobState.INTERRUPTED

    await eventually(interrupted)
    view = await survivor.harness.manager.get(job_id, "local")
    assert view.output == "partial..."  # the partial output is kept
    assert view.error is not None and view.error["code"] == "interrupted"
    Request = survivor.db.models.RecordedRequest
    states = await survivor.db.run(
        lambda: [Request.get_by_id(row).state for row in (record, in_flight)]
    )
    assert states == ["interrupted", "interrupted"]
    assert any(dead.leases.process_id in r.getMessage() for r in caplog.records)
    leases = await survivor.db.run(lambda: [r.id for r in survivor.db.models.ProcessLease.select()])
    assert leases == [survivor.leases.process_id]
    gate.opened.set()


async def test_two_reapers_at_once_mark_each_job_once(
    new_database: Callable[[str], Database],
) -> None:
    async with (
        opened(new_database("shared.db")) as first,
        opened(new_database("shared.db")) as second,
    ):
        models = first.models
        now = time.time()

        def leave_a_dead_process() -> None:
            models.ProcessLease.create(
                id="dead", host="gone", pid=1, started_at=now - 60, expires_at=now - 1
            )
            for n in range(40):
                models.Job.create(
                    id=f"job_{n}",
                    owner_principal="local",
                    provider="claude",
                    state="running" if n % 2 else "queued",
                    request_json="{}",
                    created_at=now,
                    updated_at=now,
                    owner_process="dead",
                )

        await first.run(leave_a_dead_process)
        reapers = [JobLeases(db, lease_s=5) for db in (first, second)]
        results = await asyncio.gather(*(r.register() for r in reapers))
        counted = sum(reaped.jobs for result in results for reaped in result)
        states = await first.run(lambda: {row.state for row in models.Job.select()})
    assert counted == 40 and states == {"interrupted"}


async def test_an_owner_that_stalled_past_its_lease_does_not_resurrect_its_job(
    processes: Spawn, caplog: pytest.LogCaptureFixture
) -> None:
    stalled = await processes(lease_s=5, renew_every_s=NEVER_S)
    job_id, gate = await running_job(stalled)
    await expire_lease(stalled)
    survivor = await processes()

    async def reaped() -> bool:
        return await stored_state(survivor, job_id) is JobState.INTERRUPTED

    await eventually(reaped)
    # The stalled process wakes up: its lease is gone, it says so and registers again.
    caplog.set_level(logging.ERROR, logger="llmgw_desktop.engine.jobs.leases")
    await stalled.leases.renew()
    assert any("stopped renewing its lease" in r.getMessage() for r in caplog.records)
    assert await stalled.db.run(
        lambda: stalled.db.models.ProcessLease.get_or_none(id=stalled.leases.process_id)
    )
    gate.opened.set()
    done = await stalled.harness.manager.wait(job_id, "local", timeout_s=BOUND_S)
    # One truth (issue 24): whoever waited in that process is told what the store kept, the
    # survivor's ending, and no result the store did not take.
    assert done.state is JobState.INTERRUPTED and done.result is None
    assert await stored_state(survivor, job_id) is JobState.INTERRUPTED


async def test_a_lease_taken_again_fences_the_old_tenure_even_where_the_row_is_still_running(
    processes: Spawn,
) -> None:
    owner = await processes(lease_s=5, renew_every_s=NEVER_S)
    job_id, gate = await running_job(owner)
    await owner.harness.manager.flush_now()
    # Its lease goes (as a reaper deletes it) while the job's row still says `running`: the
    # states line up, so only the epoch tells the tenure that stored the job from the next.
    Lease = owner.db.models.ProcessLease
    await owner.db.run(lambda: Lease.delete().where(Lease.id == owner.leases.process_id).execute())
    await owner.leases.renew()
    assert await stored_state(owner, job_id) is JobState.RUNNING
    gate.opened.set()
    done = await owner.harness.manager.wait(job_id, "local", timeout_s=BOUND_S)
    assert done.state is JobState.INTERRUPTED and done.result is None
    # A survivor's reaper ends the row though its owner holds a live lease: not of that epoch.
    survivor = await processes()

    async def interrupted() -> bool:
        return await stored_state(survivor, job_id) is JobState.INTERRUPTED

    await eventually(interrupted)
    found = await JobStore(survivor.db).get(job_id)
    assert found is not None and found[0].result is None
    Leases = survivor.db.models.ProcessLease
    leases = await survivor.db.run(lambda: {r.id: r.epoch for r in Leases.select()})
    assert leases[owner.leases.process_id] == 2  # the live owner itself was not reaped


async def test_a_cancel_of_a_dead_process_job_ends_the_row_itself(processes: Spawn) -> None:
    dead = await processes(lease_s=5, renew_every_s=NEVER_S)
    job_id, gate = await running_job(dead)
    # A canceller that reaps nothing by itself (a long renewal) still ends the orphan.
    canceller = await processes(lease_s=5, renew_every_s=NEVER_S)
    await expire_lease(dead)
    began = time.monotonic()
    view = await canceller.harness.manager.cancel(job_id, "local")
    assert view.state is JobState.CANCELED and time.monotonic() - began < 2
    gate.opened.set()


async def test_a_job_of_a_live_owner_is_left_alone_by_the_reaper(processes: Spawn) -> None:
    # A lease long enough that a loaded machine's late renewal is no death.
    owner = await processes(lease_s=2)  # renews every third of its lease
    job_id, gate = await running_job(owner)
    other = await processes(lease_s=2)
    await asyncio.sleep(2.5)  # longer than the lease: several renewals and reapings
    assert await stored_state(other, job_id) is JobState.RUNNING
    assert other.leases.health()["peers"] == 1
    gate.opened.set()
    assert (await owner.harness.manager.wait(job_id, "local", BOUND_S)).finished


async def test_leases_keep_the_servers_time_so_a_machine_with_a_slow_clock_is_not_reaped(
    new_database: Callable[[str], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two gateways on two machines whose clocks disagree by an hour: each lease is written in
    PostgreSQL's time, so neither takes the other for dead (with their own clocks, the one
    behind would have looked expired to the other at every renewal)."""
    async with (
        opened(new_database("shared")) as first,
        opened(new_database("shared")) as second,
    ):
        behind, ahead = JobLeases(first, lease_s=5), JobLeases(second, lease_s=5)
        real_time = time.time
        monkeypatch.setattr("llmgw_desktop.engine.jobs.leases.time.time", lambda: 0.0)
        await behind.register()  # would have written a lease that ran out in 1970
        monkeypatch.setattr("llmgw_desktop.engine.jobs.leases.time.time", real_time)
        reaped = await ahead.register()
        Lease = first.models.ProcessLease
        expiries = await first.run(lambda: {r.id: r.expires_at for r in Lease.select()})
    assert reaped == () and set(expiries) == {behind.process_id, ahead.process_id}
    assert abs(expiries[behind.process_id] - (real_time() + 5)) < 60
