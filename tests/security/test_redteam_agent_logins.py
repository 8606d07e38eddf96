"""Red team of finding 90 (SECURITY finding 94): an agent the gateway points back at itself takes
its login from the operator's own settings first.

The gateway counts a routed agent's job at nothing (its model calls are rows of their own) and
lets it run under a hard budget (each call held). But Claude Code applies its user settings'
`env` over the environment it was started with (what `llmgw-desktop connect claude-code
--write` puts there: the gateway's address and the operator's token), and Gemini CLI and Qwen
Code take the login their user settings select (a Google or Qwen account sign-in writes it).
Measured with the real agents, a gateway key with a hard budget ran each: Claude Code's model
calls came to the gateway as the operator, Gemini CLI reached for Google with the operator's
sign-in and Qwen Code for portal.qwen.ai with the operator's: nothing counted on the key's
budget. Such an agent is now not routed: under a hard budget it is refused, naming the
settings, and beside it the same key's agent with settings that leave the route alone is served.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.upstream import ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    StartRecording,
    headers_mcp,
    request,
    require,
    start_recording,
)
from tests.transports.auth.conftest import TOKEN, start  # noqa: F401

pytestmark = pytest.mark.contract

# A hard budget the agents' models need no price for.
TOKENS = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}


class ConnectRecorder:
    """An HTTPS proxy on loopback that writes down where each CONNECT was for, and refuses it:
    where an agent's model calls would have left the machine."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            self.targets.append(head.split(b" ", 2)[1].decode())
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        self._server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()


def _sign_in(access: str) -> str:
    """A vendor's cached sign-in (Google's and Qwen's share the shape)."""
    expires = int(time.time() * 1000) + 3_600_000
    return json.dumps(
        {
            "access_token": access,
            "refresh_token": "operators-refresh",
            "token_type": "Bearer",
            "resource_url": "portal.qwen.ai",
            "expiry_date": expires,
        }
    )


async def _gateway(
    start_recording: StartRecording,  # noqa: F811
    web: Path,
    extra: Mapping[str, Any] | None = None,
) -> tuple[GatewayRuntime, dict[str, str]]:
    gateway, _ = await start_recording(
        {
            "http.auth_token": TOKEN,
            "providers.timeout_ms": 60_000,
            "providers.kill_grace_ms": 1000,
            "budgets": [TOKENS],
            "workspaces.registry": {"docs": {"path": str(web), "remote_level": "read-only"}},
            **(extra or {}),
        }
    )
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="reader"))
    return gateway, {"Authorization": f"Bearer {key.secret}"}


async def _ask(gateway: GatewayRuntime, headers: dict[str, str], agent: str) -> dict[str, Any]:
    async with headers_mcp(gateway, headers) as client:
        failed, body = await request(client, agent, workspace="docs", prompt="hi")
    return {"failed": failed, **body}


def _refused_naming(body: dict[str, Any], settings: str) -> None:
    assert body["failed"] and body["error"]["code"] == "budget_exceeded", body
    assert "would not come back through the gateway" in body["error"]["message"], body
    assert settings in body["error"]["message"], body


async def test_claude_over_acp_with_the_connect_commands_settings(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("claude-acp")
    web = tmp_path / "ws" / "docs"
    web.mkdir(parents=True)
    monkeypatch.setenv("IS_SANDBOX", "1")
    extra = {"providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}}}
    gateway, key = await _gateway(start_recording, web, extra)
    # Without such settings the key's agent is served, its model calls rows of the key's.
    served = await _ask(gateway, key, "claude-acp")
    assert not served["failed"], served
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=20)
    assert any(r["provider"] == "anthropic" and r["owner_principal"] == "key:reader" for r in rows)
    # What `llmgw-desktop connect claude-code --write` puts in the operator's settings.
    settings = offline / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    env = {"ANTHROPIC_BASE_URL": gateway.base_url, "ANTHROPIC_API_KEY": TOKEN}
    settings.write_text(json.dumps({"env": env}))
    _refused_naming(await _ask(gateway, key, "claude-acp"), str(settings))


@pytest.mark.parametrize(
    ("agent", "folder", "login"),
    [("gemini-acp", ".gemini", "oauth-personal"), ("qwen", ".qwen", "qwen-oauth")],
)
async def test_gemini_and_qwen_over_acp_with_the_operators_sign_in(
    start_recording: StartRecording,  # noqa: F811
    offline: Path,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    agent: str,
    folder: str,
    login: str,
) -> None:
    require(agent)
    web = tmp_path / "ws" / "docs"
    web.mkdir(parents=True)
    monkeypatch.setenv("GEMINI_CLI_TRUST_WORKSPACE", "true")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-5.4")
    settings = offline / folder / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": login}}}))
    (offline / folder / "oauth_creds.json").write_text(_sign_in("OPERATORS-SIGN-IN"))
    recorder = ConnectRecorder()
    async with recorder as proxy:
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy)
        gateway, key = await _gateway(start_recording, web)
        body = await _ask(gateway, key, agent)
    _refused_naming(body, str(settings))
    # Nothing left for the vendor with the operator's sign-in.
    assert not any("google" in t or "qwen" in t for t in recorder.targets), recorder.targets
