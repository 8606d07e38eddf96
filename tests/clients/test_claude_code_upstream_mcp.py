"""Claude Code 2.1 (`claude -p`) with the gateway's `/mcp` as its one MCP server, behind which
sits the user's own server (`@modelcontextprotocol/server-everything` from npm, over stdio):
Claude Code lists the aggregated tools and calls one, and the call is a recorder row.

The model is the scripted upstream (through the gateway's Anthropic route): it asks for the
aggregated tool by the name Claude Code gives it, then answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clients.harness import assert_answered, client_environment, run_cli, warm_mcp
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.mcp.upstream_support import everything, require_servers

pytestmark = pytest.mark.contract

# Claude Code names an MCP server's tool mcp__SERVER__TOOL; ours is everything__echo.
TOOL = "mcp__llmgw__everything__echo"


async def test_claude_code_calls_an_aggregated_tool_and_the_call_is_recorded(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    require_servers()
    gateway = await start_gateway({"mcp.servers": {"everything": everything()}})
    assert "everything__echo" in await warm_mcp(gateway)  # started with the gateway
    env = client_environment(home, gateway.base_url)
    # `alwaysLoad`: connected before the first turn. Without it Claude Code starts the turn
    # without a server still connecting (offering the model a tool to wait for it), which a
    # loaded run can make of the gateway; this test is about the call, not that race.
    config = {"mcpServers": {"llmgw": {"type": "http", "url": gateway.mcp_url, "alwaysLoad": True}}}
    upstream.script_tool_round_trip(TOOL, {"message": "relayed-by-the-gateway"})
    run = await run_cli(
        "claude",
        "-p",
        "echo something",
        "--mcp-config",
        json.dumps(config),
        "--strict-mcp-config",
        "--allowedTools",
        TOOL,
        env=env,
        cwd=home / "work",
    )
    assert_answered(run, "ALL-DONE")
    offered = {t["name"] for r in upstream.llm_requests for t in r.body.get("tools") or []}
    assert TOOL in offered and "mcp__llmgw__claude_request" in offered, sorted(offered)
    results = [
        block
        for m in upstream.llm_requests[-1].body["messages"]
        if isinstance(m.get("content"), list)
        for block in m["content"]
        if block.get("type") == "tool_result"
    ]
    assert "relayed-by-the-gateway" in json.dumps(results), results
    await gateway.engine.recorder.flush()
    rows = [
        r
        for r in await gateway.engine.recorder.recent(limit=20)
        if r["provider"] == "mcp:everything"
    ]
    assert [(r["tool"], r["state"]) for r in rows] == [("everything__echo", "completed")], rows
    assert rows[0]["caller"] == "claude-code", rows[0]
