"""A coding CLI under a hard token budget stops at the tokens its job held, not at their price.

Claude Code is told `--max-budget-usd` (finding 64) and the gateway stops OpenCode by the step
costs it prints (finding 69): both stop at dollars. Under a hard token budget the job was told
the dollars its held tokens cost at the model's input and output prices, but a turn of a coding
CLI mostly reads its context back from the cache, a tenth of the input price: one Claude Code
job held at some 64,000 tokens under a 100,000-token budget ran all eleven turns a prompted
model asked for and used 1.1 million tokens (and could have used 3.2 million before its dollars
ran out). Under a token budget a job is now told the dollars at which it cannot yet have used
more tokens than were held: those tokens at the cheapest kind the model bills. These stops apply
to a CLI on its own login, which under a hard budget is one the operator accepts.

The real CLIs against the scripted upstream (`tests/fakes/upstream`), each turn reading 100,000
tokens from the cache; beside each attack the same job under a dollar budget it fits, which
runs to its answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from tests.contract.conftest import engine_settings, offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream import anthropic as anthropic_fake
from tests.security.test_budget_cli_jobs import _ended, _row

pytestmark = pytest.mark.contract

TURNS = 10
CACHED = 100_000  # tokens each turn reads back from the cache
TOKEN_BUDGET = 200_000


def _under(loaded: LoadedSettings, unit: str, hard: float) -> Any:
    """One hard global budget, the CLIs accepted by the operator: each runs on its own login,
    held as one call and stopped by its own stop (not accepted, each of its model calls would
    be held and counted at the gateway, in tokens as in dollars)."""
    return engine_settings(
        loaded,
        {
            "budgets": [{"scope": "global", "unit": unit, "period": "daily", "hard": hard}],
            "providers.unmetered_clis": ["claude", "opencode"],
        },
    )


async def _run(
    loaded: LoadedSettings, unit: str, hard: float, upstream: ScriptedUpstream, provider: str
) -> tuple[Any, dict[str, Any], float]:
    engine = Engine(_under(loaded, unit, hard))
    await engine.start()
    try:
        if provider == "claude":
            upstream.script(
                *[Reply.tool_call("Bash", {"command": f"echo step {n}"}) for n in range(TURNS)],
                Reply.ok("done"),
            )
            params = CallParams(
                prompt="keep going", model="claude-sonnet-4-5", allowed_tools=("Bash",)
            )
        else:
            upstream.script_when_offered(
                "glob",
                *[Reply.tool_call("glob", {"pattern": f"*.step{n}"}) for n in range(TURNS)],
                Reply.ok("done"),
            )
            params = CallParams(prompt="keep going", model="anthropic/claude-sonnet-4-5")
        job = await engine.calls.submit(provider, params, "local")
        view = await _ended(engine, job.job_id)
        row = await _row(engine, job.job_id)
        spent = engine.budget_ledger.statuses()[0].spent
    finally:
        await engine.stop()
    return view, row, spent


def _tool_turns(upstream: ScriptedUpstream, provider: str) -> int:
    offered = b'"Bash"' if provider == "claude" else b'"glob"'
    return len([r for r in upstream.llm_requests if offered in r.raw_body])


@pytest.mark.parametrize("provider", ["claude", "opencode"])
async def test_a_cli_under_a_token_budget_stops_at_the_tokens_its_job_held(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    find_cli(provider)
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_CACHE_READ_TOKENS", CACHED)
    view, row, spent = await _run(loaded, "tokens", TOKEN_BUDGET, upstream, provider)
    turns = _tool_turns(upstream, provider)
    # Held at Sonnet's 64,000 output tokens and its input: the first turn alone reads more
    # than that from the cache, and is the last (OpenCode may have begun one more before its
    # first step's cost was read). Before: every one of the eleven turns, 1.1 million tokens.
    assert turns <= 2, (turns, view.state, view.error, row)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    assert spent <= TOKEN_BUDGET + 2 * (CACHED + 1_000), (spent, row)


@pytest.mark.parametrize("provider", ["claude", "opencode"])
async def test_the_same_job_under_a_dollar_budget_with_room_runs_to_its_answer(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    find_cli(provider)
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_CACHE_READ_TOKENS", CACHED)
    # Eleven turns of 100,000 cached tokens are $0.33 at Sonnet's cache price: within the
    # $0.96 the job holds.
    view, row, spent = await _run(loaded, "usd", 5.0, upstream, provider)
    assert view.error is None, view.error
    assert _tool_turns(upstream, provider) == TURNS + 1
    assert row["cost_source"] == "cli" and spent == pytest.approx(row["cost_usd"])
