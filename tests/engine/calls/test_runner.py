"""The one call-running rule: wait up to the deadline, else deferred with the job id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls import CallParams
from llmgw_desktop.engine.calls.runner import Call, Deferred, Finished
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import offline, vibe, vibe_engine  # noqa: F401 - fixtures
from tests.fakes.upstream import Reply, ScriptedUpstream

COLLECT_S = 30.0


@pytest.fixture
async def engine(loaded: LoadedSettings, vibe: None) -> AsyncIterator[Engine]:  # noqa: F811
    # The Mistral Vibe stand-in is the one CLI: quick to start, answers from the upstream.
    async with vibe_engine(loaded) as started:
        yield started


def ask(prompt: str, provider: str = "mistral") -> Call:
    return Call(provider, CallParams(prompt=prompt), "local")


async def test_run_waits_for_a_quick_call_and_answers_finished(engine: Engine) -> None:
    outcome = await engine.runner.run(ask("hello"))
    assert isinstance(outcome, Finished) and outcome.completed
    assert "FAKE-OK" in str((outcome.view.result or {}).get("text"))
    assert outcome.record_id and outcome.attached is False


async def test_run_defers_past_its_deadline_and_collect_finishes_it(
    engine: Engine,
    upstream: ScriptedUpstream,
) -> None:
    upstream.default = Reply.ok(delay_s=1.0)
    outcome = await engine.runner.run(ask("slow"), deadline_s=0.05)
    assert isinstance(outcome, Deferred) and not outcome.view.finished
    collected = await engine.runner.collect(outcome.job_id, "local", COLLECT_S)
    assert isinstance(collected, Finished) and collected.completed


async def test_start_answers_at_once_with_the_job(
    engine: Engine,
    upstream: ScriptedUpstream,
) -> None:
    upstream.default = Reply.ok(delay_s=1.0)
    outcome = await engine.runner.start(ask("later"))
    assert isinstance(outcome, Deferred) and outcome.record_id
    assert isinstance(await engine.runner.collect(outcome.job_id, "local", COLLECT_S), Finished)


async def test_failed_job_is_finished_but_not_completed(
    engine: Engine,
    upstream: ScriptedUpstream,
) -> None:
    upstream.default = Reply.error(400)
    outcome = await engine.runner.run(ask("fail"))
    assert isinstance(outcome, Finished) and not outcome.completed
    assert outcome.view.error is not None


async def test_refused_call_raises_before_any_job(engine: Engine) -> None:
    with pytest.raises(InvalidRequest):
        await engine.runner.run(ask("x", provider="chatgpt"))


async def test_default_panel_is_the_installed_switched_on_clis(engine: Engine) -> None:
    assert [r.provider for r in await engine.validation.panel(None, {"mistral": "m"})] == [
        "mistral"
    ]
    named = await engine.validation.panel(["codex", "claude"], None)
    assert [(r.provider, r.model) for r in named] == [("codex", None), ("claude", None)]


async def _running(engine: Engine) -> str:
    """The id of the one job once it runs (bounded)."""
    async with asyncio.timeout(COLLECT_S):
        while True:
            jobs = await engine.jobs.list_jobs("local", 10)
            if jobs and jobs[0].state is JobState.RUNNING:
                return jobs[0].id
            await asyncio.sleep(0.02)


async def test_a_run_cancelled_before_its_answer_stops_its_job(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.ok(delay_s=30.0)
    waiting = asyncio.ensure_future(engine.runner.run(ask("slow")))
    job_id = await _running(engine)
    # Its client left: it was never told the job's id, so nobody could collect the answer.
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    view = await engine.jobs.wait(job_id, "local", COLLECT_S)
    assert view.state is JobState.CANCELED
    assert "caller" in str((view.error or {}).get("message")), view.error


async def test_a_job_another_run_waits_on_runs_on_when_one_leaves(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.ok(delay_s=1.5)
    first = asyncio.ensure_future(engine.runner.run(ask("same words")))
    job_id = await _running(engine)
    # The same call again attaches to the job; the first caller's leaving must not stop it.
    second = asyncio.ensure_future(engine.runner.run(ask("same words")))
    await asyncio.sleep(0.2)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    outcome = await asyncio.wait_for(second, COLLECT_S)
    assert outcome.job_id == job_id and outcome.attached
    assert isinstance(outcome, Finished) and outcome.completed


async def test_a_job_whose_id_was_handed_out_runs_on_when_a_run_on_it_leaves(
    engine: Engine, upstream: ScriptedUpstream
) -> None:
    upstream.default = Reply.ok(delay_s=1.5)
    started = await engine.runner.start(ask("same words"))
    waiting = asyncio.ensure_future(engine.runner.run(ask("same words")))
    await _running(engine)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    collected = await engine.runner.collect(started.job_id, "local", COLLECT_S)
    assert isinstance(collected, Finished) and collected.completed
