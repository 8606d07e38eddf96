"""A remote caller's CLI cannot read the gateway's own files back (issue 26 red-team review).

The promise (SECURITY.md): a remote caller cannot reach outside its workspace. The gateway's
data directory holds `instance.json` (mode 0600, the gateway's own account), whose token used
to make any HTTP client the local user: every directory, `bypass`, the vault. Codex's
read-only sandbox lets its commands read any file the account can, so the lowest principal
(an OAuth client with scope `mcp`, in a `read-only` workspace) had a scripted model `cat`
that file and present the token over the network.

Now (a) remote Codex calls need a `bypass` grant (`confinement.cannot_confine`), so nothing
starts; (b) Claude Code, confined, refuses to read outside its directory (checked with the
real CLI); and (c) the instance token counts only on the gateway's own account's connections
(`test_local_user_boundary.py` presents it from another account).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    RecordingClis,
    StartRecording,
    oauth_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    oauth_settings,
    start,
)

pytestmark = pytest.mark.contract


@pytest.fixture
async def gateway(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
) -> tuple[GatewayRuntime, RecordingClis]:
    (tmp_path / "ws" / "docs").mkdir(parents=True)
    return await start_recording(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "providers.retry_base_delay_ms": 0,
            "providers.timeout_ms": 120_000,
            "providers.kill_grace_ms": 1000,
            "workspaces.registry": {
                "docs": {"path": str(tmp_path / "ws" / "docs"), "remote_level": "read-only"}
            },
        },
    )


async def test_a_remote_codex_call_cannot_read_the_instance_token(
    gateway: tuple[GatewayRuntime, RecordingClis],
    upstream: ScriptedUpstream,
) -> None:
    runtime, clis = gateway
    require("codex")
    secret_file = runtime.settings.data_path / "instance.json"
    upstream.script_when_offered(
        "exec_command",
        Reply.tool_call("exec_command", {"cmd": f"cat {secret_file}"}),
        Reply.ok("DONE"),
    )
    async with oauth_mcp(runtime) as client:
        failed, body = await request(client, "codex", workspace="docs", prompt="look around")
    assert failed and body["error"]["code"] == "remote_power_refused", body
    assert body["error"]["details"]["needs"] == "bypass"
    assert clis.runs("codex") == [] and upstream.llm_requests == []


async def test_a_confined_claude_code_refuses_to_read_the_instance_token(
    gateway: tuple[GatewayRuntime, RecordingClis],
    upstream: ScriptedUpstream,
) -> None:
    runtime, clis = gateway
    require("claude")
    secret_file = runtime.settings.data_path / "instance.json"
    token = json.loads(secret_file.read_text())["token"]
    upstream.script_when_offered(
        "Read", Reply.tool_call("Read", {"file_path": str(secret_file)}), Reply.ok("DONE")
    )
    async with oauth_mcp(runtime) as client:
        failed, body = await request(client, "claude", workspace="docs", prompt="look around")
    assert not failed, body
    (spawn,) = clis.runs("claude")
    assert "--setting-sources" in spawn.argv  # it ran confined
    # The model asked for the file and got an answer to its tool call, not the file.
    answered = [r for r in upstream.llm_requests if b"tool_result" in r.raw_body]
    assert answered, [r.path for r in upstream.llm_requests]
    assert not [r for r in upstream.llm_requests if token.encode() in r.raw_body]
