"""An editor's `/acp` socket is authenticated when it opens, and lives as long as the editor
keeps it: a gateway key revoked since (here by the real `llmgw-desktop keys` command, in
another process) must stop its next turn as it stops the key's next HTTP request, and the
agent's connection key with it. Beside it, a rotated key's socket, whose secret is still in
its grace, keeps working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.child_python import run_ours
from tests.transports.acp.conftest import HELLO
from tests.transports.acp.test_acp_agent_remote import Editor

HI = [{"type": "text", "text": "hi"}]


async def _turn(editor: Editor, cwd: Path) -> dict[str, Any]:
    new = await editor.request("session/new", {"cwd": str(cwd), "mcpServers": []})
    session = new["result"]["sessionId"]
    return await editor.request("session/prompt", {"sessionId": session, "prompt": HI})


async def test_a_key_revoked_elsewhere_stops_its_open_editors_next_turn(
    locked_gateway: GatewayRuntime, tmp_path: Path
) -> None:
    gateway = locked_gateway
    made = await gateway.engine.keys.create(OPERATOR, KeySpec(name="editor"))
    kept = await gateway.engine.keys.create(OPERATOR, KeySpec(name="kept"))
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    shared = tmp_path / "shared"
    async with aiohttp.ClientSession() as http:
        revoked_ws = await http.ws_connect(url, headers={"Authorization": f"Bearer {made.secret}"})
        kept_ws = await http.ws_connect(url, headers={"Authorization": f"Bearer {kept.secret}"})
        try:
            doomed, rotated = Editor(revoked_ws), Editor(kept_ws)
            for editor in (doomed, rotated):
                await editor.request("initialize", HELLO)
                assert (await _turn(editor, shared))["result"]["stopReason"] == "end_turn"
            code, out, err = await run_ours("keys", "revoke", "editor")
            assert code == 0, (out, err)
            await gateway.engine.keys.rotate(OPERATOR, "kept", grace_s=3600)

            refused = await _turn(doomed, shared)
            assert refused["error"]["data"]["code"] == "key_revoked", refused
            # Its connection key proves nothing either: the agent's callbacks stop with it.
            assert len(gateway.engine.auth.connection_keys) == 1
            # The rotated key's old secret, in its grace, still opens turns.
            assert (await _turn(rotated, shared))["result"]["stopReason"] == "end_turn"
        finally:
            await revoked_ws.close()
            await kept_ws.close()
    # And the revoked secret is refused on the HTTP door, as before.
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(
            base_url=gateway.base_url + "/v1", api_key=made.secret, max_retries=0
        ).models.list()
    rows = await gateway.engine.recorder.recent(limit=10)
    turns = sorted(r["owner_principal"] for r in rows if r["provider"] == "opencode-acp")
    assert turns == ["key:editor", "key:kept", "key:kept"]
