"""Finding 102 (issue 62, item 1): a page on another loopback port drove an agent over `/acp`.

WebSockets are not under CORS: a page served from any loopback port (a dev server previewing
untrusted content, a notebook's output, `python -m http.server` over a downloaded folder) could
open `ws://127.0.0.1:PORT/acp` with `Origin: http://localhost:8081`, get `101` with no
credential on an unlocked gateway (the browser's connection is the local user's), and drive an
agent in the home folder as the local user, answering its own permission requests. An upgrade is
a door like any other, and stricter: an `Origin` not listed in `http.allowed_origins` is refused
on every upgrade, loopback or not, before any credential is read. Beside it, the legitimate
path: an editor's ACP client sends no `Origin` and is served, and an origin the operator listed
is let in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
)

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_acp_agent.py"
HELLO = {"protocolVersion": 1, "clientInfo": {"name": "zed", "version": "1"}}
# What a page can be served from on this machine, and the opaque origin of a sandboxed frame.
LOOPBACK_PAGES = (
    "http://localhost:8081",
    "http://127.0.0.1:8888",
    "http://[::1]:3000",
    "null",
    "https://evil.example",
)
LISTED = "http://localhost:5173"


async def _launch_agent(launch: Launch, tmp_path: Path, **more: Any) -> GatewayRuntime:
    """An unlocked gateway (the default) running the stand-in agent as `opencode-acp`."""
    agent = {"command": sys.executable, "args": [str(FAKE), "answer"]}
    return await launch({"providers.acp": {"opencode-acp": agent}, **more})


async def _initialize(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    line = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}
    await socket.send_bytes(json.dumps(line).encode() + b"\n")
    message = await socket.receive(timeout=30)
    return dict(json.loads(message.data.splitlines()[0]))


async def test_a_loopback_page_cannot_open_the_acp_socket_an_editor_can(
    launch: Launch, tmp_path: Path
) -> None:
    gateway = await _launch_agent(launch, tmp_path)
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    async with aiohttp.ClientSession() as http:
        for origin in LOOPBACK_PAGES:
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await http.ws_connect(url, headers={"Origin": origin})
            assert caught.value.status == 403, (origin, caught.value)
        # The refusal says why, in the native envelope (a browser shows nothing of it anyway).
        async with http.get(
            url,
            headers={
                "Origin": "http://localhost:8081",
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        ) as refused:
            body = await refused.json()
        assert refused.status == 403 and body["error"]["code"] == "origin_not_allowed", body
        assert "http.allowed_origins" in body["error"]["message"]
        # An editor's ACP client sends no Origin: served, as the local user.
        async with http.ws_connect(url) as socket:
            answer = await _initialize(socket)
        assert answer["result"]["protocolVersion"] == 1, answer
    # No agent was started for the refused pages: only the editor's connection ran one.
    rows = await gateway.engine.recorder.recent(limit=10)
    assert [r for r in rows if r["provider"] == "opencode-acp"] == []


async def test_an_origin_the_operator_listed_may_open_the_socket(
    launch: Launch, tmp_path: Path
) -> None:
    gateway = await _launch_agent(launch, tmp_path, **{"http.allowed_origins": [LISTED]})
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, headers={"Origin": LISTED}) as socket:
            answer = await _initialize(socket)
        assert answer["result"]["protocolVersion"] == 1, answer
        # Listing one origin opens that one, not every loopback page.
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(url, headers={"Origin": "http://localhost:8081"})
        assert caught.value.status == 403
