"""A running gateway with its front door locked, and real HTTP and MCP clients to knock with."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from mcp_types import CallToolResult

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.mcp_wire import MCP_ACCEPT, initialize, mcp_session

# The scripted LLM API the gateway's providers point at, for calls that must really succeed.
from tests.transports.gateway.conftest import provider_env  # noqa: F401

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"
USER_HEADER = "X-Forwarded-User"
CLIENT_ID = "laptop-editor"
CLIENT_SECRET = "editor-secret-0123456789-abcdefghijklmnop"
REDIRECT = "http://127.0.0.1:9/callback"  # never opened: the test reads the redirect itself
INITIALIZE = initialize("lock-tests")

Start = Callable[..., Awaitable[GatewayRuntime]]


def bearer(token: str = TOKEN, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **(extra or {})}


def oauth_settings(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """OAuth on, with one confidential static client (no consent step)."""
    return {
        "http.oauth.enabled": True,
        "http.oauth.clients": {
            CLIENT_ID: {
                "name": "Laptop editor",
                "redirect_uris": [REDIRECT],
                "client_secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
            }
        },
        **(extra or {}),
    }


async def start_proxied_with_a_project(start: Start, project: Path) -> GatewayRuntime:
    """A gateway locked with `TOKEN` behind a trusted proxy that names each user in
    `USER_HEADER`, with one workspace, `project`, at `project` (made here)."""
    project.mkdir()
    gateway: GatewayRuntime = await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "workspaces.registry": {"project": str(project)},
        },
    )
    return gateway


@pytest.fixture(name="start")
async def start_fixture(loaded: LoadedSettings) -> AsyncIterator[Start]:
    """`start`: start a gateway with settings overrides (by dotted key); each is stopped after
    the test. Test modules elsewhere import `start_fixture` to use it."""
    async with gateway_starter(loaded) as start_gateway:
        yield start_gateway


# Test modules import the fixture under either name (`start_fixture` reads as what it is).
start = start_fixture


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def send(gateway: GatewayRuntime, method: str, path: str, **kwargs: Any) -> Answer:
    """One real HTTP request to the running gateway."""
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, gateway.base_url + path, allow_redirects=False, **kwargs) as r,
    ):
        return Answer(r.status, dict(r.headers), await r.text())


async def mcp_post(gateway: GatewayRuntime, headers: dict[str, str], **kwargs: Any) -> Answer:
    """A bare JSON-RPC message to the MCP endpoint, as any client's first request looks."""
    kwargs.setdefault("json", INITIALIZE)
    return await send(
        gateway, "POST", gateway.settings.http.path, headers=MCP_ACCEPT | headers, **kwargs
    )


async def call_tool(
    gateway: GatewayRuntime, headers: dict[str, str], name: str, arguments: dict[str, Any]
) -> CallToolResult:
    """One tool call through the official MCP client, sending `headers` on every request."""
    async with mcp_session(gateway.mcp_url, headers=headers, timeout=30) as client:
        return await client.call_tool(name, arguments)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return dict(result.structured_content)


async def oauth_access_token(gateway: GatewayRuntime, scope: str = "mcp") -> str:
    """An access token for the static client, by the authorization-code flow with PKCE."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    authorized = await send(gateway, "GET", "/oauth/authorize", params=params)
    assert authorized.status == 302, authorized.text
    code = parse_qs(urlsplit(authorized.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    issued = await send(gateway, "POST", "/oauth/token", data=form)
    assert issued.status == 200, issued.text
    return str(issued.json()["access_token"])
