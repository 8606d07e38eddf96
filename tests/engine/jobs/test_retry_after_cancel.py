"""A call sent again right after its job was cancelled runs anew, on both engines.

A cancelled job does not end at once: its CLI's process tree is stopped first (up to the kill
grace), and until then its row is still `running`. Before, an identical call sent meanwhile (a
user who pressed Esc and asked again) attached to that job, in memory or through the store,
and was answered `canceled`. The dying work here is a coroutine that, once cancelled, ends
only when the test lets it, as a CLI that outlives SIGTERM until it is killed.

Identical calls that are not retries of a cancel still share one job (test_manager.py,
test_dedup_across_gateways.py); the real gateway over MCP is
tests/reliability/test_mcp_retry_after_cancel.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import JobContext
from llmgw_desktop.engine.jobs.manager import JobLimits
from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.jobs.ownership import RemoteCancels
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.store import Database
from tests.clock import Clock
from tests.engine.jobs.rows import completed
from tests.engine.jobs.test_leases import BOUND_S, NEVER_S, Process, Spawn, eventually, processes
from tests.engine.jobs.test_manager import Gate, Harness

__all__ = ["processes"]  # the fixture, shared with test_leases.py


class Dying(Gate):
    """Work held until its gate opens which, once cancelled, takes until `dead` is set to end."""

    def __init__(self) -> None:
        super().__init__()
        self.dying = asyncio.Event()
        self.dead = asyncio.Event()

    async def __call__(self, ctx: JobContext) -> dict[str, Any]:
        try:
            return await super().__call__(ctx)
        except asyncio.CancelledError:
            self.dying.set()
            await self.dead.wait()
            raise


async def check_runs_anew(harness: Harness, dying_id: str) -> None:
    """An identical call submitted now gets a job of its own, which answers."""
    retry = await harness.manager.submit(harness.spec(Gate.open("again")))
    assert not retry.attached and retry.job_id != dying_id, retry
    done = await harness.manager.wait(retry.job_id, "local", BOUND_S)
    assert done.state is JobState.COMPLETED and done.output == "again", done


async def flagged(process: Process, job_id: str) -> None:
    """Return once the job's row says its cancel was asked for. The owner writes it without
    waiting (a leaving caller cannot await), a moment after the cancel; a peer reads the
    row, so the test lets it land first, as the network does between two gateways."""
    Job = process.db.models.Job

    async def written() -> bool:
        return bool(await process.db.run(lambda: Job.get_by_id(job_id).cancel_requested))

    await eventually(written)


async def test_a_call_sent_while_a_job_cancelled_by_id_dies_runs_anew(h: Harness) -> None:
    dying = Dying()
    first = await h.manager.submit(h.spec(dying))
    await dying.started.wait()
    cancelling = asyncio.ensure_future(h.manager.cancel(first.job_id, "local"))
    await asyncio.wait_for(dying.dying.wait(), BOUND_S)
    await check_runs_anew(h, first.job_id)
    dying.dead.set()
    assert (await asyncio.wait_for(cancelling, BOUND_S)).state is JobState.CANCELED
    assert dying.runs == 1


async def test_a_call_sent_while_the_job_its_sync_caller_left_dies_runs_anew(
    h: Harness,
) -> None:
    dying = Dying()
    first = await h.manager.submit(h.spec(dying))
    waiting = asyncio.ensure_future(h.manager.wait_for_answer(first.job_id, "local", BOUND_S))
    await dying.started.wait()
    waiting.cancel()  # the caller pressed Esc: the job it alone waited on is stopped
    await asyncio.wait_for(dying.dying.wait(), BOUND_S)
    await check_runs_anew(h, first.job_id)
    dying.dead.set()
    ended = await h.manager.wait(first.job_id, "local", BOUND_S)
    assert ended.state is JobState.CANCELED, ended


async def test_a_job_that_answered_despite_its_cancel_still_answers_a_repeat(h: Harness) -> None:
    class Finishes(Gate):
        async def __call__(self, ctx: JobContext) -> dict[str, Any]:
            try:
                return await super().__call__(ctx)
            except asyncio.CancelledError:
                return {"text": "finished anyway"}  # its answer came as the cancel did

    work = Finishes()
    first = await h.manager.submit(h.spec(work))
    await work.started.wait()
    ended = await h.manager.cancel(first.job_id, "local")
    assert ended.state is JobState.COMPLETED, ended
    repeat = await h.manager.submit(h.spec(Gate.open()))
    assert repeat.attached and repeat.job_id == first.job_id, repeat


async def test_the_store_offers_no_job_being_cancelled_but_one_that_answered(db: Database) -> None:
    store, cancels = JobStore(db), RemoteCancels(db)

    async def stored(job_id: str, now: float, reuse: bool = False) -> JobView:
        return await store.create(
            job_id=job_id,
            principal="local",
            provider="claude",
            request={"prompt": "hi"},
            dedup_key="same call",
            correlation_id=None,
            session_id=None,
            now=now,
            reuse_since=0.0 if reuse else None,
        )

    await stored("dying", 10.0)
    assert await cancels.request_cancel("dying")
    assert await store.find_reusable("same call", 0.0) is None  # the look-up when full
    assert (await stored("anew", 20.0, reuse=True)).id == "anew"  # the look-up as it is stored
    # One that answered although its cancel was asked for keeps its answer for a repeat.
    assert await cancels.request_cancel("anew")
    await completed(store, "anew", "answered", now=30.0)
    assert (await stored("repeat", 40.0, reuse=True)).id == "anew"
    found = await store.find_reusable("same call", 0.0)
    assert found is not None and found.id == "anew"


async def test_a_peer_does_not_attach_to_a_job_its_owner_is_cancelling(processes: Spawn) -> None:
    owner, peer = await processes(lease_s=5), await processes(lease_s=5)
    dying = Dying()
    first = await owner.harness.manager.submit(owner.harness.spec(dying))
    await dying.started.wait()
    cancelling = asyncio.ensure_future(owner.harness.manager.cancel(first.job_id, "local"))
    await asyncio.wait_for(dying.dying.wait(), BOUND_S)
    await flagged(peer, first.job_id)
    await check_runs_anew(peer.harness, first.job_id)
    dying.dead.set()
    assert (await asyncio.wait_for(cancelling, BOUND_S)).state is JobState.CANCELED


async def test_a_job_cancelled_through_a_peer_is_not_attached_to_while_it_dies(
    processes: Spawn,
) -> None:
    owner, peer = await processes(lease_s=5), await processes(lease_s=5)
    dying = Dying()
    first = await owner.harness.manager.submit(owner.harness.spec(dying))
    await dying.started.wait()
    # The cancel reaches the owner as the flag it polls at each flush.
    cancelling = asyncio.ensure_future(peer.harness.manager.cancel(first.job_id, "local"))
    await asyncio.wait_for(dying.dying.wait(), BOUND_S)
    for harness in (peer.harness, owner.harness):
        retry = await harness.manager.submit(harness.spec(Gate.open("again")))
        assert retry.job_id != first.job_id, retry
        done = await harness.manager.wait(retry.job_id, "local", BOUND_S)
        assert done.state is JobState.COMPLETED and done.output == "again", done
    dying.dead.set()

    async def ended() -> bool:
        view = await owner.harness.manager.get(first.job_id, "local")
        return view.state is JobState.CANCELED

    await eventually(ended)
    assert (await asyncio.wait_for(cancelling, BOUND_S)).state is JobState.CANCELED


# Only a store other processes share has peers that cancel: PostgreSQL.
@pytest.mark.parametrize("store_engine", ["postgresql"])
async def test_the_owner_does_not_attach_to_its_job_a_peer_cancelled_before_it_took_that(
    new_database: Callable[[str], Database],
) -> None:
    # A cancel sent through a peer is a flag the owner takes at its next flush tick (a second
    # in the gateway); a call sent to the owner before that must not attach either.
    opened: list[Database] = []
    harnesses: list[Harness] = []
    for _ in range(2):
        db = new_database("shared.db")
        await db.open()
        opened.append(db)
        # No flush tick within the test: the owner has not taken the peer's cancel.
        limits = JobLimits(flush_interval_s=NEVER_S)
        leases = JobLeases(db, lease_s=5)
        harnesses.append(Harness(db, limits, Clock(1_000_000.0), leases=leases))
        await harnesses[-1].manager.start(recover=False)
    owner, peer = harnesses
    try:
        gate = Gate()
        first = await owner.manager.submit(owner.spec(gate))
        await gate.started.wait()
        assert await RemoteCancels(peer.db).request_cancel(first.job_id)  # what peer.cancel does
        retry = await owner.manager.submit(owner.spec(Gate.open("again")))
        assert retry.job_id != first.job_id, retry
        done = await owner.manager.wait(retry.job_id, "local", BOUND_S)
        assert done.state is JobState.COMPLETED and done.output == "again", done
        # The owner took the peer's cancel as it found the flag, not at a tick a second away.
        ended = await owner.manager.wait(first.job_id, "local", BOUND_S)
        assert ended.state is JobState.CANCELED, ended
    finally:
        for harness in harnesses:
            await harness.stop()
        for db in opened:
            await db.close()
