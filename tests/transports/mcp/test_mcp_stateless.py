"""`mcp.stateless`: the official MCP client over 2025-era Streamable HTTP without sessions.

Every request is served on its own (what lets any process behind a load balancer answer it):
tools are listed and called, the caller is named by X-Caller or the user agent (the client's
`clientInfo` comes only with `initialize`, which no later request shares), each request's own
credential decides the principal, and what only a session could serve is refused at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mcp import Client

from llmgw_desktop.config.settings import ConfigError, LoadedSettings, load_settings
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.mcp.stdio_forward import StdioForwarder
from tests.contract.offline import find_cli
from tests.mcp_wire import MCP_ACCEPT, initialize, mcp_session
from tests.transports.auth.conftest import TOKEN, USER_HEADER, bearer
from tests.transports.mcp.conftest import start_gateway, structured
from tests.waiting import until

ANSWER_WITHIN_S = 10.0


@pytest.fixture
async def stateless(
    loaded: LoadedSettings, offline: Path, tmp_path: Path
) -> AsyncIterator[GatewayRuntime]:
    """A gateway serving MCP without sessions, locked by a bearer that may name its user;
    remote calls run in one registered workspace."""
    project = tmp_path / "project"
    project.mkdir()
    runtime, lock = await start_gateway(
        loaded,
        {
            "mcp.stateless": True,
            "workspaces.registry": {"project": str(project)},
            "workspaces.default": "project",
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "http.rate_limit_per_minute": 0,
        },
    )
    yield runtime
    await runtime.stop()
    lock.release()


@asynccontextmanager
async def legacy_client(gateway: GatewayRuntime, **headers: str) -> AsyncIterator[Client]:
    """The official client, 2025-era handshake, with `headers` (and the bearer) on every POST."""
    async with mcp_session(gateway.mcp_url, headers=bearer() | headers, timeout=30) as client:
        yield client


async def _health(gateway: GatewayRuntime) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(gateway.base_url + "/health") as reply:
        return dict(await reply.json())


def test_the_setting_is_off_unless_the_file_or_env_turns_it_on(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[mcp]\nstateless = true\n")
    unset = {"LLM_GATEWAY_CONFIG": str(tmp_path / "none.toml")}
    assert load_settings(environ=unset).settings.mcp.stateless is False
    from_file = load_settings(environ={"LLM_GATEWAY_CONFIG": str(config)})
    assert from_file.settings.mcp.stateless is True
    assert from_file.sources["mcp.stateless"] == f"file {config}"
    from_env = load_settings(environ=unset | {"LLM_GATEWAY_MCP_STATELESS": "true"})
    assert from_env.settings.mcp.stateless is True
    with pytest.raises(ConfigError, match=r"mcp\.stateless"):
        load_settings(environ=unset | {"LLM_GATEWAY_MCP_STATELESS": "sometimes"})


async def test_stateless_lists_tools_and_runs_a_provider_call(stateless: GatewayRuntime) -> None:
    find_cli("claude")
    async with legacy_client(stateless) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        answer = structured(await client.call_tool("claude_request", {"prompt": "hi"}))
        status = structured(await client.call_tool("llm_job_status", {"jobId": answer["jobId"]}))
    assert {"claude_request", "llm_job_status", "llm_job_result"} <= tools
    assert "FAKE-OK" in answer["text"], answer
    assert status["state"] == "completed", status
    assert (await _health(stateless))["mcp"] == {"sessions": "stateless"}


async def test_stateful_is_the_default_and_health_says_so(
    loaded: LoadedSettings,
    offline: Path,
) -> None:
    runtime, lock = await start_gateway(loaded)
    try:
        assert (await _health(runtime))["mcp"] == {"sessions": "per-process"}
    finally:
        await runtime.stop()
        lock.release()


async def test_initialize_opens_no_session_to_carry_or_steal(stateless: GatewayRuntime) -> None:
    headers = bearer() | MCP_ACCEPT
    async with (
        aiohttp.ClientSession() as http,
        http.post(stateless.mcp_url, json=initialize("probe"), headers=headers) as reply,
    ):
        assert reply.status == 200, await reply.text()
        assert "Mcp-Session-Id" not in reply.headers


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_what_needs_a_session_is_refused_at_once(
    stateless: GatewayRuntime, method: str
) -> None:
    headers = bearer() | {"Accept": "text/event-stream", "Mcp-Session-Id": "0" * 32}
    async with aiohttp.ClientSession() as http:
        request = http.request(method, stateless.mcp_url, headers=headers)
        # An event stream opened without a session would never end: bounded, that fails.
        async with await asyncio.wait_for(request, ANSWER_WITHIN_S) as reply:
            body = await asyncio.wait_for(reply.json(), ANSWER_WITHIN_S)
            assert reply.status == 405 and reply.headers["Allow"] == "POST"
    assert body["error"]["code"] == "method_not_allowed"
    assert "mcp.stateless" in body["error"]["message"], body


@pytest.mark.parametrize(
    ("headers", "label"),
    [
        ({"X-Caller": "nightly-review"}, "nightly-review"),
        ({"User-Agent": "claude-cli/2.1.0 (external, cli)"}, "claude-code"),
        ({"User-Agent": "my-agent/1.0"}, "my-agent"),
    ],
)
async def test_the_caller_is_named_by_x_caller_else_the_user_agent(
    stateless: GatewayRuntime, headers: dict[str, str], label: str
) -> None:
    find_cli("claude")
    async with legacy_client(stateless, **headers) as client:
        answer = structured(await client.call_tool("claude_request", {"prompt": "hi"}))
        listed = structured(await client.call_tool("llm_job_status", {"jobId": answer["jobId"]}))
    assert listed["state"] == "completed", listed
    await stateless.engine.recorder.flush()
    rows = await stateless.engine.recorder.recent(limit=5)
    assert [r["caller"] for r in rows if r["job_id"] == answer["jobId"]] == [label], rows


async def test_another_principal_cannot_reach_a_job_it_did_not_start(
    stateless: GatewayRuntime,
) -> None:
    find_cli("claude")
    async with legacy_client(stateless, **{USER_HEADER: "alice"}) as alice:
        answer = structured(await alice.call_tool("claude_request", {"prompt": "hi"}))
        job = {"jobId": answer["jobId"]}
        own = structured(await alice.call_tool("llm_job_result", job))
    assert "FAKE-OK" in own["text"], own
    async with legacy_client(stateless, **{USER_HEADER: "bob"}) as bob:
        tries = {
            tool: await bob.call_tool(tool, job)
            for tool in ("llm_job_status", "llm_job_result", "llm_job_cancel")
        }
    for tool, result in tries.items():
        assert result.is_error, (tool, result)
        assert structured(result)["error"]["code"] == "not_found", (tool, result)
        assert "FAKE-OK" not in str(result), tool


class _Lines:
    """The editor's side of the relay's stdout: the JSON-RPC lines it wrote."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.lines.extend(json.loads(line) for line in data.decode().splitlines() if line)

    async def drain(self) -> None:
        return None


async def test_the_stdio_relay_names_the_editor_to_a_stateless_gateway(
    stateless: GatewayRuntime,
) -> None:
    find_cli("claude")
    editor = asyncio.StreamReader()
    for message in (
        initialize("cursor", version="1"),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "claude_request", "arguments": {"prompt": "hi"}},
        },
    ):
        editor.feed_data((json.dumps(message) + "\n").encode())
    out = _Lines()
    relay = StdioForwarder(stateless.mcp_url, headers=bearer() | {"User-Agent": "relay/1"})
    running = asyncio.create_task(relay.run(editor, out))
    # The editor quits once it has its answer: closing its input sooner gives the call up.
    await until(
        lambda: any(line.get("id") == 2 for line in out.lines), "the call's answer", timeout_s=60
    )
    editor.feed_eof()
    await asyncio.wait_for(running, 30)
    answer = next(line for line in out.lines if line.get("id") == 2)
    job_id = answer["result"]["structuredContent"]["jobId"]
    await stateless.engine.recorder.flush()
    rows = await stateless.engine.recorder.recent(limit=5)
    assert [r["caller"] for r in rows if r["job_id"] == job_id] == ["cursor"], rows
