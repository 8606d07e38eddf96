"""Codex 0.169 (`codex exec`, default features) with a `[model_providers]` entry for the
gateway, as its documentation shows, and the gateway's own `/mcp` as an MCP server.

Codex sends its MCP servers' tools grouped as `namespace` tools, plus `custom` (freeform) and
`web_search` tools: all of it reaches an OpenAI upstream unchanged, and another dialect gets
them flattened and translated, with every call mapped back to the form Codex declared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.runtime import GatewayRuntime
from tests.clients.conftest import GATEWAY_KEYS
from tests.clients.harness import codex_config, run_cli, write_codex_config
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = pytest.mark.contract

SHELL_COMMAND = "printf 'TOOL-%s-%s' RAN 42"  # only running it prints TOOL-RAN-42


def exec_args(prompt: str) -> tuple[str, ...]:
    return ("exec", "--skip-git-repo-check", prompt)


async def test_codex_with_an_mcp_server_reaches_openai_with_its_request_unchanged(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    mcp = gateway.base_url + "/mcp"
    write_codex_config(home, codex_config(gateway.base_url, model="gpt-5.5", mcp_url=mcp))
    run = await run_cli("codex", *exec_args("say hello"), env=env, cwd=home / "work")
    assert run.returncode == 0, run.explain()
    assert "FAKE-OK" in run.stdout
    request = upstream.llm_requests[-1]
    assert request.path == "/v1/responses"
    kinds = {tool["type"] for tool in request.body["tools"]}
    # Tool kinds the gateway once refused with 400 reach OpenAI as Codex sent them.
    assert {"function", "custom", "web_search"} <= kinds, kinds
    assert request.body["store"] is False
    assert request.headers["originator"] == "codex_exec"
    assert request.headers["authorization"] == (
        f"<redacted {len('Bearer ' + GATEWAY_KEYS['OPENAI_API_KEY'])} chars>"
    )
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["provider"] == "openai" and rows[0]["state"] == "completed"
    assert rows[0]["caller"] == "codex"


async def test_codex_on_an_anthropic_model_runs_its_shell_tool(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # Codex with its default features and no MCP server (the test below has one).
    write_codex_config(home, codex_config(gateway.base_url, model="claude-sonnet-4-6"))
    upstream.script_when_offered(
        "exec_command",
        Reply.tool_call("exec_command", {"cmd": SHELL_COMMAND}),
        Reply.ok("ALL-DONE", verbatim=True),
    )
    run = await run_cli("codex", *exec_args("run the command"), env=env, cwd=home / "work")
    assert run.returncode == 0, run.explain()
    assert "ALL-DONE" in run.stdout
    assert {r.path for r in upstream.llm_requests} == {"/v1/messages"}
    last = upstream.llm_requests[-1].body
    names = {tool["name"] for tool in last["tools"]}
    # Codex's own namespace (its sub-agent tools) arrives flattened; hosted tools are left out.
    assert "exec_command" in names
    assert any(name.startswith("multi_agent_v1__") for name in names), names
    result = last["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and "TOOL-RAN-42" in result["content"]


async def test_codex_calls_a_tool_of_its_mcp_server_through_a_namespace(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # The Anthropic model calls the flattened name; Codex must get it back in its namespace,
    # call the gateway's own MCP tool, and send the result on.
    mcp = gateway.base_url + "/mcp"
    write_codex_config(home, codex_config(gateway.base_url, model="claude-sonnet-4-6", mcp_url=mcp))
    tool = "mcp__llmgw__llm_process_health"
    upstream.script_when_offered(
        tool, Reply.tool_call(tool, {}), Reply.ok("ALL-DONE", verbatim=True)
    )
    run = await run_cli("codex", *exec_args("check the gateway"), env=env, cwd=home / "work")
    assert run.returncode == 0, run.explain()
    assert "ALL-DONE" in run.stdout
    assert "llmgw/llm_process_health" in run.stderr + run.stdout
    result = upstream.llm_requests[-1].body["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    assert '"status":"ok"' in result["content"].replace(" ", "")
