"""SECURITY 70 and 97: a hard budget is never passed by a coding CLI: its job is counted at the
upstream, call by call, or it is refused before anything is spawned.

A coding CLI's job can run turn after turn, each turn billed its whole context again, and most
CLIs say what a run cost only when it ends, if at all (a real Codex job held at $3.84 under a
$5.00 hard budget ran all eleven turns a prompted model asked for: $5.49). Claude Code stops
itself at a spend, and the gateway stopped OpenCode by the step costs it prints, but both stops
come after the CLI has sent its next call. Under a hard budget covering it, a job of Claude
Code, Codex, Gemini CLI, Grok or OpenCode now has its model calls pointed back at the gateway (a
connection key standing for the caller; the gateway's key for the CLI's vendor pays): each
call is held and counted before it is sent, the first the budget has no room for is refused,
and the job ends `budget_exceeded`. A job that cannot be routed so (Copilot, Mistral Vibe,
a CLI whose vendor the gateway holds no key for) is refused before anything is spawned
(`reason: "unmetered_cli"`, naming the CLI, why, and the ways out), on the MCP tools and the
HTTP bridge alike, and a route passes such a target over for its fallback. The operator may
accept a CLI by name (`providers.unmetered_clis`): its jobs then run on its own login as
before, passing the budget by what a run costs, which one test here measures.

The real CLIs behind recording shims (`_power_support.RecordingClis`: what was spawned, with
what), against the scripted upstream, each turn's prompt as large as the upstream bills it (so
the gateway's estimate of each call is its bill); the legitimate paths beside the attacks: a
routed job with room runs to its answer, the operator's acceptance, and no hard budget.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.auth.connection_keys import CONNECTION_KEY_PREFIX
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401 - fixtures
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream import anthropic as anthropic_fake
from tests.fakes.upstream import gemini as gemini_fake
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
TURN_TOKENS = 100_000
# As many tokens by the gateway's estimate (about four characters a token) as each turn is
# billed: the turn's context is this prompt, sent again with each turn.
PROMPT = "keep going " + "context " * (TURN_TOKENS * 4 // 8 + 2_000)
MODELS = {
    "codex": "gpt-5.5",
    "gemini": "gemini-2.5-flash",
    "claude": "claude-haiku-4-5",
    "opencode": "anthropic/claude-sonnet-4-5",
    "grok": "grok-4",
    "copilot": "gpt-5",
}
# The tool each CLI's own turns offer (its side calls offer none), and a harmless call of it.
TOOL_LOOPS = {
    "codex": ("exec_command", lambda n: {"cmd": f"echo step {n}"}),
    "gemini": ("list_directory", lambda n: {"dir_path": "."}),
    "claude": ("Bash", lambda n: {"command": f"echo step {n}"}),
}
# What each turn's input is billed by the scripted upstream, per CLI.
BILLED = {"codex": responses_fake, "gemini": gemini_fake, "claude": anthropic_fake}
BILLED_NAMES = {
    "codex": "OPENAI_PROMPT_TOKENS",
    "gemini": "GEMINI_PROMPT_TOKENS",
    "claude": "ANTHROPIC_INPUT_TOKENS",
}
# Room for a Codex job's hold (128,000 tokens of gpt-5.5 at $30 a million, $3.84) and little
# more; tokens: a million, room for any of these holds.
DOLLARS = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
TOKENS = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}
API_PROVIDERS = ("anthropic", "openai", "google")


def _keep_asking_for_a_tool(upstream: ScriptedUpstream, provider: str) -> None:
    """The attack: the model answers each turn with another tool call, then, at last, text."""
    tool, arguments = TOOL_LOOPS[provider]
    upstream.script_when_offered(
        tool,
        *[Reply.tool_call(tool, arguments(n), call_id=f"call_{n}") for n in range(TURNS)],
        Reply.ok("done"),
    )


def _turn_usd(provider: str) -> float:
    price = PriceBook().price_of(MODELS[provider])
    assert price is not None, MODELS[provider]
    return TURN_TOKENS * price.input / 1_000_000


# More than a CLI adds to the prompt in a turn's body (its system prompt, its tools: about
# 45 KB for Gemini CLI). Not much more: Gemini CLI ends a loop of the same tool call by
# itself after six turns, so the budget must stop it before.
CLI_BODY_BYTES = 100_000


def _input_hold_usd(provider: str) -> float:
    """At most what a turn's input is held at: its body at a token a byte, at the dearer of
    the input and cache-write prices (`budgets/holds.py`)."""
    price = PriceBook().price_of(MODELS[provider])
    assert price is not None, MODELS[provider]
    held = len(PROMPT) + CLI_BODY_BYTES
    return held * max(price.input, price.cache_write) / 1_000_000


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


async def _calls(gateway: GatewayRuntime) -> list[dict[str, Any]]:
    """The rows of the model calls the gateway sent to an API provider."""
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=100)
    return [r for r in rows if r["provider"] in API_PROVIDERS and r["state"] == "completed"]


def _spent(gateway: GatewayRuntime) -> float:
    return gateway.engine.budget_ledger.statuses()[0].spent


@pytest.fixture
def openai_on_the_upstream(upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway's OpenAI provider on the scripted upstream (the offline set-up points the
    Anthropic and Gemini ones there, and gives each a key)."""
    monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url + "/v1")


@pytest.mark.parametrize("provider", ["claude", "codex", "gemini"])
async def test_a_cli_under_a_hard_budget_is_counted_at_the_upstream_and_stopped_there(
    provider: str,
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    openai_on_the_upstream: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require(provider)
    monkeypatch.setattr(BILLED[provider], BILLED_NAMES[provider], TURN_TOKENS)
    # Room for a turn's hold (its input at a token a byte, and a little output), then for three
    # turns and a half of what the upstream bills.
    hard = _input_hold_usd(provider) + 3.5 * _turn_usd(provider)
    gateway, clis = await start_recording({"budgets": [{**DOLLARS, "hard": hard}]})
    _keep_asking_for_a_tool(upstream, provider)
    answer = await _mcp(
        gateway, f"{provider}_request", {"prompt": PROMPT, "model": MODELS[provider]}
    )
    calls, spent = await _calls(gateway), _spent(gateway)
    # Stopped at the first turn the budget had no room for, refused at the gateway.
    bodies = [len(r.raw_body) for r in upstream.llm_requests]
    assert answer["isError"] and answer["error"]["code"] == "budget_exceeded", (hard, bodies)
    assert "a model call of this job was refused" in answer["error"]["message"], answer
    turns = [r for r in upstream.llm_requests if TOOL_LOOPS[provider][0].encode() in r.raw_body]
    assert 0 < len(turns) < TURNS, (len(turns), hard, bodies)
    # Counted at the upstream: every call it answered is a row the budget counted, and the
    # budget was not passed.
    assert len(calls) == len(upstream.llm_requests), (calls, upstream.llm_requests)
    assert spent == pytest.approx(sum(r["cost_usd"] for r in calls)) and 0 < spent <= hard
    # The CLI was given the gateway's address and a connection key, never the operator's key.
    (spawn,) = clis.runs(provider)
    given = json.dumps([spawn.argv, spawn.all_env])
    assert CONNECTION_KEY_PREFIX in given and f"127.0.0.1:{gateway.http.port}" in given
    for operators in ("sk-ant-test-key", "sk-test-key", "gemini-test-key"):
        assert operators not in spawn.all_env.values(), operators


@pytest.mark.parametrize("provider", ["claude", "codex", "gemini"])
async def test_a_routed_job_with_room_runs_to_its_answer(
    provider: str,
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    openai_on_the_upstream: None,
) -> None:
    require(provider)
    gateway, clis = await start_recording({"budgets": [DOLLARS]})
    answer = await _mcp(
        gateway, f"{provider}_request", {"prompt": "say hello", "model": MODELS[provider]}
    )
    assert not answer["isError"], answer
    assert "FAKE-OK" in answer["text"], answer
    calls = await _calls(gateway)
    assert len(clis.runs(provider)) == 1 and len(calls) == len(upstream.llm_requests) > 0
    assert _spent(gateway) == pytest.approx(sum(r["cost_usd"] for r in calls))


@pytest.mark.parametrize("budget", [DOLLARS, TOKENS], ids=["usd", "tokens"])
@pytest.mark.parametrize("provider", ["codex", "grok", "copilot"])
async def test_a_cli_whose_calls_cannot_come_back_is_refused_before_it_is_spawned(
    provider: str,
    budget: dict[str, Any],
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copilot cannot be pointed at the gateway; Codex and grok can, but the gateway here holds
    no OpenAI or xAI key to make their calls with."""
    require(provider)
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    gateway, clis = await start_recording({"budgets": [budget]})
    arguments = {"prompt": "keep going", "model": MODELS[provider]}
    sync = await _mcp(gateway, f"{provider}_request", arguments)
    job = await _mcp(gateway, f"{provider}_request_async", arguments)
    status, http = await _chat(gateway, f"{provider}-cli/{MODELS[provider]}")
    jobs = await gateway.engine.jobs.list_jobs("local")
    why = {"codex": "no openai key", "grok": "no xai key"}.get(provider, "cannot point its model")
    for refused in (sync, job):
        assert refused["isError"], refused
        error = refused["error"]
        assert error["code"] == "budget_exceeded", error
        assert error["details"]["reason"] == "unmetered_cli", error
        assert error["details"]["provider"] == provider and error["details"]["budget"] == "global"
        name = gateway.engine.catalog.info(provider).display_name
        for words in (name, why, "API model", "unmetered_clis"):
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
    """Accepted, a Codex job runs on its own login as before, and this is what the operator
    accepts: each turn billed 100,000 input tokens ($0.50), its job held at $3.84 under a $5.00
    budget ran every turn the model asked for, its row past the budget."""
    require("codex")
    monkeypatch.setattr(responses_fake, "OPENAI_PROMPT_TOKENS", 100_000)
    gateway, clis = await start_recording(
        {"budgets": [DOLLARS], "providers.unmetered_clis": ["codex"]}
    )
    _keep_asking_for_a_tool(upstream, "codex")
    answer = await _mcp(gateway, "codex_request", {"prompt": "keep going", "model": "gpt-5.5"})
    await gateway.engine.recorder.flush()
    (row,) = [r for r in await gateway.engine.recorder.recent(limit=10) if r["provider"] == "codex"]
    spent = _spent(gateway)
    assert not answer["isError"], answer
    assert "done" in answer["text"], answer
    assert len(clis.runs("codex")) == 1
    assert CONNECTION_KEY_PREFIX not in json.dumps(clis.runs("codex")[0].argv)  # its own login
    turns = [r for r in upstream.llm_requests if b"exec_command" in r.raw_body]
    assert len(turns) == TURNS + 1, len(turns)
    assert row["cost_usd"] > DOLLARS["hard"] and spent == pytest.approx(row["cost_usd"]), row


@pytest.mark.parametrize(
    "budgets",
    [
        [],
        [{"scope": "global", "unit": "usd", "period": "daily", "soft": 0.01}],
        [{**DOLLARS, "scope": "agent=someone-else"}],
    ],
    ids=["none", "soft", "hard-of-another-agent"],
)
async def test_without_a_hard_budget_covering_it_codex_runs_on_its_own_login(
    budgets: list[dict[str, Any]],
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    require("codex")
    gateway, clis = await start_recording({"budgets": budgets})
    answer = await _mcp(gateway, "codex_request", {"prompt": "say hello", "model": "gpt-5.5"})
    assert not answer["isError"], answer
    assert "FAKE-OK" in answer["text"] and len(clis.runs("codex")) == 1
    assert CONNECTION_KEY_PREFIX not in json.dumps(clis.runs("codex")[0].argv)


async def test_a_route_passes_a_cli_it_cannot_count_over_for_a_fallback_it_can(
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("codex")
    require("claude")
    monkeypatch.delenv("OPENAI_API_KEY")  # Codex's calls could not come back: no OpenAI key
    codex, claude = "codex-cli/gpt-5.5", "claude-cli/claude-haiku-4-5"
    gateway, clis = await start_recording(
        {"budgets": [DOLLARS], "gateway.routes": {codex: {"fallback": [claude]}}}
    )
    status, answer = await _chat(gateway, codex)
    assert status == 200, answer
    outcomes = [(a["target"], a["outcome"]) for a in answer["x_gateway"]["attempts"]]
    assert outcomes == [(codex, "unmetered"), (claude, "ok")], outcomes
    assert clis.runs("codex") == [] and len(clis.runs("claude")) == 1
