"""The desk's Retry runs a job's call again for the same project: the new job's recorder row
names it, and the project's budget counts (and can refuse) the retry. The CLI is the Mistral
Vibe stand-in, answering through the scripted upstream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import BudgetExceeded
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import offline, vibe, vibe_engine  # noqa: F401 - fixtures
from tests.fakes.upstream import Reply, ScriptedUpstream

JOB_TIMEOUT_S = 30.0
MODEL = "devstral-small-latest"
# Vibe cannot be stopped at its hold: under a hard budget it runs only with the operator's
# acceptance (SECURITY 70), given here, where what counts is the retry's project.
ACCEPTED = ["mistral"]


async def _finished(engine: Engine, job_id: str) -> Any:
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while not (view := await engine.jobs.wait(job_id, "local", JOB_TIMEOUT_S)).finished:
            pass
    return view


async def _spent(engine: Engine) -> float:
    """The budget's spend once the retry's row has been counted (bounded wait)."""
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            spent = engine.budgets.statuses()[0].spent
            if spent > 0:
                return spent
            await asyncio.sleep(0.02)


async def _failed_job_of_project(engine: Engine, upstream: ScriptedUpstream) -> str:
    upstream.script(Reply.error(401))
    meta = RequestMeta(transport="mcp-http", caller="editor", project="shop")
    first = await engine.calls.submit(
        "mistral", CallParams(prompt="hi", model=MODEL), "local", meta
    )
    assert (await _finished(engine, first.job_id)).state is JobState.FAILED
    return first.job_id


async def test_a_retried_job_keeps_its_project_and_counts_against_its_budget(
    loaded: LoadedSettings,
    vibe: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    budgets = [{"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": 10**6}]
    async with vibe_engine(
        loaded, {"budgets": budgets, "providers.unmetered_clis": ACCEPTED}
    ) as engine:
        failed = await _failed_job_of_project(engine, upstream)
        await engine.recorder.flush()  # the first row names the caller and project
        origin = await engine.jobs.retry_origin(failed)
        assert origin.project == "shop" and origin.caller == "editor"

        again = await engine.job_retry.retry(failed)
        assert (await _finished(engine, again.job_id)).state is JobState.COMPLETED
        rows = [r for r in await engine.recorder.recent() if r["job_id"] == again.job_id]
        assert [(r["project"], r["caller"], r["tool"]) for r in rows] == [
            ("shop", "editor", "retry")
        ]
        assert await _spent(engine) > 0


async def test_a_used_up_project_budget_refuses_the_retry(
    loaded: LoadedSettings,
    vibe: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    budgets = [{"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": 1}]
    async with vibe_engine(
        loaded, {"budgets": budgets, "providers.unmetered_clis": ACCEPTED}
    ) as engine:
        # Retried at once: the failed job's first row may not be written yet.
        failed = await _failed_job_of_project(engine, upstream)
        record = engine.recorder.start(principal="local", provider="mistral", project="shop")
        engine.recorder.finish(record, state="completed", input_tokens=5)
        with pytest.raises(BudgetExceeded) as refused:
            await engine.job_retry.retry(failed)
        assert "project shop" in refused.value.message
