"""Every ACP agent the gateway starts calls its models back through the gateway, as its caller,
from every door (SECURITY finding 90).

The real claude-agent-acp behind the recording shim (`_power_support.py`), the gateway's
Anthropic provider on the scripted upstream: over the HTTP bridge (`claude-acp-cli/sonnet`) and
the MCP tool (`claude-acp_request`) the agent starts with a connection key and the gateway's own
address, never the operator's `sk-ant-` key; its model calls are rows of the caller's (a gateway
key's, on its lane), and the key proves nothing once the run ends. A gateway key with a hard
budget is served by the agent (each model call held on its own) rather than refused as an agent
the gateway could not stop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.auth.connection_keys import CONNECTION_KEY_PREFIX
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.script import secret_digests
from tests.security._power_support import (  # noqa: F401 - fixtures
    RecordingClis,
    StartRecording,
    acp_power,
    headers_mcp,
    local_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import start  # noqa: F401

pytestmark = pytest.mark.contract

OPERATORS_KEY = "sk-ant-test-key"  # what the offline set-up gives the gateway (and its children)


def secret(value: str) -> str:
    """The digest the scripted upstream keeps of a secret header's value."""
    return secret_digests({"x-api-key": value})["x-api-key"]


async def _bridge(gateway: GatewayRuntime, headers: dict[str, str]) -> tuple[int, Any]:
    body = {"model": "claude-acp-cli/sonnet", "messages": [{"role": "user", "content": "hi"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{gateway.base_url}/v1/chat/completions",
            json=body,
            headers={**headers, "X-Workspace": "web", "X-Caller": "bridge-lane"},
        ) as answer,
    ):
        return answer.status, await answer.json()


async def test_the_agent_bridge_and_tool_call_back_with_a_key_of_the_caller(
    acp_power: tuple[GatewayRuntime, RecordingClis, Path, dict[str, str]],  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway, clis, _, key = acp_power
    require("claude-acp")
    status, answer = await _bridge(gateway, key)
    assert status == 200, answer
    async with headers_mcp(gateway, key) as client:
        failed, body = await request(client, "claude-acp", workspace="web", prompt="hi")
    assert not failed, body
    runs = clis.runs("claude-acp")
    assert len(runs) == 2
    for spawn in runs:
        env = spawn.all_env
        assert env["ANTHROPIC_API_KEY"].startswith(CONNECTION_KEY_PREFIX), env
        assert env["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{gateway.http.port}"
        assert OPERATORS_KEY not in env.values()
    # The upstream saw the gateway's own key (the operator's, sent by the gateway), never the
    # agent's connection key.
    assert upstream.llm_requests
    assert {r.secrets.get("x-api-key") for r in upstream.llm_requests} == {secret(OPERATORS_KEY)}
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=40)
    calls = [r for r in rows if r["provider"] == "anthropic"]
    assert calls and {r["owner_principal"] for r in calls} == {"key:remote-editor"}
    assert "bridge-lane" in {r["caller"] for r in calls}
    # Each run's key was revoked when it ended.
    assert len(gateway.engine.auth.connection_keys) == 0
    used = runs[0].all_env["ANTHROPIC_API_KEY"]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{gateway.base_url}/v1/models", headers={"x-api-key": used}) as answer,
    ):
        assert answer.status == 401


async def test_a_hard_budget_serves_the_agent_whose_calls_it_holds(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("claude-acp")
    monkeypatch.setenv("IS_SANDBOX", "1")
    dollars = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
    gateway, clis = await start_recording(
        {"budgets": [dollars], "providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}}}
    )
    async with local_mcp(gateway) as client:
        failed, body = await request(
            client, "claude-acp", workingDir=str(tmp_path), prompt="hi", model="sonnet"
        )
    assert not failed, body
    assert len(clis.runs("claude-acp")) == 1
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=20)
    assert any(r["provider"] == "anthropic" and r["state"] == "completed" for r in rows), rows
