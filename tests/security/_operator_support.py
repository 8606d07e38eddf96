"""A locked gateway with a caller of every principal kind, for the operator-only walk, the MCP
session binding and the recorder redaction tests.

The gateway is locked the way a shared install is: the static bearer, the trusted proxy header
and the OAuth server are all on. Each caller carries real credentials: the instance token from
the gateway's lock (the local user), the bearer, the bearer with a proxy-named user, and access
tokens from real authorization-code flows with PKCE against the gateway's own OAuth endpoints.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from llmgw_desktop.engine.auth.principals import BEARER, LOCAL, Principal
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from tests.mcp_wire import mcp_session
from tests.transports.auth.conftest import (
    CLIENT_ID,
    TOKEN,
    USER_HEADER,
    Start,
    bearer,
    oauth_access_token,
    oauth_settings,
)

__all__ = [
    "Caller",
    "FakeNpm",
    "callers",
    "locked_gateway",
    "mcp_client",
]

ADMIN_SCOPES = "mcp workspace:admin"


@dataclass(frozen=True)
class Caller:
    """One principal kind knocking: its headers, and the principal the gateway should decide
    (None: unauthenticated)."""

    label: str
    headers: dict[str, str]
    principal: Principal | None


async def locked_gateway(
    start: Start, overrides: Mapping[str, Any] | None = None
) -> GatewayRuntime:
    """A gateway with bearer, trusted header and OAuth (a client allowed both scopes)."""
    oauth = oauth_settings()
    oauth["http.oauth.clients"][CLIENT_ID]["scopes"] = ADMIN_SCOPES
    settings: dict[str, Any] = {
        # The walks send a few hundred requests in seconds; rate limits have tests of their own.
        "http.rate_limit_per_minute": 0,
        "http.auth_token": TOKEN,
        "http.trusted_principal_header": USER_HEADER,
        **oauth,
    }
    return await start(settings | dict(overrides or {}))


async def callers(gateway: GatewayRuntime) -> dict[str, Caller]:
    """A caller of every kind, keyed by label."""
    client = f"oauth:{CLIENT_ID}"
    mcp_token = await oauth_access_token(gateway, "mcp")
    admin_token = await oauth_access_token(gateway, ADMIN_SCOPES)
    admin_only = await oauth_access_token(gateway, "workspace:admin")
    found = [
        Caller(
            "local",
            {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token},
            Principal(LOCAL, "local"),
        ),
        Caller("bearer", bearer(), Principal(BEARER, "bearer")),
        Caller(
            "trusted-header",
            bearer(**{USER_HEADER: "alice"}),
            Principal("user:alice", "trusted-header"),
        ),
        Caller("oauth-mcp", bearer(mcp_token), Principal(client, "oauth", frozenset({"mcp"}))),
        Caller(
            "oauth-admin",
            bearer(admin_token),
            Principal(client, "oauth", frozenset(ADMIN_SCOPES.split())),
        ),
        Caller(
            "oauth-without-mcp",
            bearer(admin_only),
            Principal(client, "oauth", frozenset({"workspace:admin"})),
        ),
        Caller("unauthenticated", {}, None),
    ]
    return {c.label: c for c in found}


@asynccontextmanager
async def mcp_client(gateway: GatewayRuntime, headers: dict[str, str]) -> AsyncIterator[Client]:
    """The official MCP client on one Streamable HTTP session, `headers` on every request."""
    async with mcp_session(gateway.mcp_url, headers=headers, timeout=30) as client:
        yield client


@dataclass(frozen=True)
class FakeNpm:
    """A recording `npm` first on PATH: every run appends its arguments to `log`."""

    log: Path

    def runs(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNpm]:
    """So that an upgrade that should never run cannot touch the machine's real npm either."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    log = tmp_path / "npm-runs.log"
    script = bin_dir / "npm"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield FakeNpm(log)
