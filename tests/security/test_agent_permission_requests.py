"""An agent's permission requests are decided by the caller's grant, not by the caller's editor
(SECURITY finding 87).

A gateway key holder's editor answers "allow" to everything its agent asks. The agent is the
scriptable stand-in (`tests/fakes/fake_acp_agent.py`, `ask-each`) in place of the shipped
`opencode-acp`, so what the gateway answers is exact: reading the gateway's own vault key by
its path, through a symlink in the workspace, through `..`, a read that names no path, and a
fetch of a loopback-only service are refused before the editor is asked; a read inside the
workspace and a thought are allowed, the read asked of the editor, which may still refuse. The
local user's editor is asked everything, as before. The same holds on the MCP door, where no
editor is there to ask (the grant alone decides).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.mcp_wire import mcp_session
from tests.transports.acp.test_acp_agent_remote import FAKE, TOKEN, Editor, _turn

AGENT = "opencode-acp"


def _battery(data: Path, work: Path, port: int) -> list[dict[str, Any]]:
    """What a prompted agent asks to do: the first five are the attack, the rest legitimate."""
    vault, linked = str(data / "vault.key"), str(work / "lnk" / "vault.key")
    climbed = f"../../{data.name}/vault.key"
    return [
        {"title": "read vault", "kind": "read", "locations": [{"path": vault}]},
        {"title": "read link", "kind": "read", "rawInput": {"file_path": linked}},
        {"title": "read dots", "kind": "read", "rawInput": {"path": climbed}},
        {"title": "read nothing", "kind": "read", "rawInput": {}},
        {"title": "fetch", "kind": "fetch", "rawInput": {"url": f"http://127.0.0.1:{port}/health"}},
        {"title": "read notes", "kind": "read", "locations": [{"path": str(work / "notes.md")}]},
        {"title": "think", "kind": "think", "rawInput": {}},
    ]


REFUSED = "read vault=rejected; read link=rejected; read dots=rejected; read nothing=rejected; "


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> Any:
    """A locked gateway whose `docs` workspace lets remote callers read only; the stand-in
    agent's battery is written once the data dir (and the port) are known."""
    work = tmp_path / "a" / "docs"
    work.mkdir(parents=True)
    (work / "notes.md").write_text("notes")
    battery = tmp_path / "battery.json"
    battery.write_text("[]")
    agent = {
        "command": sys.executable,
        "args": ["-c", _READ_BATTERY, str(FAKE), str(battery)],
    }
    async with gateway_starter(loaded) as start:
        runtime = await start(
            {
                "providers.acp": {AGENT: agent},
                "workspaces.registry": {"docs": {"path": str(work), "remote_level": "read-only"}},
                "http.auth_token": TOKEN,
                "providers.retry_attempts": 1,
            }
        )
        data = runtime.settings.data_path
        (work / "lnk").symlink_to(data, target_is_directory=True)
        calls = _battery(data, work, runtime.http.port)
        battery.write_text(json.dumps(calls))
        yield runtime, work


# The stand-in reads its battery from a file: the data dir and port are known only once the
# gateway runs, after its command line is fixed.
_READ_BATTERY = (
    "import runpy, sys; fake, battery = sys.argv[1], sys.argv[2]; "
    "sys.argv = [fake, 'ask-each', open(battery).read()]; runpy.run_path(fake, run_name='__main__')"
)


async def test_a_keys_editor_cannot_approve_reads_outside_or_fetches(
    gateway: tuple[GatewayRuntime, Path],
) -> None:
    runtime, work = gateway
    key = await runtime.engine.keys.create(OPERATOR, KeySpec(name="reader"))
    url = f"{runtime.base_url}/acp?agent={AGENT}"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, headers={"Authorization": f"Bearer {key.secret}"}) as ws:
            editor = Editor(ws)
            answered = await _turn(editor, work)
        assert answered["result"]["stopReason"] == "end_turn", answered
        # Only what the grant allows reached the editor (which allowed it).
        assert [a["toolCall"]["title"] for a in editor.asked] == ["read notes", "think"]
        assert editor.said() == REFUSED + "fetch=rejected; read notes=allowed; think=allowed"
        local = {INSTANCE_TOKEN_HEADER: runtime.engine.auth.instance_token}
        async with http.ws_connect(url, headers=local) as ws:
            editor = Editor(ws)
            await _turn(editor, work)
    # The local user's own editor decides everything its agent asks, as before.
    assert len(editor.asked) == 7 and "rejected" not in editor.said()


async def test_on_the_mcp_door_the_grant_alone_decides(
    gateway: tuple[GatewayRuntime, Path],
) -> None:
    runtime, _ = gateway
    key = await runtime.engine.keys.create(OPERATOR, KeySpec(name="reader"))
    headers = {"Authorization": f"Bearer {key.secret}"}
    async with mcp_session(runtime.mcp_url, headers=headers, timeout=60) as client:
        result = await client.call_tool(
            f"{AGENT}_request", {"prompt": "look around", "workspace": "docs"}
        )
    body = result.structured_content
    assert body is not None and not result.is_error, body
    assert body["text"] == REFUSED + "fetch=rejected; read notes=allowed; think=allowed"
    warnings = " ".join(w["message"] for w in body["warnings"])
    assert "vault.key is outside the workspace" in warnings
    assert "names no path" in warnings and "does not let this caller fetch" in warnings
