"""Red team 2 (SECURITY 38 and 26): a `vault:` value given to an upstream MCP server reaches a
remote principal in clear through a tool the server calls read-only.

`remote = "read-only"` opens a server's tools that its own `readOnlyHint` marks read-only.
Reading is not harmless when what is read is a secret: the reference server `everything`
marks `get-env` (its whole environment) read-only, and that environment holds the key the
operator handed it from the vault (`env = { TOKEN = "vault:NAME" }`). The relayed answer is
passed on as the server wrote it, and the value is not among the secrets the process masks by
value (SECURITY 26), so an OAuth client reads the operator's vault key; with
`mcp.record_arguments` on, the recorder keeps it too.

Real servers from npm over stdio, the real gateway, the `mcp` SDK's OAuth client. The
legitimate paths beside it: the remote client's other read-only tool (`echo`) answers, and the
local user's own call still shows the server its key (the server needs it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_PRINCIPAL, Principal
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.security._oauth_support import oauth_settings
from tests.security._power_support import oauth_mcp

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ROOT / ".mcp-servers" / "node_modules" / ".bin" / "mcp-server-everything"
SECRET = "sealed-upstream-token-8c1e5a0f93"

Start = Callable[..., Awaitable[GatewayRuntime]]


@pytest.fixture
async def start(loaded: LoadedSettings) -> AsyncIterator[Start]:
    if not EVERYTHING.exists():
        pytest.skip(f"the MCP servers are not installed ({EVERYTHING})")
    async with gateway_starter(loaded) as start_gateway:
        yield start_gateway


async def test_a_vault_key_given_to_a_server_does_not_reach_a_remote_principal(
    start: Start,
) -> None:
    gateway = await start(
        {
            **oauth_settings(),
            "mcp.record_arguments": True,
            "mcp.servers": {
                "tools": {
                    "command": str(EVERYTHING),
                    "args": ["stdio"],
                    "remote": "read-only",
                    "env": {"UPSTREAM_TOKEN": "vault:upstream"},
                }
            },
        },
    )
    await gateway.engine.vault.store_key(Principal(LOCAL_PRINCIPAL, "local"), "upstream", SECRET)
    async with oauth_mcp(gateway) as client:
        echoed = await client.call_tool("tools__echo", {"message": "hi"})
        env = await client.call_tool("tools__get-env", {})
    # The legitimate path: a read-only tool the operator opened answers the remote client.
    assert not echoed.is_error and "hi" in json.dumps(echoed.model_dump(mode="json")), echoed
    seen = json.dumps(env.model_dump(mode="json"))
    await gateway.engine.recorder.flush()
    rows: list[dict[str, Any]] = await gateway.engine.recorder.recent(limit=20)
    kept = [r["tool"] for r in rows if SECRET in json.dumps(r, default=str)]
    assert SECRET not in seen, "the operator's vault key reached oauth:laptop-editor in clear"
    assert kept == [], f"the recorder keeps the vault key in clear: {kept}"
    # The local user's own call: the server still has its key.
    async with (
        httpx2.AsyncClient(
            headers={"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}, timeout=60
        ) as http,
        Client(streamable_http_client(gateway.mcp_url, http_client=http), mode="legacy") as mine,
    ):
        local = await mine.call_tool("tools__get-env", {})
    assert SECRET in json.dumps(local.model_dump(mode="json"))
