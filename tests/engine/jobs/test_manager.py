"""The job manager over a real store; the work is plain coroutines the test controls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from llmgw_desktop.engine.errors import NotFound, ProviderFailure, ProviderUnavailable, Saturated
from llmgw_desktop.engine.events import Event, EventBus, JobStateChanged
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.live import JobContext, JobSpec
from llmgw_desktop.engine.jobs.manager import JobLimits, JobManager
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.jobs.store import JobStore, LeftRunning
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import portable
from llmgw_desktop.engine.tasks import TaskSupervisor
from tests.clock import Clock
from tests.engine.jobs.rows import created


class Gate:
    """Work that waits until the test opens it, reporting partial output first."""

    def __init__(self, text: str = "done") -> None:
        self.opened = asyncio.Event()
        self.started = asyncio.Event()
        self.runs = 0
        self.text = text

    @classmethod
    def open(cls, text: str = "done") -> Gate:
        """Work that runs to its end at once."""
        gate = cls(text)
        gate.opened.set()
        return gate

    async def __call__(self, ctx: JobContext) -> dict[str, Any]:
        self.runs += 1
        ctx.set_output("partial...")
        ctx.set_progress(events=1)
        self.started.set()
        await self.opened.wait()
        return {"text": self.text, "usage": {"input_tokens": 3}}


class Harness:
    def __init__(
        self,
        db: Database,
        limits: JobLimits,
        clock: Callable[[], float],
        leases: JobLeases | None = None,
    ) -> None:
        self.db = db
        self.tasks = TaskSupervisor()
        self.events = EventBus()
        self.seen: list[Event] = []
        self.events.subscribe(Event, self.seen.append)
        self.manager = JobManager(
            JobStore(db),
            tasks=self.tasks,
            events=self.events,
            limits=limits,
            clock=clock,
            leases=leases,
        )

    def spec(
        self, work: Any, *, principal: str = "local", prompt: str = "hi", **kw: Any
    ) -> JobSpec:
        return JobSpec(
            principal=principal,
            provider=kw.pop("provider", "claude"),
            request={"prompt": prompt},
            working_dir="/w",
            work=work,
            **kw,
        )

    async def stop(self) -> None:
        await self.manager.stop()
        await self.tasks.shutdown()


async def test_job_runs_to_completion_and_is_durable(h: Harness) -> None:
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate))
    await gate.started.wait()
    running = await h.manager.get(submitted.job_id, "local")
    assert running.state is JobState.RUNNING and running.output == "partial..."
    gate.opened.set()
    done = await h.manager.wait(submitted.job_id, "local", timeout_s=5)
    assert done.state is JobState.COMPLETED
    assert done.output == "done" and done.result == {"text": "done", "usage": {"input_tokens": 3}}
    stored = await JobStore(h.db).get(submitted.job_id)
    assert stored is not None and stored[0].state is JobState.COMPLETED and stored[1] == "local"
    states = [e.state for e in h.seen if isinstance(e, JobStateChanged)]
    assert states == ["queued", "running", "completed"]


async def test_wait_returns_the_running_job_after_the_deadline(h: Harness) -> None:
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate))
    view = await h.manager.wait(submitted.job_id, "local", timeout_s=0.05)
    assert view.state is JobState.RUNNING and not view.finished
    gate.opened.set()
    assert (await h.manager.wait(submitted.job_id, "local", 5)).state is JobState.COMPLETED


async def test_partial_output_is_flushed_while_running(h: Harness) -> None:
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate))
    await gate.started.wait()
    await h.manager.flush_now()
    stored = await JobStore(h.db).get(submitted.job_id)
    assert stored is not None
    assert stored[0].output == "partial..." and stored[0].progress == {"events": 1}
    gate.opened.set()


async def test_identical_call_attaches_to_the_live_job(h: Harness) -> None:
    gate = Gate()
    first = await h.manager.submit(h.spec(gate))
    second = await h.manager.submit(h.spec(gate))
    assert second.attached and second.job_id == first.job_id
    gate.opened.set()
    await h.manager.wait(first.job_id, "local", 5)
    third = await h.manager.submit(h.spec(gate))
    assert third.attached and third.job_id == first.job_id  # finished inside the window
    assert gate.runs == 1


async def test_concurrent_identical_calls_run_once(h: Harness) -> None:
    gate = Gate()
    results = await asyncio.gather(*(h.manager.submit(h.spec(gate)) for _ in range(5)))
    assert len({r.job_id for r in results}) == 1
    gate.opened.set()
    await h.manager.wait(results[0].job_id, "local", 5)
    assert gate.runs == 1


async def test_force_refresh_and_different_calls_run_anew(h: Harness) -> None:
    gate = Gate.open()
    first = await h.manager.submit(h.spec(gate))
    await h.manager.wait(first.job_id, "local", 5)
    forced = await h.manager.submit(h.spec(gate), force_refresh=True)
    other_prompt = await h.manager.submit(h.spec(gate, prompt="other"))
    other_principal = await h.manager.submit(h.spec(gate, principal="alice"))
    ids = {first.job_id, forced.job_id, other_prompt.job_id, other_principal.job_id}
    assert len(ids) == 4 and not forced.attached


async def test_dedup_window_expires(db: Database) -> None:
    clock = Clock(1_000_000.0)
    h = Harness(db, JobLimits(dedup_window_s=60), clock)
    await h.manager.start()
    gate = Gate.open()
    first = await h.manager.submit(h.spec(gate))
    await h.manager.wait(first.job_id, "local", 5)
    clock.now += 61
    later = await h.manager.submit(h.spec(gate))
    assert later.job_id != first.job_id
    await h.manager.wait(later.job_id, "local", 5)
    await h.stop()


async def test_failed_jobs_are_not_reused(h: Harness) -> None:
    async def failing(ctx: JobContext) -> dict[str, Any]:
        raise ProviderFailure("nope", code="provider_error")

    first = await h.manager.submit(h.spec(failing))
    view = await h.manager.wait(first.job_id, "local", 5)
    assert view.state is JobState.FAILED and view.error is not None
    assert view.error["code"] == "provider_error"
    again = await h.manager.submit(h.spec(failing))
    assert again.job_id != first.job_id


async def test_cancel_stops_a_running_job(h: Harness) -> None:
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate))
    await gate.started.wait()
    view = await h.manager.cancel(submitted.job_id, "local")
    assert view.state is JobState.CANCELED
    assert view.output == "partial..."
    assert view.error is not None and view.error["code"] == "canceled"


async def test_other_principal_gets_not_found(h: Harness) -> None:
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate, principal="alice"))
    for call in (h.manager.get, h.manager.cancel):
        with pytest.raises(NotFound):
            await call(submitted.job_id, "bob")
    gate.opened.set()
    await h.manager.wait(submitted.job_id, "alice", 5)
    with pytest.raises(NotFound):
        await h.manager.get(submitted.job_id, "bob")


async def test_saturation_is_a_clear_retryable_error(db: Database) -> None:
    h = Harness(
        db, JobLimits(max_running=1, max_running_per_provider=1, max_queued=1), Clock(1_000_000.0)
    )
    await h.manager.start()
    gate = Gate()
    await h.manager.submit(h.spec(gate, prompt="1"))
    second = await h.manager.submit(h.spec(gate, prompt="2"))
    with pytest.raises(Saturated) as caught:
        await h.manager.submit(h.spec(gate, prompt="3"))
    assert caught.value.retryable and caught.value.code == "saturated"
    assert (await h.manager.get(second.job_id, "local")).state is JobState.QUEUED
    gate.opened.set()
    await h.manager.wait(second.job_id, "local", 5)
    await h.stop()


async def test_per_provider_limit_leaves_room_for_others(db: Database) -> None:
    h = Harness(db, JobLimits(max_running=4, max_running_per_provider=1), Clock(1_000_000.0))
    await h.manager.start()
    slow, other = Gate(), Gate()
    await h.manager.submit(h.spec(slow, prompt="a"))
    queued = await h.manager.submit(h.spec(slow, prompt="b"))
    codex = await h.manager.submit(h.spec(other, provider="codex"))
    await other.started.wait()
    assert (await h.manager.get(codex.job_id, "local")).state is JobState.RUNNING
    assert (await h.manager.get(queued.job_id, "local")).state is JobState.QUEUED
    slow.opened.set()
    other.opened.set()
    await h.manager.wait(queued.job_id, "local", 5)
    await h.stop()


async def test_a_principal_holds_only_its_share_of_the_queue_and_the_slots(
    db: Database,
) -> None:
    share = FairShare(50, "jobs.principal_share_percent")
    limits = JobLimits(max_running=2, max_running_per_provider=2, max_queued=2, share=share)
    h = Harness(db, limits, Clock(1_000_000.0))
    await h.manager.start()
    held, alices = Gate(), Gate()
    # A burst counts whole, rows still being written included: two of the four places.
    burst = await asyncio.gather(
        *(h.manager.submit(h.spec(held, principal="user:m", prompt=str(n))) for n in range(3)),
        return_exceptions=True,
    )
    refused = [r for r in burst if isinstance(r, Saturated)]
    assert len(refused) == 1 and refused[0].details["setting"] == "jobs.principal_share_percent"
    assert "user:m already has 2 jobs running or queued" in refused[0].message
    # Alice's job is taken and runs beside m's one running job; m's second waits for it.
    alice = await h.manager.submit(h.spec(alices, principal="user:a"))
    await alices.started.wait()
    assert h.manager.health()["byState"] == {"running": 2, "queued": 1}
    # The local user is held to no share: it takes the last place.
    await h.manager.submit(h.spec(held, principal="local", prompt="mine"))
    alices.opened.set()
    assert (await h.manager.wait(alice.job_id, "user:a", 5)).state is JobState.COMPLETED
    held.opened.set()
    await h.stop()


async def test_stop_marks_running_jobs_interrupted_with_partial_output(db: Database) -> None:
    h = Harness(db, JobLimits(), Clock(1_000_000.0))
    await h.manager.start()
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate))
    await gate.started.wait()
    await h.stop()
    stored = await JobStore(db).get(submitted.job_id)
    assert stored is not None
    assert stored[0].state is JobState.INTERRUPTED and stored[0].output == "partial..."


async def test_jobs_left_running_by_a_crash_are_interrupted_on_start(db: Database) -> None:
    store = JobStore(db)
    await created(store, "job_crashed", provider="codex", now=1.0)
    await store.mark_running("job_crashed", now=2.0, attempts=1)
    await store.save_process("job_crashed", 4242, "linux:boot:777")
    h = Harness(db, JobLimits(), Clock(1_000_000.0))
    left = await h.manager.start()
    view = await h.manager.get("job_crashed", "local")
    assert view.state is JobState.INTERRUPTED
    assert view.error is not None and "not re-run" in view.error["message"]
    # What the crash may have left running, for the engine's reaper.
    assert left == [LeftRunning("job_crashed", 4242, "linux:boot:777")]
    await h.stop()


async def test_the_work_records_its_cancel_in_the_jobs_own_word(db: Database) -> None:
    h = Harness(db, JobLimits(), Clock(1_000_000.0))
    await h.manager.start()
    heard: dict[str, JobState] = {}

    def work_for(name: str, gate: Gate) -> Any:
        async def work(ctx: JobContext) -> dict[str, Any]:
            try:
                return await gate(ctx)
            except asyncio.CancelledError:
                # what calls/provider_calls.py writes to the recorder row
                heard[name] = ctx.cancel_state
                raise

        return work

    canceled_gate, stopped_gate = Gate(), Gate()
    canceled = await h.manager.submit(h.spec(work_for("canceled", canceled_gate), prompt="a"))
    stopped = await h.manager.submit(h.spec(work_for("stopped", stopped_gate), prompt="b"))
    await canceled_gate.started.wait()
    await stopped_gate.started.wait()
    assert (await h.manager.cancel(canceled.job_id, "local")).state is JobState.CANCELED
    await h.stop()
    assert heard == {"canceled": JobState.CANCELED, "stopped": JobState.INTERRUPTED}
    view = await JobStore(db).get(stopped.job_id)
    assert view is not None and view[0].state is JobState.INTERRUPTED


async def test_a_stopping_manager_refuses_new_work(db: Database) -> None:
    h = Harness(db, JobLimits(), Clock(1_000_000.0))
    await h.manager.start()
    await h.manager.stop()
    gate = Gate()
    with pytest.raises(ProviderUnavailable) as refused:
        await h.manager.submit(h.spec(gate))
    assert refused.value.code == "gateway_stopping" and refused.value.retryable
    assert gate.runs == 0
    await h.stop()


async def test_retention_prunes_old_finished_jobs_only(db: Database) -> None:
    clock = Clock(1_000_000.0)
    h = Harness(db, JobLimits(retention_days=1), clock)
    await h.manager.start()
    gate = Gate.open()
    old = await h.manager.submit(h.spec(gate, prompt="old"))
    await h.manager.wait(old.job_id, "local", 5)
    clock.now += 2 * 86400
    fresh = await h.manager.submit(h.spec(gate, prompt="fresh"))
    await h.manager.wait(fresh.job_id, "local", 5)
    assert await h.manager.prune_now() == 1
    with pytest.raises(NotFound):
        await h.manager.get(old.job_id, "local")
    assert (await h.manager.get(fresh.job_id, "local")).finished
    await h.stop()


async def test_watch_wakes_on_change(h: Harness) -> None:
    gate = Gate()
    submitted = await h.manager.submit(h.spec(gate))
    await gate.started.wait()
    watcher = asyncio.get_running_loop().create_task(
        h.manager.watch(submitted.job_id, "local", timeout_s=5)
    )
    await asyncio.sleep(0)
    gate.opened.set()
    view = await asyncio.wait_for(watcher, 5)
    assert view.state in (JobState.RUNNING, JobState.COMPLETED)


async def test_correlation_id_finds_the_job(h: Harness) -> None:
    gate = Gate.open()
    submitted = await h.manager.submit(h.spec(gate, correlation_id="review-7"))
    await h.manager.wait(submitted.job_id, "local", 5)
    assert (await h.manager.find_by_correlation("local", "review-7")).id == submitted.job_id
    with pytest.raises(NotFound):
        await h.manager.find_by_correlation("alice", "review-7")


async def test_a_crashing_work_function_fails_the_job_not_the_manager(h: Harness) -> None:
    async def buggy(ctx: JobContext) -> dict[str, Any]:
        raise KeyError("oops")

    submitted = await h.manager.submit(h.spec(buggy))
    view = await h.manager.wait(submitted.job_id, "local", 5)
    assert view.state is JobState.FAILED and view.error is not None
    assert view.error["code"] == "internal_error"


async def test_secrets_never_reach_the_store_in_the_clear(h: Harness) -> None:
    async def leaky(ctx: JobContext) -> dict[str, Any]:
        ctx.set_output("using sk-ant-api03-abcdefghijklmnopqrstuvwx now")
        return {"text": "key sk-proj-abcdefghijklmnopqrstuvwx; password = hunter22; x = getpass()"}

    spec = JobSpec(
        principal="local",
        provider="claude",
        request={"prompt": "my key is sk-ant-api03-abcdefghijklmnopqrstuvwx"},
        working_dir="/w",
        work=leaky,
    )
    submitted = await h.manager.submit(spec)
    await h.manager.wait(submitted.job_id, "local", 5)
    raw = await h.db.run(
        lambda: h.db.models.database.execute_sql(
            portable(
                h.db.models.database,
                "SELECT request_json, output, result_json FROM jobs WHERE id = ?",
            ),
            (submitted.job_id,),
        ).fetchone()
    )
    stored = " ".join(raw)
    assert "abcdefghijklmnop" not in stored
    assert "password = [REDACTED]" in stored
