"""The MCP messages tests send by hand (raw JSON-RPC over HTTP or stdio), spelled once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

__all__ = ["MCP_ACCEPT", "PROTOCOL", "initialize", "mcp_session"]

PROTOCOL = "2025-06-18"
# What a Streamable HTTP client must accept on a POST to /mcp.
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}


def initialize(client: str, *, version: str = "0", request_id: int = 1) -> dict[str, Any]:
    """An `initialize` request from a client that names itself `client`."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": client, "version": version},
        },
    }


@asynccontextmanager
async def mcp_session(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: httpx2.Auth | None = None,
    # Each HTTP request's limit (httpx), not a bound on the whole session.
    timeout: float = 60,  # noqa: ASYNC109
) -> AsyncIterator[Client]:
    """The official MCP client on one 2025-era Streamable HTTP session to `url`, sending
    `headers` (or signing in with `auth`) on every request."""
    async with (
        httpx2.AsyncClient(headers=dict(headers or {}), auth=auth, timeout=timeout) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        yield client
