"""Codex 0.169 (`codex exec`, default features) with a `[model_providers]` entry for the
gateway, as its documentation shows, and the gateway's own `/mcp` as an MCP server.

Codex sends its MCP servers' tools grouped as `namespace` tools, plus `custom` (freeform) and
`web_search` tools: all of it reaches an OpenAI upstream unchanged, and another dialect gets
them flattened and translated, with every call mapped back to the form Codex declared.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from llmgw_desktop.engine.api import CODEX_KEY_ENV, LOCAL_CALLER, KeySpec
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.mcp.sdk_loading import MARK_FILE
from llmgw_desktop.ui.connect import key_snippets
from tests.clients.conftest import GATEWAY_KEYS
from tests.clients.harness import (
    assert_answered,
    assert_last_call,
    client_environment,
    codex_config,
    headless_args,
    run_cli,
    run_shell_round_trip,
    say_hello,
    warm_mcp,
    write_codex_config,
)
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

pytestmark = pytest.mark.contract

CHECK_THE_GATEWAY = headless_args("codex", "check the gateway")


async def test_codex_with_an_mcp_server_reaches_openai_with_its_request_unchanged(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    mcp = gateway.base_url + "/mcp"
    write_codex_config(home, codex_config(gateway.base_url, model="gpt-5.5", mcp_url=mcp))
    await say_hello("codex", env=env, cwd=home / "work")
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
    await assert_last_call(gateway, provider="openai", caller="codex")


# The seed's (the multi-harness gateway article's) config.toml for Codex behind Bifrost, its
# address made this gateway's: Bifrost's `/openai/v1` base path, the key from OPENAI_API_KEY.
BIFROST_CONFIG = """\
model = "gpt-5.5"
model_provider = "bifrost"

[model_providers.bifrost]
name = "Bifrost"
base_url = "{gateway}/openai/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
"""


async def test_codex_set_up_for_bifrost_reaches_the_gateway_unchanged(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    """A Codex config written for Bifrost needs only its host changed: `/openai/v1/responses`
    is the gateway's Responses route."""
    write_codex_config(home, BIFROST_CONFIG.format(gateway=gateway.base_url))
    await say_hello(
        "codex", env={**env, "OPENAI_API_KEY": "sk-bifrost-virtual-key"}, cwd=home / "work"
    )
    assert upstream.llm_requests[-1].path == "/v1/responses"
    await assert_last_call(gateway, provider="openai", caller="codex")


async def test_codex_on_an_anthropic_model_runs_its_shell_tool(
    env: dict[str, str], home: Path, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # Codex with its default features and no MCP server (the test below has one).
    write_codex_config(home, codex_config(gateway.base_url, model="claude-sonnet-4-6"))
    await run_shell_round_trip(upstream, "codex", env=env, cwd=home / "work")
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
    assert "llm_process_health" in await warm_mcp(gateway)
    upstream.script_tool_round_trip(tool, {})
    run = await run_cli("codex", *CHECK_THE_GATEWAY, env=env, cwd=home / "work")
    assert_answered(run, "ALL-DONE")
    assert "llmgw/llm_process_health" in run.stderr + run.stdout
    result = upstream.llm_requests[-1].body["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    assert '"status":"ok"' in result["content"].replace(" ", "")


async def test_codex_calls_the_gateway_through_the_stdio_relay(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    # `llmgw-desktop mcp` as Codex launches it, with docs/connect/codex.md's stdio table,
    # relaying to a running gateway whose data directory served MCP before (so the SDK loads a
    # second after start). `required = true` as the page says: Codex gives a server it may do
    # without one second before the first turn, which a loaded CI run's relay missed (the turn
    # ran without the tools), as did a data directory's very first MCP request (the SDK loads).
    paths = {
        k: os.environ[k]
        for k in ("LLM_GATEWAY_CONFIG", "LLM_GATEWAY_DATA_DIR", "LLM_GATEWAY_LOG_DIR")
    }
    mark = Path(paths["LLM_GATEWAY_DATA_DIR"]) / MARK_FILE
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.touch()
    gateway = await start_gateway()
    assert await gateway.mcp._loaded()
    env = client_environment(home, gateway.base_url)
    config = codex_config(gateway.base_url, model="claude-sonnet-4-6")
    config += (
        f"\n[mcp_servers.llmgw]\ncommand = {json.dumps(sys.executable)}\n"
        'args = ["-m", "llmgw_desktop", "mcp"]\nrequired = true\n'
        f"env = {{ {', '.join(f'{k} = {json.dumps(v)}' for k, v in paths.items())} }}\n"
    )
    write_codex_config(home, config)
    tool = "mcp__llmgw__llm_process_health"
    upstream.script_tool_round_trip(tool, {})
    run = await run_cli("codex", *CHECK_THE_GATEWAY, env=env, cwd=home / "work")
    assert run.returncode == 0, run.explain()
    assert "ALL-DONE" in run.stdout, run.stderr[-3000:]
    result = upstream.llm_requests[-1].body["messages"][-1]["content"][0]
    assert '"status":"ok"' in result["content"].replace(" ", "")


async def test_codex_set_up_as_a_new_key_says_reaches_a_locked_gateway_as_that_key(
    home: Path, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    """The Codex setup a new key's dialog and `keys create` print, used as printed: a
    newcomer found none for Codex, and Codex ignores OPENAI_BASE_URL."""
    locked = await start_gateway({"http.auth_token": "locked-gateway-token-0123456789-abcdef"})
    made = await locked.engine.keys.create(LOCAL_CALLER, KeySpec(name="codex-laptop"))
    (setup,) = (
        s for s in key_snippets(locked.base_url, made.secret) if s.client == "Codex (model calls)"
    )
    write_codex_config(home, 'model = "gpt-5.5"\n' + setup.text)
    env = client_environment(home, locked.base_url) | {CODEX_KEY_ENV: made.secret}
    await say_hello("codex", env=env, cwd=home / "work")
    rows = await locked.engine.recorder.recent(limit=5)
    assert rows and {r["owner_principal"] for r in rows} == {"key:codex-laptop"}
    assert all(made.secret not in str(r.headers) for r in upstream.llm_requests)
