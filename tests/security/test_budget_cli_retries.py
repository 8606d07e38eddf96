"""A CLI job's retries run on its one hold: an attempt that may have spent is not tried again.

A job's transient failure (rate limited, overloaded, or words to that effect in what the CLI
printed) is retried inside the job, up to `providers.retry_attempts`, on the hold taken for one
run. Each attempt was told the whole hold again (`--max-budget-usd`), and only the last was
counted: a prompted model that made Claude Code run two turns and then kill itself, with "try
again" in its last words, had the job run three times over. With the default three attempts,
nine turns of $0.30 reached the vendor ($2.70) under a $1.50 hard budget, and the job was
counted at its $0.96 hold. Under a hard budget an attempt is now tried again only where its CLI
never started or said the attempt cost nothing (the vendor refused its first call); any other
failure ends the job, counted at what the CLI said or its hold, and the caller may send it
again as a new job, held anew. This holds for a CLI on its own login, which under a hard budget
is one the operator accepts (`providers.unmetered_clis`); any other is counted at the gateway.

The real Claude Code against the scripted upstream (`tests/fakes/upstream`), each turn billed
100,000 input tokens; beside the attack, a rate-limited first call is still retried. And the
other way a job's run comes later than its admission: one queued before a hard budget was set
is asked again as it leaves the queue.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.config.budgets import parse_budget
from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import engine_settings, offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream import anthropic as anthropic_fake
from tests.security.test_budget_cli_jobs import _ended, _row

pytestmark = pytest.mark.contract

ATTEMPTS = 3  # the setting's default
HARD_USD = 1.5
TURN_USD = 100_000 * 3.0 / 1e6  # Claude Code's own Sonnet price, input alone


def _engine(loaded: LoadedSettings) -> Engine:
    return Engine(
        engine_settings(
            loaded,
            {
                "budgets": [
                    {"scope": "global", "unit": "usd", "period": "daily", "hard": HARD_USD}
                ],
                "providers.retry_attempts": ATTEMPTS,
                # On its own login, held as one call (not accepted, each of its model calls
                # would be held at the gateway on its own: `test_budget_unmetered_clis.py`).
                "providers.unmetered_clis": ["claude"],
            },
        )
    )


def _params() -> CallParams:
    return CallParams(prompt="keep going", model="claude-sonnet-4-5", allowed_tools=("Bash",))


async def test_a_run_that_killed_itself_after_spending_is_not_run_again(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    find_cli("claude")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", 100_000)
    # Two turns within the hold, then the CLI killed by its own tool with words that read as a
    # transient failure; scripted once for each attempt the job might make.
    attempt = [
        Reply.tool_call("Bash", {"command": "echo one"}),
        Reply.tool_call("Bash", {"command": "echo two"}),
        Reply.tool_call("Bash", {"command": "kill -9 $PPID"}, text="overloaded, try again"),
    ]
    engine = _engine(loaded)
    await engine.start()
    try:
        upstream.script(*attempt * ATTEMPTS)
        job = await engine.calls.submit("claude", _params(), "local")
        view = await _ended(engine, job.job_id)
        row = await _row(engine, job.job_id)
        spent = engine.budget_ledger.statuses()[0].spent
    finally:
        await engine.stop()
    turns = len(upstream.llm_requests)
    # One attempt's three turns ($0.90), counted at its $0.96 hold; before: nine ($2.70).
    assert turns == len(attempt), (turns, view.state, view.error)
    assert view.state is JobState.FAILED and view.error is not None, view.error
    assert row["attempts"] == 1 and row["cost_source"] == "estimate", row
    assert turns * TURN_USD <= spent <= HARD_USD, (turns, spent)


async def test_a_first_call_the_vendor_refused_is_still_retried(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    find_cli("claude")
    # Claude Code retries a 429 itself before it gives up; it says the run cost $0.
    monkeypatch.setenv("CLAUDE_CODE_MAX_RETRIES", "0")
    engine = _engine(loaded)
    await engine.start()
    try:
        upstream.script(Reply.error(429), Reply.ok("served"))
        job = await engine.calls.submit("claude", _params(), "local")
        view = await _ended(engine, job.job_id)
        row = await _row(engine, job.job_id)
    finally:
        await engine.stop()
    assert view.error is None, view.error
    assert "served" in (view.result or {}).get("text", ""), view.result
    assert row["attempts"] == 2, row


async def test_a_job_queued_before_a_hard_budget_was_set_is_refused_as_it_leaves_the_queue(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """A door of finding 70 checked: the job's CLI cannot be stopped at its hold (Codex), and
    it was let in with no budget covering it; one set while it waits is asked again as it
    leaves the queue, before anything is spawned. The job ahead of it runs as it was."""
    find_cli("claude")
    find_cli("codex")
    engine = Engine(engine_settings(loaded, {"jobs.max_concurrent": 1}))
    await engine.start()
    try:
        upstream.default = Reply.ok(delay_s=3.0)
        ahead = await engine.calls.submit("claude", _params(), "local")
        await upstream.wait_for_requests(1, timeout=30)
        queued = await engine.calls.submit(
            "codex", CallParams(prompt="queued codex", model="gpt-5.5"), "local"
        )
        await engine.budget_ledger.replace(
            [parse_budget({"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0})]
        )
        refused = await _ended(engine, queued.job_id)
        served = await _ended(engine, ahead.job_id)
    finally:
        await engine.stop()
    assert refused.error is not None and refused.error["code"] == "budget_exceeded", refused.error
    assert refused.error["details"]["reason"] == "unmetered_cli", refused.error
    assert served.error is None, served.error
    assert not any(b"queued codex" in r.raw_body for r in upstream.llm_requests)
