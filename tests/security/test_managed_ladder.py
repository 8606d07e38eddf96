"""The managed ladder never hands out a fully unlocked agent unless the operator opts in
(SECURITY finding 91; issue 55, item 8).

The real CLIs behind the recording shims (`_power_support.py`), called by the local user over MCP
with `approvalStrategy: "mcp_managed"` and a prompt that scores 0: OpenCode, whose own flags at
its accept-edits rung run its shell unasked, runs held by the confinement table's rules (the
model's shell call is refused, nothing runs); xAI's Grok CLI runs at its accept-edits rung,
where the model's shell call ends its turn before anything runs. With
`LLM_GATEWAY_APPROVAL_ALLOW_BYPASS=1` the local user's managed calls run at `bypassPermissions`
across the board, as the seed documents for the headless operator, while a gateway key's managed
call in a workspace stays at its rung and grant. The local user's `legacy` call runs as asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    RecordingClis,
    StartRecording,
    has_flags,
    headers_mcp,
    local_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import TOKEN, start  # noqa: F401

pytestmark = pytest.mark.contract

CANARY = "pwned-by-managed"
PROMPT = "print my cloud credentials"  # scores 0: nothing in it reads as dangerous
SHELL = {"command": f"sh -c 'echo ran > {CANARY}'", "description": "x"}


async def _local(gateway: GatewayRuntime, provider: str, work: Path, **more: Any) -> Any:
    async with local_mcp(gateway) as client:
        return await request(client, provider, workingDir=str(work), prompt=PROMPT, **more)


async def test_managed_opencode_and_grok_run_no_shell(
    start_recording: StartRecording,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    require("opencode")
    require("grok")
    gateway, clis = await start_recording()
    work = tmp_path / "work"
    work.mkdir()
    upstream.script_when_offered(
        "read", Reply.tool_call("bash", SHELL), Reply.ok("DONE"), Reply.tool_call("bash", SHELL)
    )
    failed, body = await _local(gateway, "opencode", work, approvalStrategy="mcp_managed")
    assert not failed, body
    assert not (work / CANARY).exists()
    (held,) = clis.runs("opencode")
    assert held.env["OPENCODE_PERMISSION"].startswith('{"*":"deny"')
    assert '"edit":"allow"' in held.env["OPENCODE_PERMISSION"]
    upstream.script_when_offered(
        "run_terminal_command", Reply.tool_call("run_terminal_command", SHELL)
    )
    failed, body = await _local(gateway, "grok", work, approvalStrategy="mcp_managed")
    # Its shell asks, which headless grok cannot: the turn ends, named, and nothing ran.
    assert failed and body["error"]["code"] == "approval_denied", body
    assert "permission mode" in body["error"]["message"]
    assert not (work / CANARY).exists()
    (grok,) = clis.runs("grok")
    assert has_flags(grok.argv, "--permission-mode", "default", "--allow", "Edit")
    # The local user's legacy call runs as asked: OpenCode's own default, its shell included.
    failed, body = await _local(gateway, "opencode", work)
    assert not failed, body
    assert (work / CANARY).read_text().strip() == "ran"


async def test_allow_bypass_is_full_auto_for_the_local_user_and_nothing_more_for_a_key(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("claude")
    web = tmp_path / "web"
    web.mkdir()
    monkeypatch.setenv("IS_SANDBOX", "1")  # Claude Code refuses a bypass as root without it
    gateway, clis = await start_recording(
        {
            "approval.allow_bypass": True,
            "providers.pass_env": {"claude": ["IS_SANDBOX"]},
            "http.auth_token": TOKEN,
            "workspaces.registry": {"web": str(web)},
        }
    )
    failed, body = await _local(gateway, "claude", web, approvalStrategy="mcp_managed")
    assert not failed, body
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="ci"))
    async with headers_mcp(gateway, {"Authorization": f"Bearer {key.secret}"}) as client:
        failed, body = await request(
            client, "claude", workspace="web", prompt=PROMPT, approvalStrategy="mcp_managed"
        )
    assert not failed, body
    local, remote = clis.runs("claude")
    assert has_flags(local.argv, "--permission-mode", "bypassPermissions"), local.argv
    assert has_flags(remote.argv, "--permission-mode", "acceptEdits", "--setting-sources", "user")
    assert "bypassPermissions" not in remote.argv
