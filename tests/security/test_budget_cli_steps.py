"""A CLI that reports each step's cost as it runs is stopped at its job's hold (OpenCode).

A prompted model can keep a coding CLI calling tools step after step, each step billed its
whole context again. Claude Code is told `--max-budget-usd` and stops itself (finding 64); the
other CLIs had no such switch, so their steps could cost more than their job held. OpenCode
prints each step's cost (`step_finish`) as it goes: under a hard dollar budget the gateway now
stops its process group once its next step would pass the hold (`providers/invoke.py`), the
job ends `budget_exceeded`, and its row counts what OpenCode said the run cost, with the steps
it was seen to begin.

The real OpenCode CLI against the scripted upstream (`tests/fakes/upstream`), each step billed
100,000 input tokens; the legitimate path beside it: the same job with room for it runs to its
answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from tests.contract.conftest import offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream import anthropic as anthropic_fake
from tests.security.test_budget_cli_jobs import _budgeted, _ended, _row

pytestmark = pytest.mark.contract

STEPS = 10
MODEL = "anthropic/claude-sonnet-4-5"  # OpenCode names a model with its provider


def _script(upstream: ScriptedUpstream) -> None:
    """Step after step of a harmless tool call, then the answer (OpenCode's side calls, such
    as its title, offer no tools and get the default answer)."""
    upstream.script_when_offered(
        "glob",
        *[Reply.tool_call("glob", {"pattern": f"*.step{n}"}) for n in range(STEPS)],
        Reply.ok("done"),
    )


async def _run(loaded: LoadedSettings, hard: float, upstream: ScriptedUpstream) -> tuple:
    engine = Engine(_budgeted(loaded, hard))
    await engine.start()
    try:
        _script(upstream)
        job = await engine.calls.submit(
            "opencode", CallParams(prompt="keep going", model=MODEL), "local"
        )
        view = await _ended(engine, job.job_id)
        row = await _row(engine, job.job_id)
        spent = engine.budget_ledger.statuses()[0].spent
    finally:
        await engine.stop()
    return view, row, spent


async def test_opencode_is_stopped_at_the_first_step_past_what_its_job_held(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    find_cli("opencode")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", 100_000)
    view, row, spent = await _run(loaded, 1.5, upstream)
    steps = len([r for r in upstream.llm_requests if b'"glob"' in r.raw_body])
    # Held at about $0.96; each step about $0.30: stopped once a fourth would pass the hold,
    # after three. OpenCode may have sent a step or two more before their predecessor's cost
    # was read (this upstream answers at once); never all ten, which it ran before.
    assert steps < STEPS, (steps, view.state, view.error)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    step_usd = 100_000 * 3.0 / 1e6  # OpenCode's own Sonnet price, input alone
    assert row["cost_source"] == "cli" and row["cost_usd"] >= 3 * step_usd, row
    assert spent == pytest.approx(row["cost_usd"]), (spent, row)
    # Steps it was seen to begin are counted; one it sent but did not print before the stop is
    # not (a documented limit): what is counted is within a step of what the upstream billed.
    assert row["cost_usd"] >= (steps - 1) * step_usd, (steps, row)


async def test_opencode_with_room_for_its_steps_runs_to_its_answer(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    find_cli("opencode")
    view, row, spent = await _run(loaded, 50.0, upstream)
    assert view.error is None, view.error
    assert "done" in (view.result or {}).get("text", ""), view.result
    assert row["cost_source"] == "cli" and spent == pytest.approx(row["cost_usd"])
