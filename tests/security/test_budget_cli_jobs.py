"""Red-team review of issue 37: a coding CLI's job holds what it may cost, and a job that ends
without its usage counts what was held for it.

These hold where a CLI runs on its own login under a hard budget: one the operator accepts
(`providers.unmetered_clis`); any other is counted at the gateway call by call
(`test_budget_unmetered_clis.py`). Two ways past a hard budget through the job path, with the
real Claude Code against the scripted upstream (`tests/fakes/upstream`):

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
from tests.contract.conftest import engine_settings, offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream import anthropic as anthropic_fake

pytestmark = pytest.mark.contract

AT_ONCE = 6
JOB_TIMEOUT_S = 90


def _budgeted(loaded: LoadedSettings, hard: float) -> Any:
    """One hard global dollar budget, and Claude Code accepted by the operator: it runs on its
    own login, held as one call (not accepted, its model calls would be counted at the
    gateway one by one: `test_budget_unmetered_clis.py`)."""
    return engine_settings(
        loaded,
        {
            "budgets": [{"scope": "global", "unit": "usd", "period": "daily", "hard": hard}],
            "providers.unmetered_clis": ["claude"],
        },
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
    upstream: ScriptedUpstream,
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


async def test_a_cancelled_claude_code_job_counts_its_hold(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    find_cli("claude")
    # `claude-haiku-4-5` holds 64,000 tokens at $5 a million: $0.32 and its input.
    engine = Engine(_budgeted(loaded, 1.0))
    await engine.start()
    admitted: list[str] = []
    try:
        # The legitimate path first: a failed run whose CLI says what it cost is counted at
        # that (a call the upstream refused costs $0), not at its hold.
        upstream.script(Reply.error(400))
        told = await engine.calls.submit(
            "claude", CallParams(prompt="refused upstream", model="claude-haiku-4-5"), "local"
        )
        failed = await _ended(engine, told.job_id)
        told_row = await _row(engine, told.job_id)

        upstream.default = Reply.ok(delay_s=60)
        for n in range(6):
            job = await engine.calls.submit(
                "claude", CallParams(prompt=f"cancel me {n}", model="claude-haiku-4-5"), "local"
            )
            # Its call reaches the upstream (admitted), or the job ends first (refused): the
            # first of the two, not the call's whole wait when it never comes.
            arrived = asyncio.ensure_future(
                upstream.wait_for_requests(len(admitted) + 2, timeout=JOB_TIMEOUT_S)
            )
            ended = asyncio.ensure_future(_ended(engine, job.job_id))
            await asyncio.wait({arrived, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not arrived.done():
                arrived.cancel()
                view = ended.result()
                assert view.error is not None and view.error["code"] == "budget_exceeded"
                break
            ended.cancel()
            arrived.result()
            admitted.append(job.job_id)
            cancelled = await engine.jobs.cancel(job.job_id, "local")
            assert cancelled.state is JobState.CANCELED
        rows = [await _row(engine, job_id) for job_id in admitted]
        spent = engine.budget_ledger.statuses()[0].spent
    finally:
        await engine.stop()
    # $1.00 holds three cancelled jobs of about $0.32; the fourth is refused.
    assert len(admitted) == 3, rows
    for row in rows:
        assert row["state"] == "canceled" and row["cost_source"] == "estimate", row
        assert row["output_tokens"] == 64_000 and row["cost_usd"] >= 0.32, row
    assert 0.96 <= spent <= 1.0, spent
    assert failed.state is JobState.FAILED, failed.error
    assert told_row["cost_usd"] == 0 and told_row["cost_source"] == "cli", told_row


async def test_claude_code_is_told_to_stop_at_what_its_job_held(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A prompted model keeps Claude Code calling tools, turn after turn, each turn billed
    100,000 input tokens ($0.30 at Claude Code's own Sonnet price): one job held at $0.96 ran
    ten turns and cost $3. Under a hard dollar budget Claude Code is now started with
    `--max-budget-usd` at its hold, and stops itself at the first turn past it."""
    find_cli("claude")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", 100_000)
    engine = Engine(_budgeted(loaded, 1.5))
    await engine.start()
    try:
        upstream.script(
            *[Reply.tool_call("Bash", {"command": f"echo step {n}"}) for n in range(10)],
            Reply.ok("done"),
        )
        job = await engine.calls.submit(
            "claude",
            CallParams(prompt="keep going", model="claude-sonnet-4-5", allowed_tools=("Bash",)),
            "local",
        )
        view = await _ended(engine, job.job_id)
        row = await _row(engine, job.job_id)
        spent = engine.budget_ledger.statuses()[0].spent
    finally:
        await engine.stop()
    turns = len(upstream.llm_requests)
    # Held at $0.96 and its input: the fourth turn ($1.20) passes it, and is the last.
    assert turns <= 4, (turns, view.state, view.error)
    assert view.error is not None and "budget" in view.error["message"].lower(), view.error
    assert row["cost_source"] == "cli" and row["cost_usd"] <= 1.5, row
    assert spent <= 1.5, spent
