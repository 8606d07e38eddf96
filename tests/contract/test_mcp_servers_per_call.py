"""`mcpServers` on the CLI request tools with the real Claude Code and Gemini CLI (offline,
against the scripted upstream), a stdio MCP server (`tests/clients/echo_mcp.py`) configured in
the gateway as `echo`: the CLI gets it for the call, lists its tool to the model and calls it
when the model asks, and the tool's answer goes back to the model. Claude Code is handed its
definition in a file, gone after the call; Gemini CLI, which defines its servers in its own
settings (the same name there), is limited to the named ones: a call naming another server
does not offer `echo`'s tool."""

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

pytestmark = pytest.mark.contract

ECHO = Path(__file__).resolve().parents[1] / "clients" / "echo_mcp.py"
# How each CLI names the handed server's `echo` tool to the model.
TOOL_NAMES = {"claude": "mcp__echo__echo", "gemini": "mcp_echo_echo"}


@pytest.fixture
async def engine(loaded: LoadedSettings, offline: Path) -> AsyncIterator[Engine]:  # noqa: F811
    servers = {name: {"command": sys.executable, "args": [str(ECHO)]} for name in ("echo", "other")}
    started = Engine(engine_settings(loaded, {"mcp.servers": servers}))
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
    find_cli(cli)
    if cli == "gemini":
        _define_in_gemini(offline, "echo")
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


def _define_in_gemini(home: Path, *names: str) -> None:
    """The servers in Gemini CLI's own settings (the offline home's), as its user has them."""
    path = home / ".gemini" / "settings.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings["mcpServers"] = {
        name: {"command": sys.executable, "args": [str(ECHO)]} for name in names
    }
    path.write_text(json.dumps(settings), encoding="utf-8")


def _tool_names(body: dict) -> list[str]:
    names = [t.get("name", "") for t in body.get("tools") or []]  # Anthropic
    for group in body.get("tools") or []:  # Gemini: functionDeclarations in tool groups
        names += [f.get("name", "") for f in group.get("functionDeclarations") or []]
    return names
