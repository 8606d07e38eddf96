"""Finding 22 (issue 26, item 7): MCP sessions without a per-principal cap.

Each 2025-era MCP session holds about 48 KiB until it is deleted or idle for 30 minutes, and
one principal could open thousands. Now one principal may hold `mcp.max_sessions_per_principal`
at once and the process `mcp.max_sessions`; a session beyond gets 429 with a JSON-RPC error
naming the setting. Another principal is not affected, and closing a session makes room.

The clients are the official `mcp` SDK's, over real HTTP; the two principals are named by a
trusted proxy's header behind the static token.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.mcp_wire import MCP_ACCEPT, initialize
from tests.security._edge_support import Launch, _launch  # noqa: F401 - fixtures
from tests.security._operator_support import mcp_client

TOKEN = "mcp-session-cap-token-0123456789-abcdefghij"
HEADER = "X-Remote-User"
PER_PRINCIPAL = 3
INITIALIZE = initialize("session-cap-tests")
MODERN_VERSION = "2026-07-28"  # per request: no session, no initialize


def as_user(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", HEADER: user}


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


async def open_raw_session(url: str, user: str) -> httpx2.Response:
    """An `initialize` with no session id: what opens a session."""
    headers = as_user(user) | MCP_ACCEPT
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(url, json=INITIALIZE, headers=headers)


async def test_one_principal_cannot_hold_more_sessions_than_its_cap(launch: Launch) -> None:
    gateway = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": HEADER,
            "mcp.max_sessions_per_principal": PER_PRINCIPAL,
        },
    )
    async with AsyncExitStack() as held:
        clients = [
            await held.enter_async_context(mcp_client(gateway, as_user("mallory")))
            for _ in range(PER_PRINCIPAL)
        ]
        for client in clients:  # each session works
            assert (await client.list_tools()).tools

        refused = await open_raw_session(gateway.mcp_url, "mallory")
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert "mcp.max_sessions_per_principal" in error["message"], error
        assert error["data"]["code"] == "too_many_sessions"
        # The SDK's own client fails to open it, saying why.
        with pytest.raises(BaseException) as failed:
            async with mcp_client(gateway, as_user("mallory")) as extra:
                await extra.list_tools()
        said = " ".join(str(e) for e in leaves(failed.value))
        assert "429" in said or "max_sessions_per_principal" in said, said

        # A 2026-era client opens no session: Mallory's full cap does not refuse its calls.
        async with (
            httpx2.AsyncClient(headers=as_user("mallory"), timeout=30) as http,
            Client(
                streamable_http_client(gateway.mcp_url, http_client=http), mode="auto"
            ) as modern,
        ):
            assert modern.protocol_version == MODERN_VERSION
            assert (await modern.list_tools()).tools
        # Nor does an `initialize` dressed as 2026-era slip a session past the cap.
        async with httpx2.AsyncClient(timeout=30) as http:
            dressed = await http.post(
                gateway.mcp_url,
                json=INITIALIZE,
                headers=as_user("mallory") | MCP_ACCEPT | {"MCP-Protocol-Version": MODERN_VERSION},
            )
        assert "mcp-session-id" not in dressed.headers, dressed.headers
        assert len(getattr(gateway.mcp._manager, "_session_owners", {})) == PER_PRINCIPAL

        # Another principal is not held back by Mallory's sessions.
        async with mcp_client(gateway, as_user("alice")) as alice:
            assert (await alice.list_tools()).tools

        # Closing one of Mallory's sessions (the SDK sends DELETE) makes room for another.
        await held.aclose()
    async with mcp_client(gateway, as_user("mallory")) as again:
        assert (await again.list_tools()).tools
