"""The job path with a real CLI: retries, the breaker, deadlines, cancel, restart."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import BreakerChanged
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.providers.process_identity import group_has_live_member
from tests.contract.conftest import engine_settings, run
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract


def group_alive(pgid: int) -> bool:
    """A member of the group still runs (a zombie waiting for an init to reap it does not)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return group_has_live_member(pgid)


async def started_pid(engine: Engine, job_id: str) -> int:
    """Wait (bounded, on the job's own change signal) until the job reports its process id."""
    async with asyncio.timeout(30):
        while True:
            view = await engine.jobs.watch(job_id, "local", timeout_s=5)
            if "pid" in view.progress:
                return int(view.progress["pid"])
            assert not view.finished, view.error


async def test_transient_failure_is_retried_on_the_job_path(
    loaded: LoadedSettings, offline: Path, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.script(Reply.error(500))
    engine = Engine(engine_settings(loaded, {"providers.retry_attempts": 2}))
    await engine.start()
    try:
        view = await run(engine, "claude", prompt="hello")
    finally:
        await engine.stop()
    assert view.state is JobState.COMPLETED, view.error
    assert view.attempts == 2
    assert len(upstream.llm_requests) == 2


async def test_breaker_opens_on_the_job_path_and_stops_spawning(
    loaded: LoadedSettings, offline: Path, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.error(500)
    engine = Engine(
        engine_settings(
            loaded, {"providers.breaker_threshold": 2, "providers.breaker_cooldown_ms": 60_000}
        )
    )
    changes: list[BreakerChanged] = []
    engine.events.subscribe(BreakerChanged, changes.append)
    await engine.start()
    try:
        for prompt in ("one", "two"):
            failed = await run(engine, "claude", prompt=prompt)
            assert failed.error is not None and failed.error["code"] == "provider_error"
        spawned = len(upstream.llm_requests)
        refused = await run(engine, "claude", prompt="three")
        health = engine.process_health()
    finally:
        await engine.stop()
    assert refused.error is not None and refused.error["code"] == "circuit_open"
    assert refused.error["details"]["retry_after_s"] > 0
    assert len(upstream.llm_requests) == spawned  # the third call never reached the CLI
    assert [c.state for c in changes] == ["open"]
    assert health["breakers"]["claude"]["state"] == "open"


async def test_sync_call_defers_to_the_job_after_the_deadline(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.script(Reply.ok(delay_s=2.0))
    submitted = await engine.calls.submit("claude", CallParams(prompt="slow one"), "local")
    early = await engine.jobs.wait(submitted.job_id, "local", timeout_s=0.3)
    assert not early.finished
    done = await engine.jobs.wait(submitted.job_id, "local", timeout_s=60)
    assert done.state is JobState.COMPLETED


async def test_identical_call_attaches_to_the_running_job(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    find_cli("codex")
    upstream.script(Reply.ok(delay_s=1.5))
    params = CallParams(prompt="same question", model="gpt-5.5")
    first = await engine.calls.submit("codex", params, "local")
    second = await engine.calls.submit("codex", params, "local")
    forced = await engine.calls.submit(
        "codex", CallParams(prompt="same question", model="gpt-5.5", force_refresh=True), "local"
    )
    assert second.attached and second.job_id == first.job_id
    assert not forced.attached and forced.job_id != first.job_id
    for job_id in (first.job_id, forced.job_id):
        assert (await engine.jobs.wait(job_id, "local", 60)).state is JobState.COMPLETED
    assert len(upstream.llm_requests) == 2


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX process groups")
async def test_cancel_kills_the_real_process_tree(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.ok(delay_s=60)
    submitted = await engine.calls.submit("claude", CallParams(prompt="take your time"), "local")
    pgid = await started_pid(engine, submitted.job_id)
    await upstream.wait_for_requests(1, timeout=30)
    assert group_alive(pgid)
    view = await engine.jobs.cancel(submitted.job_id, "local")
    assert view.state is JobState.CANCELED
    assert view.error is not None and view.error["code"] == "canceled"
    assert not group_alive(pgid), "a process of the canceled call is still running"


async def test_stopping_the_gateway_marks_the_running_job_interrupted(
    loaded: LoadedSettings, offline: Path, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.ok(delay_s=60)
    settings = engine_settings(loaded)
    engine = Engine(settings)
    await engine.start()
    submitted = await engine.calls.submit("claude", CallParams(prompt="long"), "local")
    pgid = await started_pid(engine, submitted.job_id)
    await upstream.wait_for_requests(1, timeout=30)
    await engine.stop()
    assert not group_alive(pgid)

    again = Engine(settings)
    await again.start()
    try:
        view = await again.jobs.get(submitted.job_id, "local")
    finally:
        await again.stop()
    assert view.state is JobState.INTERRUPTED
    assert view.error is not None and "not re-run" in view.error["message"]
    assert len(upstream.llm_requests) == 1  # nothing was silently run again
