"""Red-team review of issue 37: a coding CLI's job holds what it may cost, and a job that ends
without its usage counts what was held for it.

Two ways past a hard budget through the job path, with the real Claude Code against the
scripted upstream (`tests/fakes/upstream`):

- Claude Code reports its own cost, so under a hard dollar budget a call naming no model (or an
  alias, `opus`) was admitted, and held at $0: no price was known for the hold. Six such jobs
  at once all ran under a budget with room for none. Such a call is now held at the dearest
  model the price table has for the CLI (`claude-`, of the alias's family where one is named).
- A job cancelled (or stopped, timed out, failed) while its CLI ran was counted at nothing,
  though the CLI had been calling the vendor until then: a caller that cancels each job before
  it ends spent without limit. Such a job is now counted at its hold, its row saying the cost
  is estimated, unless the CLI said what the run cost (Claude Code's error result does).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState, JobView
from tests.contract.conftest import engine_settings, offline, upstream  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract

AT_ONCE = 6
JOB_TIMEOUT_S = 90


def _budgeted(loaded: LoadedSettings, hard: float) -> Any:
    return engine_settings(
        loaded,
        {"budgets": [{"scope": "global", "unit": "usd", "period": "daily", "hard": hard}]},
    )


async def _ended(engine: Engine, job_id: str) -> JobView:
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            view = await engine.jobs.wait(job_id, "local", timeout_s=JOB_TIMEOUT_S)
            if view.finished:
                return view


async def _row(engine: Engine, job_id: str) -> dict[str, Any]:
    await engine.recorder.flush()
    for row in await engine.recorder.recent(limit=50):
        if row.get("job_id") == job_id:
            detail = await engine.recorder_query.detail(row["id"])
            assert detail is not None
            return dict(detail.record)
    raise AssertionError(f"no row for {job_id}")


@pytest.mark.parametrize("model", [None, "opus"], ids=["no-model", "alias"])
async def test_claude_code_without_a_priced_model_is_held_at_its_dearest_model(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,  # noqa: F811
    model: str | None,
) -> None:
    find_cli("claude")
    # $3 has room for one call held at Claude's dearest model (32,000 tokens at $75 a million).
    engine = Engine(_budgeted(loaded, 3.0))
    await engine.start()
    try:
        upstream.default = Reply.ok(delay_s=2.0)
        jobs = [
            await engine.calls.submit("claude", CallParams(prompt=f"job {n}", model=model), "local")
            for n in range(AT_ONCE)
        ]
        views = [await _ended(engine, job.job_id) for job in jobs]
        # The legitimate path: a model the table prices is held at its own figure and runs.
        upstream.default = Reply.ok()
        priced = await engine.calls.submit(
            "claude", CallParams(prompt="a priced one", model="claude-haiku-4-5"), "local"
        )
        served = await _ended(engine, priced.job_id)
    finally:
        await engine.stop()
    states = [v.state for v in views]
    refused = [v for v in views if v.error is not None and v.error["code"] == "budget_exceeded"]
    assert states.count(JobState.COMPLETED) == 1, [(v.state, v.error) for v in views]
    assert len(refused) == AT_ONCE - 1, [(v.state, v.error) for v in views]
    assert served.state is JobState.COMPLETED, served.error
    # One job of the six and the priced one reached the vendor.
    asked = {re.search(rb"job \d", r.raw_body) for r in upstream.llm_requests}
    assert len({found.group() for found in asked if found is not None}) == 1
