"""A call is cancelled by its own caller only (red-team of the sync-cancel work, 2026-11-25).

A tool call of the user's own MCP servers, on a 2025-era session, is answered beside the SDK
(`transports/mcp/direct_calls.py`), and a `notifications/cancelled` naming it cancels it. Bob
holds Alice's session id (a log line, a screen share, a bug report: finding 6's premise) and
posts the notification with it under his own credentials: the SDK refuses him the session
(404), and Alice's call must run on. Beside it, the legitimate path: Alice's own notification
cancels her call, and Bob's own session, naming her request id, reaches nothing of hers.

The gateway runs in this process, locked (static bearer, a trusted proxy naming each user);
the server is the Python SDK's own (`tests/fakes/mcp_crasher.py`, its `wait` tool waits to be
cancelled) behind the real /mcp; the requests are plain HTTP, so the test sees the wire.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.transports.auth.conftest import (
    USER_HEADER,
    Start,
    bearer,
    start,  # noqa: F401 - a fixture
)
from tests.transports.mcp.upstream_support import JSON_AND_EVENTS, crasher, jsonrpc, sent, teed

SESSION_HEADER = "Mcp-Session-Id"
VERSION = "2025-11-25"
ARRIVAL_S = 30.0  # how long a message may take to reach the server (bounded)
REQUEST_CANCELLED = -32800
WAIT = {"name": "crasher__wait", "arguments": {"label": "alice"}}
ADD = {"name": "crasher__add", "arguments": {"a": 2, "b": 3}}


class UserSession:
    """A 2025-era MCP session over plain HTTP of one user the trusted proxy names."""

    def __init__(self, http: aiohttp.ClientSession, url: str, user: str) -> None:
        self.http, self.url = http, url
        self.auth = bearer(**{USER_HEADER: user})
        self.headers = {**JSON_AND_EVENTS, **self.auth}

    async def open(self) -> str:
        params = {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "editor", "version": "1"},
        }
        init = jsonrpc(0, "initialize", params)
        async with self.http.post(self.url, json=init, headers=self.headers) as reply:
            assert reply.status == 200, await reply.text()
            session = reply.headers[SESSION_HEADER]
            async for line in reply.content:  # the result, then hang up (as clients do)
                if line.startswith(b"data:"):
                    break
            reply.close()
        self.headers |= {SESSION_HEADER: session, "MCP-Protocol-Version": VERSION}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert await self.notify(initialized) == 202
        return session

    async def notify(self, message: dict[str, Any], session: str | None = None) -> int:
        """Post a notification (on `session` when given, under this user's credentials)."""
        headers = dict(self.headers)
        if session is not None:
            headers[SESSION_HEADER] = session
        async with self.http.post(self.url, json=message, headers=headers) as reply:
            return reply.status

    async def end(self, session: str) -> int:
        """DELETE `session` under this user's credentials."""
        headers = {**self.headers, SESSION_HEADER: session}
        async with self.http.delete(self.url, headers=headers) as reply:
            return reply.status

    async def call(self, request_id: int, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A `tools/call`'s Content-Type and JSON-RPC response (one JSON answer, or an event
        stream's last)."""
        message = jsonrpc(request_id, "tools/call", params)
        async with self.http.post(self.url, json=message, headers=self.headers) as reply:
            kind, text = reply.headers["Content-Type"], await reply.text()
        if kind.startswith("text/event-stream"):
            data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
            text = data[-1]
        return kind, dict(json.loads(text))


def cancel(request_id: int) -> dict[str, Any]:
    params = {"requestId": request_id, "reason": "not yours"}
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}


async def arrived(log: Path, method: str) -> list[dict[str, Any]]:
    """The messages of `method` the server has been sent, once there is one (bounded)."""
    async with asyncio.timeout(ARRIVAL_S):
        # A file another process writes: nothing to await.
        while not (found := [m for m in sent(log) if m.get("method") == method]):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return found


async def test_another_principal_holding_the_session_id_cannot_cancel_its_call(
    start: Start,  # noqa: F811
    tmp_path: Path,
) -> None:
    log = tmp_path / "to-crasher.jsonl"
    gateway = await start(
        {
            "http.auth_token": bearer()["Authorization"].removeprefix("Bearer "),
            "http.trusted_principal_header": USER_HEADER,
            "http.rate_limit_per_minute": 0,
            "mcp.servers": {"crasher": teed(crasher(remote="all"), log)},
        }
    )
    async with aiohttp.ClientSession() as http:
        alice = UserSession(http, gateway.mcp_url, "alice")
        bob = UserSession(http, gateway.mcp_url, "bob")
        alices_session = await alice.open()
        await bob.open()
        running = asyncio.ensure_future(alice.call(2, WAIT))
        await arrived(log, "tools/call")

        # Bob names Alice's session and request, or ends her session: refused as if it did
        # not exist ...
        assert await bob.notify(cancel(2), session=alices_session) == 404
        assert await bob.end(alices_session) == 404
        # ... and on his own session her request id is nothing of his.
        assert await bob.notify(cancel(2)) == 202
        # Alice's session answers her next call, still beside the SDK (many loop turns after
        # Bob's notifications, each of which would have cancelled her call at once), and her
        # call runs on.
        kind, added = await alice.call(3, ADD)
        assert kind == "application/json", kind
        assert added["result"]["structuredContent"]["result"] == 5, added
        assert not running.done(), running.result()
        assert not [m for m in sent(log) if m.get("method") == "notifications/cancelled"]

        # Her own cancel ends it, as the SDK answers a cancelled request.
        assert await alice.notify(cancel(2)) == 202
        async with asyncio.timeout(ARRIVAL_S):
            _, answer = await running
    assert answer["error"]["code"] == REQUEST_CANCELLED, answer
    await arrived(log, "notifications/cancelled")
