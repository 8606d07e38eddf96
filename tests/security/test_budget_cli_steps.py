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

import json
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage
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


async def _run(
    loaded: LoadedSettings, hard: float, upstream: ScriptedUpstream, working_dir: Path | None = None
) -> tuple:
    engine = Engine(_budgeted(loaded, hard))
    await engine.start()
    try:
        _script(upstream)
        job = await engine.calls.submit(
            "opencode",
            CallParams(
                prompt="keep going",
                model=MODEL,
                working_dir=None if working_dir is None else str(working_dir),
            ),
            "local",
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


def _priced_at_nothing(tmp_path: Path) -> Path:
    """A working directory whose `opencode.json` (OpenCode reads a project's own beside the
    user's) prices the model at $0: as a model OpenCode's own price list lacks is priced."""
    free = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    config = {"provider": {"anthropic": {"models": {"claude-sonnet-4-5": {"cost": free}}}}}
    work = tmp_path / "work"
    work.mkdir()
    (work / "opencode.json").write_text(json.dumps(config), encoding="utf-8")
    return work


async def test_opencode_pricing_its_steps_at_nothing_is_still_stopped_and_counted(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """OpenCode prices its steps by its own list, which a project's `opencode.json` can
    change and which lacks some models: at $0 a step, its job was never stopped and its row was
    counted at $0, so every job under a hard dollar budget ran whole (twenty-two steps, $6.60
    at Sonnet's price, in two jobs under $1.50; spent $0). Each step is now counted at no less
    than the gateway's price of the tokens OpenCode says it used."""
    find_cli("opencode")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", 100_000)
    view, row, spent = await _run(loaded, 1.5, upstream, _priced_at_nothing(tmp_path))
    steps = len([r for r in upstream.llm_requests if b'"glob"' in r.raw_body])
    assert steps < STEPS, (steps, view.state, view.error)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    step_usd = 100_000 * 3.0 / 1e6  # the gateway's Sonnet price, input alone
    assert row["cost_usd"] >= 3 * step_usd, row
    assert spent == pytest.approx(row["cost_usd"]) and spent <= 1.5 + 2 * step_usd, (spent, row)


async def test_opencode_pricing_its_steps_at_nothing_with_room_is_counted_at_the_gateways_price(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    find_cli("opencode")
    view, row, spent = await _run(loaded, 50.0, upstream, _priced_at_nothing(tmp_path))
    assert view.error is None, view.error
    assert "done" in (view.result or {}).get("text", ""), view.result
    # Its steps at the gateway's price of the tokens OpenCode said they used, not at its $0.
    used = Usage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
    )
    assert row["cost_usd"] > 0 and row["cost_usd"] == PriceBook().cost_of(MODEL, used), row
    assert row["cost_source"] == "table" and spent == pytest.approx(row["cost_usd"]), row
