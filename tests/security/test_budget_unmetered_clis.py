"""SECURITY 70: a hard budget is never passed by a CLI the gateway cannot stop at its hold.

A coding CLI's job is held at one answer of its model. Claude Code stops itself there (finding
64) and the gateway stops OpenCode by its step costs (finding 69); Codex and Gemini CLI say
what a run cost only when it ends, and grok, Copilot, Mistral Vibe and the ACP agents no sooner,
so a prompted model that keeps asking for a tool kept a job of theirs running turn after turn
past its hold. Under a hard budget covering it such a job is now refused before anything is
spawned (`budget_exceeded`, `reason: "unmetered_cli"`, naming the CLI and the ways out), on the
MCP tools and the HTTP bridge alike, and a route passes such a target over for its fallback;
the operator may accept a CLI by name (`providers.unmetered_clis`), and its jobs then run as
before, passing the budget by what a run costs, which one test here measures.

The real CLIs behind recording shims (`_power_support.RecordingClis`: what was spawned), against
the scripted upstream; the legitimate paths beside the attack: the operator's acceptance, Claude
Code and OpenCode under the same budget, and no hard budget.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401 - fixtures
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream import openai_responses as responses_fake
from tests.security._power_support import (  # noqa: F401 - fixtures
    RecordingClis,
    StartRecording,
    local_headers,
    local_mcp,
    require,
    start_recording,
)
from tests.transports.auth.conftest import start  # noqa: F401

pytestmark = pytest.mark.contract

TURNS = 10
MODELS = {
    "codex": "gpt-5.5",
    "gemini": "gemini-2.5-flash",
    "claude": "claude-haiku-4-5",
    "opencode": "anthropic/claude-sonnet-4-5",
}
# The tool each CLI's own turns offer (its side calls offer none), and a harmless call of it.
TOOL_LOOPS = {
    "codex": ("exec_command", lambda n: {"cmd": f"echo step {n}"}),
    "gemini": ("list_directory", lambda n: {"dir_path": "."}),
}
# Room for a Codex job's hold (128,000 tokens of gpt-5.5 at $30 a million, $3.84) and little
# more; tokens: a million, room for any of these holds.
DOLLARS = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
TOKENS = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}


def _keep_asking_for_a_tool(upstream: ScriptedUpstream, provider: str) -> None:
    """The attack: the model answers each turn with another tool call, then, at last, text."""
    tool, arguments = TOOL_LOOPS[provider]
    upstream.script_when_offered(
        tool,
        *[Reply.tool_call(tool, arguments(n), call_id=f"call_{n}") for n in range(TURNS)],
        Reply.ok("done"),
    )


async def _mcp(gateway: GatewayRuntime, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One MCP tool call as the local user: its structured body, `isError` beside it."""
    async with local_mcp(gateway) as client:
        result = await client.call_tool(tool, arguments)
    assert result.structured_content is not None, result
    return {"isError": bool(result.is_error), **result.structured_content}


async def _chat(gateway: GatewayRuntime, model: str) -> tuple[int, dict[str, Any]]:
    """One chat completion over HTTP as the local user: its status and body."""
    body = {"model": model, "messages": [{"role": "user", "content": "keep going"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.base_url + "/v1/chat/completions", json=body, headers=local_headers(gateway)
        ) as answer,
    ):
        return answer.status, await answer.json()


@pytest.mark.parametrize("budget", [DOLLARS, TOKENS], ids=["usd", "tokens"])
@pytest.mark.parametrize("provider", ["codex", "gemini"])
async def test_an_unstoppable_cli_under_a_hard_budget_is_refused_before_it_is_spawned(
    provider: str,
    budget: dict[str, Any],
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    require(provider)
    gateway, clis = await start_recording({"budgets": [budget]})
    _keep_asking_for_a_tool(upstream, provider)
    arguments = {"prompt": "keep going", "model": MODELS[provider]}
    sync = await _mcp(gateway, f"{provider}_request", arguments)
    job = await _mcp(gateway, f"{provider}_request_async", arguments)
    status, http = await _chat(gateway, f"{provider}-cli/{MODELS[provider]}")
    jobs = await gateway.engine.jobs.list_jobs("local")
    for refused in (sync, job):
        assert refused["isError"], refused
        error = refused["error"]
        assert error["code"] == "budget_exceeded", error
        assert error["details"]["reason"] == "unmetered_cli", error
        assert error["details"]["provider"] == provider and error["details"]["budget"] == "global"
        name = gateway.engine.catalog.info(provider).display_name
        for words in (name, "Claude Code", "OpenCode", "API model", "unmetered_clis"):
            assert words in error["message"], error["message"]
    assert status == 402 and http["error"]["code"] == "budget_exceeded", http
    assert "unmetered_clis" in http["error"]["message"], http
    # Nothing spawned, no job, nothing billed upstream.
    assert clis.runs(provider) == [] and jobs == []
    assert upstream.llm_requests == []


async def test_the_operators_acceptance_runs_the_job_past_its_hold(
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Accepted, a Codex job runs as before, and this is what the operator accepts: each turn
    billed 100,000 input tokens ($0.50), its job held at $3.84 under a $5.00 budget ran every
    turn the model asked for, its row past the budget."""
    require("codex")
    monkeypatch.setattr(responses_fake, "OPENAI_PROMPT_TOKENS", 100_000)
    gateway, clis = await start_recording(
        {"budgets": [DOLLARS], "providers.unmetered_clis": ["codex"]}
    )
    _keep_asking_for_a_tool(upstream, "codex")
    answer = await _mcp(gateway, "codex_request", {"prompt": "keep going", "model": "gpt-5.5"})
    await gateway.engine.recorder.flush()
    (row,) = [r for r in await gateway.engine.recorder.recent(limit=10) if r["provider"] == "codex"]
    spent = gateway.engine.budget_ledger.statuses()[0].spent
    assert not answer["isError"], answer
    assert "done" in answer["text"], answer
    assert len(clis.runs("codex")) == 1
    turns = [r for r in upstream.llm_requests if b"exec_command" in r.raw_body]
    assert len(turns) == TURNS + 1, len(turns)
    assert row["cost_usd"] > DOLLARS["hard"] and spent == pytest.approx(row["cost_usd"]), row


@pytest.mark.parametrize("provider", ["claude", "opencode"])
async def test_claude_code_and_opencode_still_run_under_the_same_budget(
    provider: str,
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    require(provider)
    gateway, clis = await start_recording({"budgets": [DOLLARS]})
    answer = await _mcp(
        gateway, f"{provider}_request", {"prompt": "say hello", "model": MODELS[provider]}
    )
    assert not answer["isError"], answer
    assert "FAKE-OK" in answer["text"], answer
    assert len(clis.runs(provider)) == 1 and upstream.llm_requests


@pytest.mark.parametrize(
    "budgets",
    [
        [],
        [{"scope": "global", "unit": "usd", "period": "daily", "soft": 0.01}],
        [{**DOLLARS, "scope": "agent=someone-else"}],
    ],
    ids=["none", "soft", "hard-of-another-agent"],
)
async def test_without_a_hard_budget_covering_it_codex_runs_as_before(
    budgets: list[dict[str, Any]],
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    require("codex")
    gateway, clis = await start_recording({"budgets": budgets})
    answer = await _mcp(gateway, "codex_request", {"prompt": "say hello", "model": "gpt-5.5"})
    assert not answer["isError"], answer
    assert "FAKE-OK" in answer["text"] and len(clis.runs("codex")) == 1


async def test_a_route_passes_an_unstoppable_cli_over_for_a_fallback_that_stops(
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    require("codex")
    require("claude")
    codex, claude = "codex-cli/gpt-5.5", "claude-cli/claude-haiku-4-5"
    gateway, clis = await start_recording(
        {"budgets": [DOLLARS], "gateway.routes": {codex: {"fallback": [claude]}}}
    )
    status, answer = await _chat(gateway, codex)
    assert status == 200, answer
    outcomes = [(a["target"], a["outcome"]) for a in answer["x_gateway"]["attempts"]]
    assert outcomes == [(codex, "unmetered"), (claude, "ok")], outcomes
    assert clis.runs("codex") == [] and len(clis.runs("claude")) == 1
