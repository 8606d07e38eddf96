"""`llmgw-desktop acp --model` driven by an editor written with the official TypeScript ACP SDK
(`@agentclientprotocol/sdk`, pinned in `.ci/acp-agents`), relaying to a running gateway whose
upstream is the scripted fake: initialize, a new session, a prompt whose answer streams, a
prompt cancelled mid-turn, `session/load`, an unknown session; each turn a recorder row named
after the editor's `clientInfo`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from llmgw_desktop.engine.api import RecorderFilters
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.child_python import run_ours
from tests.clients.harness import run_program
from tests.clients.node import find_node
from tests.contract.offline import REQUIRE_CLIS, ROOT
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    gateway,
    provider_env,
    start_gateway,
)

SCRIPT = Path(__file__).with_name("acp_editor.mjs")
SDK = ROOT / ".acp-agents" / "node_modules" / "@agentclientprotocol" / "sdk"
SDK_ENTRY = SDK / "dist" / "v1" / "stable" / "acp.js"


def _sdk() -> str:
    if not SDK_ENTRY.is_file():
        message = "@agentclientprotocol/sdk not installed: .ci/run installs it into .acp-agents/"
        if REQUIRE_CLIS:
            pytest.fail(message)
        pytest.skip(message)
    return str(SDK_ENTRY)


async def test_typescript_sdk_editor_streams_cancels_and_loads_through_the_gateway(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    sdk = _sdk()
    node = find_node("zod")  # Node 22, as the other Node clients use
    upstream.script(Reply.ok("Hello from the model"), Reply.slow(20))
    code, stdout, stderr = await run_program(
        (node, str(SCRIPT), sys.executable, "gpt-4o-mini", sdk),
        env=dict(os.environ),
        cwd=tmp_path,
        timeout_s=90,
    )
    assert code == 0, f"{stdout}\n{stderr}"
    out = json.loads(stdout.strip().splitlines()[-1])
    assert "error" not in out, out
    assert out["initialize"]["protocolVersion"] == 1
    assert out["initialize"]["agentInfo"]["name"] == "llmgw-desktop"
    assert out["initialize"]["agentCapabilities"]["loadSession"] is True
    options = out["session"]["configOptions"]
    assert options[0]["id"] == "model" and options[0]["currentValue"] == "gpt-4o-mini"
    assert out["first"]["stopReason"] == "end_turn"
    assert "".join(out["firstChunks"]).startswith("Hello from the model")
    assert out["cancelled"]["stopReason"] == "cancelled"
    assert out["replayed"][:2] == ["user_message_chunk", "agent_message_chunk"]
    assert out["unknownSession"]["code"] == -32002
    assert out["exitCode"] == 0
    # Each turn went through the gateway's front door as the editor's own agent.
    await gateway.engine.recorder.flush()
    page = await gateway.engine.recorder_query.page(RecorderFilters())
    callers = {row.caller for row in page.rows}
    assert "zed" in callers, page.rows


async def test_malformed_json_rpc_gets_a_json_rpc_error_and_the_agent_goes_on(
    gateway: GatewayRuntime,  # noqa: F811
    tmp_path: Path,
) -> None:
    lines = [
        "this is not json",
        '{"id": 7, "method": "initialize"}',
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": 1, "clientInfo": {"name": "nvim", "version": "1"}},
            }
        ),
    ]
    code, out, err = await run_ours(
        "acp", "--model", "gpt-4o-mini", stdin=("\n".join(lines) + "\n").encode(), cwd=tmp_path
    )
    assert code == 0, err
    answers = [json.loads(line) for line in out.decode().splitlines()]
    assert answers[0] == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": answers[0]["error"]["message"]},
    }
    assert "not JSON" in answers[0]["error"]["message"]
    assert answers[1]["id"] == 7 and answers[1]["error"]["code"] == -32600
    assert answers[2]["id"] == 1 and answers[2]["result"]["protocolVersion"] == 1
