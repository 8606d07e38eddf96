"""Red team of finding 87 with the real agents (SECURITY finding 93): the grant's check must read
a path and a web address as the agent that touches them does.

A gateway key whose one workspace lets remote callers read only. Claude Code over ACP
(claude-agent-acp) trims a path before it reads it (`expandPath`: `path.trim()`), so
`" /abs/vault.key"` is the vault key to the agent, and was a relative name inside the workspace
to a check that did not trim: the key holder's editor (which allows everything) was asked, and
the vault key reached the model. Qwen Code's `web_fetch` parses an address as WHATWG does, so
`http://127.0.0.1:PORT\\@8.8.8.8/` is loopback to it, where `urlsplit` read the public 8.8.8.8:
a key the operator lets fetch had the agent fetch a loopback-only service. Each attack beside
the legitimate request of the same turn.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import offline  # noqa: F401
from tests.fakes.loopback import LoopbackApp
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security._power_support import (  # noqa: F401 - fixtures
    StartRecording,
    headers_mcp,
    request,
    require,
    start_recording,
)
from tests.security.test_remote_acp_agents import _editor_turn
from tests.transports.auth.conftest import TOKEN, start  # noqa: F401

pytestmark = pytest.mark.contract


@pytest.fixture
async def reader(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[GatewayRuntime, Path, dict[str, str]]:
    """A locked gateway whose one workspace lets remote callers read only, and the narrowest
    key's headers."""
    web = tmp_path / "ws" / "docs"
    web.mkdir(parents=True)
    (web / "notes.md").write_text("NOTES-INSIDE-THE-WORKSPACE")
    monkeypatch.setenv("IS_SANDBOX", "1")
    gateway, _ = await start_recording(
        {
            "http.auth_token": TOKEN,
            "providers.timeout_ms": 120_000,
            "providers.kill_grace_ms": 1000,
            "providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}},
            "workspaces.registry": {"docs": {"path": str(web), "remote_level": "read-only"}},
        }
    )
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="reader"))
    return gateway, web, {"Authorization": f"Bearer {key.secret}"}


@pytest.mark.parametrize("pad", [" ", "\t", "\n", "\ufeff"])
async def test_claude_over_acp_cannot_read_the_vault_key_by_a_padded_path(
    reader: tuple[GatewayRuntime, Path, dict[str, str]],
    upstream: ScriptedUpstream,
    pad: str,
) -> None:
    gateway, web, key = reader
    require("claude-acp")
    vault = gateway.settings.data_path / "vault.key"
    upstream.script_when_offered(
        "Read",
        Reply.tool_call("Read", {"file_path": pad + str(vault)}),
        Reply.tool_call("Read", {"file_path": str(web / "notes.md")}, call_id="c2"),
        Reply.ok("DONE"),
    )
    await _editor_turn(gateway, key, "claude-acp", web)
    told = b"".join(r.raw_body for r in upstream.llm_requests)
    assert b"NOTES-INSIDE-THE-WORKSPACE" in told  # the legitimate read, beside the attack
    assert vault.read_bytes().strip() not in told


class _Canary(LoopbackApp):
    """A loopback-only service of the operator's: it counts who reached it."""

    def __init__(self) -> None:
        self.hits: list[str] = []

    def routes(self, app: web.Application) -> None:
        async def any_path(request: web.Request) -> web.Response:
            self.hits.append(request.path)
            return web.Response(text="OPERATORS-LOOPBACK-SECRET")

        app.router.add_route("*", "/{tail:.*}", any_path)


async def test_qwen_over_acp_cannot_fetch_loopback_by_a_backslash(
    start_recording: StartRecording,  # noqa: F811
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A key the operator lets fetch web addresses (its agent's too): Qwen Code's web_fetch
    # parses the address as WHATWG does, so `http://127.0.0.1:PORT\@8.8.8.8/` is loopback.
    require("qwen")
    web_dir = tmp_path / "ws" / "docs"
    web_dir.mkdir(parents=True)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream.base_url}/v1")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-5.4")
    gateway, _ = await start_recording(
        {
            "http.auth_token": TOKEN,
            "providers.timeout_ms": 120_000,
            "providers.kill_grace_ms": 1000,
            "workspaces.registry": {"docs": {"path": str(web_dir), "remote_level": "read-only"}},
            "gateway.remote_passthrough.principals": {"key:fetcher": ["web_fetch"]},
        }
    )
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="fetcher"))
    headers = {"Authorization": f"Bearer {key.secret}"}
    async with _Canary() as canary:
        sneaky = canary.base_url + "\\@8.8.8.8/"
        fetch = {"url": sneaky, "prompt": "https://8.8.8.8/ say it"}
        # web_fetch is one of Qwen Code's deferred tools, called through its `tool_call`.
        upstream.script_when_offered(
            "tool_call",
            Reply.tool_call("tool_call", {"name": "web_fetch", "arguments": fetch}),
            Reply.ok("DONE"),
        )
        async with headers_mcp(gateway, headers) as client:
            failed, body = await request(client, "qwen", workspace="docs", prompt="fetch it")
    assert not failed, body
    assert canary.hits == []
    told = b"".join(r.raw_body for r in upstream.llm_requests)
    assert b"OPERATORS-LOOPBACK-SECRET" not in told
    warnings = " ".join(w["message"] for w in body["warnings"])
    assert "reaches 127.0.0.1" in warnings, warnings
