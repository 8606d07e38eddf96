"""Editor sessions on the `/acp` socket are their principal's: another caller who learns a
session's id cannot replay it with `session/load` (the prompts, the agent's answers and tool
calls), prompt into it or switch its agent (nor cancel its turn: the same lookup); it is "not
found", as another principal's row is everywhere else. Each principal also has its own share
of the sessions a process remembers, so one caller opening many cannot push another's out."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.acp.front_sessions import MAX_SESSIONS
from tests.transports.acp.conftest import HELLO
from tests.transports.acp.test_acp_agent_remote import Editor

NOT_FOUND = -32002  # ACP's resource_not_found


async def _alices_session(gateway: GatewayRuntime, http: aiohttp.ClientSession, cwd: Path) -> str:
    """Alice's editor runs a turn in the shared workspace; the session's id."""
    alice = await gateway.engine.keys.create(OPERATOR, KeySpec(name="alice"))
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    async with http.ws_connect(url, headers={"Authorization": f"Bearer {alice.secret}"}) as ws:
        editor = Editor(ws)
        await editor.request("initialize", HELLO)
        new = await editor.request("session/new", {"cwd": str(cwd), "mcpServers": []})
        session = str(new["result"]["sessionId"])
        prompt = [{"type": "text", "text": "the password of the staging db is in .env"}]
        answered = await editor.request("session/prompt", {"sessionId": session, "prompt": prompt})
        assert answered["result"]["stopReason"] == "end_turn", answered
    return session


async def _connect(gateway: GatewayRuntime, http: aiohttp.ClientSession, name: str) -> Editor:
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name=name))
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    ws = await http.ws_connect(url, headers={"Authorization": f"Bearer {key.secret}"})
    editor = Editor(ws)
    await editor.request("initialize", HELLO)
    return editor


async def test_another_principal_cannot_load_prompt_into_or_switch_a_session(
    locked_gateway: GatewayRuntime, tmp_path: Path
) -> None:
    gateway = locked_gateway
    async with aiohttp.ClientSession() as http:
        session = await _alices_session(gateway, http, tmp_path / "shared")
        bob = await _connect(gateway, http, "bob")
        try:
            loaded = await bob.request(
                "session/load", {"sessionId": session, "cwd": str(tmp_path), "mcpServers": []}
            )
            assert loaded.get("error", {}).get("code") == NOT_FOUND, loaded
            assert bob.updates == []  # nothing of Alice's conversation was replayed
            prompt = [{"type": "text", "text": "what did I ask you?"}]
            prompted = await bob.request("session/prompt", {"sessionId": session, "prompt": prompt})
            assert prompted.get("error", {}).get("code") == NOT_FOUND, prompted
            switched = await bob.request(
                "session/set_config_option",
                {"sessionId": session, "configId": "model", "value": "default"},
            )
            assert switched.get("error", {}).get("code") == NOT_FOUND, switched
        finally:
            await bob.socket.close()
        # Alice herself, on a new connection, loads it back.
        alice = await gateway.engine.keys.rotate(OPERATOR, "alice")
        url = f"{gateway.base_url}/acp?agent=opencode-acp"
        async with http.ws_connect(url, headers={"Authorization": f"Bearer {alice.secret}"}) as ws:
            editor = Editor(ws)
            await editor.request("initialize", HELLO)
            loaded = await editor.request(
                "session/load", {"sessionId": session, "cwd": str(tmp_path), "mcpServers": []}
            )
        assert "result" in loaded, loaded
        assert any(u["sessionUpdate"] == "user_message_chunk" for u in editor.updates)


async def test_one_principals_many_sessions_do_not_push_out_anothers(
    locked_gateway: GatewayRuntime, tmp_path: Path
) -> None:
    gateway = locked_gateway
    async with aiohttp.ClientSession() as http:
        session = await _alices_session(gateway, http, tmp_path / "shared")
        mallory = await _connect(gateway, http, "mallory")
        try:
            for _ in range(MAX_SESSIONS + 5):
                await mallory.request("session/new", {"cwd": str(tmp_path), "mcpServers": []})
        finally:
            await mallory.socket.close()
        alice = await gateway.engine.keys.rotate(OPERATOR, "alice")
        url = f"{gateway.base_url}/acp?agent=opencode-acp"
        async with http.ws_connect(url, headers={"Authorization": f"Bearer {alice.secret}"}) as ws:
            editor = Editor(ws)
            await editor.request("initialize", HELLO)
            loaded = await editor.request(
                "session/load", {"sessionId": session, "cwd": str(tmp_path), "mcpServers": []}
            )
        assert "result" in loaded, loaded
