"""The `/acp` socket for callers other than the local user: a gateway key's editor gets no more
power than its workspace grants, side by side with the local user's editor; a browser page
cannot open the socket; an unknown agent is refused with its name. The agent is the stand-in
(`tests/fakes/fake_acp_agent.py`, `permission`: it asks to run `rm -rf build`) in place of the
shipped `opencode-acp`, whose row of the confinement table a remote caller's run is held to."""

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

FAKE = Path(__file__).resolve().parents[2] / "fakes" / "fake_acp_agent.py"
TOKEN = "operator-token-0123456789-abcdefghijkl"


class Editor:
    """A bare ACP editor on the socket: it records what the agent side asked of it."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.asked: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self._id = 0

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        wanted = self._id
        line = {"jsonrpc": "2.0", "id": wanted, "method": method, "params": params}
        await self.socket.send_bytes(json.dumps(line).encode() + b"\n")
        while True:
            message = await self.socket.receive(timeout=60)
            for raw in message.data.splitlines():
                got = json.loads(raw)
                if got.get("method") == "session/request_permission":
                    self.asked.append(got["params"])
                    answer = {"outcome": {"outcome": "selected", "optionId": "yes"}}
                    reply = {"jsonrpc": "2.0", "id": got["id"], "result": answer}
                    await self.socket.send_bytes(json.dumps(reply).encode() + b"\n")
                elif got.get("method") == "session/update":
                    self.updates.append(got["params"]["update"])
                elif got.get("id") == wanted:
                    return dict(got)

    def said(self) -> str:
        return "".join(
            u["content"]["text"]
            for u in self.updates
            if u["sessionUpdate"] == "agent_message_chunk"
        )


async def _turn(editor: Editor, cwd: Path) -> dict[str, Any]:
    await editor.request(
        "initialize", {"protocolVersion": 1, "clientInfo": {"name": "zed", "version": "1"}}
    )
    new = await editor.request("session/new", {"cwd": str(cwd), "mcpServers": []})
    session = new["result"]["sessionId"]
    prompt = [{"type": "text", "text": "clean the build"}]
    return await editor.request("session/prompt", {"sessionId": session, "prompt": prompt})


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> Any:
    workspace = tmp_path / "shared"
    workspace.mkdir()
    agent = {"command": sys.executable, "args": [str(FAKE), "permission"]}
    async with gateway_starter(loaded) as start:
        yield await start(
            {
                "providers.acp": {"opencode-acp": agent},
                "workspaces.registry": {"shared": str(workspace)},
                "http.auth_token": TOKEN,
                "providers.retry_attempts": 1,
            }
        )


async def test_a_keys_editor_is_held_to_its_workspace_and_may_only_look(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="editor"))
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    remote = {"Authorization": f"Bearer {key.secret}"}
    local = {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, headers=remote) as socket:
            refused = await _turn(Editor(socket), outside)
        assert refused["error"]["code"] == -32000
        assert refused["error"]["data"]["code"] == "workspace_required", refused
        async with http.ws_connect(url, headers=remote) as socket:
            editor = Editor(socket)
            answered = await _turn(editor, tmp_path / "shared")
        # Refused before anyone was asked: a remote call's agent may only look.
        assert answered["result"]["stopReason"] == "end_turn"
        assert editor.asked == [] and editor.said() == "rejected:no"
        async with http.ws_connect(url, headers=local) as socket:
            editor = Editor(socket)
            answered = await _turn(editor, outside)
        # The local user's editor is asked, and its answer counts.
        assert [a["toolCall"]["title"] for a in editor.asked] == ["rm -rf build"]
        assert editor.said() == "allowed:yes"
    rows = await gateway.engine.recorder.recent(limit=10)
    turns = [(r["owner_principal"], r["state"]) for r in rows if r["provider"] == "opencode-acp"]
    assert sorted(turns) == [("key:editor", "completed"), ("local", "completed")]


async def test_a_browser_page_cannot_open_the_socket_and_an_unknown_agent_is_named(
    gateway: GatewayRuntime,
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(
                f"{gateway.base_url}/acp?agent=opencode-acp",
                headers={**headers, "Origin": "https://evil.example"},
            )
        assert caught.value.status == 403
        async with http.get(f"{gateway.base_url}/acp?agent=nobody", headers=headers) as answer:
            body = await answer.json()
        assert answer.status == 404 and body["error"]["code"] == "unknown_provider"
        assert "'nobody'" in body["error"]["message"]


async def test_the_editor_switches_agent_and_model_inside_a_session(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    agents = {
        name: {"command": sys.executable, "args": [str(FAKE), "answer"], "models": ["m1", "m2"]}
        for name in ("first", "second")
    }
    async with gateway_starter(loaded) as start:
        gateway = await start({"providers.acp": agents, "providers.retry_attempts": 1})
        local = {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token}
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{gateway.base_url}/acp?agent=first", headers=local) as socket,
        ):
            editor = Editor(socket)
            await editor.request(
                "initialize", {"protocolVersion": 1, "clientInfo": {"name": "zed", "version": "1"}}
            )
            new = await editor.request("session/new", {"cwd": str(tmp_path), "mcpServers": []})
            session = new["result"]["sessionId"]
            options = {o["id"]: o for o in new["result"]["configOptions"]}
            assert [v["value"] for v in options["model"]["options"]] == ["default", "m1", "m2"]
            assert "second" in {v["value"] for v in options["agent"]["options"]}
            for config, value in (("agent", "second"), ("model", "m2")):
                changed = await editor.request(
                    "session/set_config_option",
                    {"sessionId": session, "configId": config, "value": value},
                )
                now = {o["id"]: o["currentValue"] for o in changed["result"]["configOptions"]}
                assert now[config] == value
            prompt = [{"type": "text", "text": "hi"}]
            answered = await editor.request(
                "session/prompt", {"sessionId": session, "prompt": prompt}
            )
            assert answered["result"]["stopReason"] == "end_turn"
            bad = await editor.request(
                "session/set_config_option",
                {"sessionId": session, "configId": "agent", "value": "nobody"},
            )
            assert bad["error"]["code"] == -32602
        rows = await gateway.engine.recorder.recent(limit=5)
    # The stand-in offers no model choice over ACP: the model goes with the call, unapplied.
    assert rows[0]["provider"] == "second" and rows[0]["caller"] == "zed", rows


async def test_a_keys_turns_on_one_socket_are_held_to_its_rate_limit(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    """Each turn after the first is a request of the key's rate, as each HTTP request is: a key
    limited to two a minute opened one socket and ran eight turns on it (red team,
    2026-11-29). The socket's opening is the first turn's request; a turn over the limit is
    refused and the connection stays. Beside it, the same key's HTTP request is refused alike."""
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="slow", per_minute=2))
    remote = {"Authorization": f"Bearer {key.secret}"}
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    shared = str(tmp_path / "shared")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, headers=remote) as socket:
            editor = Editor(socket)
            ended = [(await _turn(editor, tmp_path / "shared"))["result"]["stopReason"]]
            for _ in range(2):
                new = await editor.request("session/new", {"cwd": shared, "mcpServers": []})
                prompt = [{"type": "text", "text": "again"}]
                params = {"sessionId": new["result"]["sessionId"], "prompt": prompt}
                answer = await editor.request("session/prompt", params)
                ended.append(answer.get("result", {}).get("stopReason") or answer["error"])
            assert ended[:2] == ["end_turn", "end_turn"], ended
            refused = ended[2]
            assert isinstance(refused, dict) and refused["data"]["code"] == "rate_limited"
            assert refused["data"]["details"]["retry_after_s"] >= 1, refused
            # The connection stays: the editor may go on once the wait is over.
            assert "result" in await editor.request(
                "session/new", {"cwd": shared, "mcpServers": []}
            )
        async with http.get(gateway.base_url + "/v1/models", headers=remote) as answer:
            assert answer.status == 429
