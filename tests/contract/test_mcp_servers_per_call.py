"""`mcpServers` on the CLI request tools with the real Claude Code and Gemini CLI (offline,
against the scripted upstream), a stdio MCP server (`tests/clients/echo_mcp.py`) configured in
the gateway as `echo`: the CLI gets it for the call, lists its tool to the model and calls it
when the model asks, and the tool's answer goes back to the model. Claude Code is handed its
definition in a file, gone after the call; Gemini CLI, which defines its servers in its own
settings (the same name there), is limited to the named ones: a call naming another server
does not offer `echo`'s tool. Codex is given the definitions as overrides, each required: it
waits for a named server slow to start, and fails the call, naming it, if it cannot start."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState
from tests.contract.conftest import engine_settings, offline, run  # noqa: F401 - fixture
from tests.contract.offline import find_cli
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.script import offered_tools

pytestmark = pytest.mark.contract

ECHO = Path(__file__).resolve().parents[1] / "clients" / "echo_mcp.py"
# How each CLI names the handed server's `echo` tool to the model.
TOOL_NAMES = {"claude": "mcp__echo__echo", "gemini": "mcp_echo_echo"}
# The servers the gateway is configured with (and Gemini CLI's settings, by the same names).
SERVERS = {
    "echo": {"command": sys.executable, "args": [str(ECHO)]},
    "other": {"command": sys.executable, "args": [str(ECHO)]},
    # As a server fetched by npx or uvx on its first run: silent for its first three seconds.
    "slow": {"command": sys.executable, "args": [str(ECHO), "--start-after", "3"]},
    "broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]},
}


@pytest.fixture
async def engine(loaded: LoadedSettings, offline: Path) -> AsyncIterator[Engine]:  # noqa: F811
    started = Engine(engine_settings(loaded, {"mcp.servers": SERVERS}))
    await started.start()
    yield started
    await started.stop()


@pytest.mark.parametrize("cli", ["claude", "gemini"])
async def test_the_cli_lists_and_calls_the_handed_servers_tool(
    cli: str,
    engine: Engine,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    _ready(cli, offline, "echo")
    tool = TOOL_NAMES[cli]
    upstream.script_tool_round_trip(tool, {"text": "handed-to-the-cli"})
    view = await run(
        engine,
        cli,
        prompt="echo something",
        mcp_servers=("echo",),
        allowed_tools=(tool,),
        model="gemini-2.5-flash" if cli == "gemini" else None,
    )
    assert view.state is JobState.COMPLETED, view.error
    assert "ALL-DONE" in view.result["text"]
    offered = {n for r in upstream.llm_requests for n in _tool_names(r.body)}
    assert tool in offered, sorted(offered)
    assert "handed-to-the-cli" in json.dumps(upstream.llm_requests[-1].body)
    handed = engine.settings.data_path / "mcp-tmp"  # Claude Code's file, gone after the call
    assert not handed.exists() or list(handed.iterdir()) == []


async def test_gemini_is_limited_to_the_named_servers(
    engine: Engine,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    find_cli("gemini")
    _define_in_gemini(offline, "echo", "other")
    view = await run(
        engine, "gemini", prompt="hi", mcp_servers=("other",), model="gemini-2.5-flash"
    )
    assert view.state is JobState.COMPLETED, view.error
    offered = {n for r in upstream.llm_requests for n in _tool_names(r.body)}
    assert "mcp_other_echo" in offered and "mcp_echo_echo" not in offered, sorted(offered)


# Models whose first request lists MCP tools upfront (Codex finds them for gpt-5.5 through
# `tool_search`).
SLOW_MODELS = {"claude": None, "codex": "gpt-4.1", "gemini": "gemini-2.5-flash"}


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
async def test_a_handed_server_slow_to_start_has_its_tools_on_the_first_turn(
    cli: str,
    engine: Engine,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    """A server the call names is what the call is for, so the CLI waits for it (3 s here).
    Codex gives a server it may do without one second and then starts without its tools:
    the gateway hands it the servers as required."""
    _ready(cli, offline, "slow")
    view = await run(engine, cli, prompt="hi", mcp_servers=("slow",), model=SLOW_MODELS[cli])
    assert view.state is JobState.COMPLETED, view.error
    offered = offered_tools(upstream.llm_requests[0].body)
    assert any(name.endswith("echo") for name in offered), sorted(offered)


async def test_codex_fails_a_call_whose_handed_server_cannot_start(
    engine: Engine,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    """A named server that cannot start fails the call, saying which and why, rather than
    letting Codex run the turn without its tools."""
    find_cli("codex")
    view = await run(engine, "codex", prompt="hi", mcp_servers=("broken",), model="gpt-4.1")
    assert view.state is JobState.FAILED, view.result
    assert view.error is not None
    assert view.error["code"] == "upstream_server_failed", view.error
    assert view.error["retryable"] is False
    assert view.error["message"].startswith(
        "codex could not start an MCP server the call names, so it did not run the turn: broken: "
    ), view.error["message"]
    assert not upstream.llm_requests


NOT_STARTED = {
    "claude": "an MCP server the call names ('broken') did not start in claude (it said: "
    "failed): the turn ran without its tools",
    "gemini": "an MCP server the call names ('broken') did not start in gemini (it said: MCP "
    "issues detected): the turn ran without its tools",
}


@pytest.mark.parametrize("cli", ["claude", "gemini"])
async def test_the_answer_says_when_a_handed_server_did_not_start(
    cli: str,
    engine: Engine,
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> None:
    """Claude Code and Gemini CLI run the turn without a named server they could not start,
    and say so only in passing (Claude Code's first event, a line on Gemini CLI's stderr):
    the answer carries the notice."""
    _ready(cli, offline, "broken")
    view = await run(engine, cli, prompt="hi", mcp_servers=("broken",), model=SLOW_MODELS[cli])
    assert view.state is JobState.COMPLETED, view.error
    assert view.result is not None
    assert view.result["warnings"] == [{"code": "notice", "message": NOT_STARTED[cli]}]


def _ready(cli: str, home: Path, server: str) -> None:
    """`cli` is installed, and knows `server` where it reads definitions only from its own
    settings (Gemini CLI)."""
    find_cli(cli)
    if cli == "gemini":
        _define_in_gemini(home, server)


def _define_in_gemini(home: Path, *names: str) -> None:
    """The servers in Gemini CLI's own settings (the offline home's), as its user has them."""
    path = home / ".gemini" / "settings.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings["mcpServers"] = {name: SERVERS[name] for name in names}
    path.write_text(json.dumps(settings), encoding="utf-8")


def _tool_names(body: dict) -> list[str]:
    names = [t.get("name", "") for t in body.get("tools") or []]  # Anthropic
    for group in body.get("tools") or []:  # Gemini: functionDeclarations in tool groups
        names += [f.get("name", "") for f in group.get("functionDeclarations") or []]
    return names
