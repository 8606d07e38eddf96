"""A call of the user's server's tool that asks for no progress is answered beside the SDK, as
one JSON response (`transports/mcp/direct_calls.py`, issue 42): the same result, the same
recorder row, the same cancellation; anything else is the SDK's, as before.

The reference server `@modelcontextprotocol/server-everything` (npm, over stdio) is behind the
real gateway's /mcp; the requests are plain HTTP, so the test sees what the wire carries.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.mcp.upstream_support import (
    EVERYTHING,
    Start,
    everything,
    rows,
    starting,
)

JSON_AND_EVENTS = {"Accept": "application/json, text/event-stream"}
ARRIVAL_S = 60.0  # how long a message may take to reach the server (bounded)
LONG_TOOL = "everything__trigger-long-running-operation"


@pytest.fixture
async def start(loaded: LoadedSettings) -> AsyncIterator[Start]:
    async with starting(loaded) as start_gateway:
        yield start_gateway


class RawSession:
    """A 2025-era MCP session over plain HTTP, as the local user."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.headers: dict[str, str] = dict(JSON_AND_EVENTS)

    async def open(self, client: str) -> None:
        params = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": client, "version": "1"},
        }
        async with self.http.post(self.url, json=_request(0, "initialize", params)) as reply:
            assert reply.status == 200
            self.headers["Mcp-Session-Id"] = reply.headers["Mcp-Session-Id"]
            # As the official clients do: read the result, then hang up without waiting for
            # the event stream's end (the gateway's handler is then cancelled).
            async for line in reply.content:
                if line.startswith(b"data:"):
                    break
            reply.close()
        self.headers["MCP-Protocol-Version"] = "2025-11-25"
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        async with self.http.post(self.url, json=initialized, headers=self.headers) as reply:
            assert reply.status == 202

    async def post(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The reply's Content-Type and the JSON-RPC response it carries."""
        async with self.http.post(self.url, json=message, headers=self.headers) as reply:
            kind, text = reply.headers["Content-Type"], await reply.text()
        if kind.startswith("text/event-stream"):
            data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
            return kind, json.loads(data[-1])
        return kind, json.loads(text)


def _request(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


async def test_a_call_without_progress_is_one_json_answer_with_the_sdks_result_and_row(
    start: Start,
) -> None:
    gateway: GatewayRuntime = await start({"mcp.servers": {"everything": everything()}})
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")
        _, listed = await session.post(_request(1, "tools/list", {}))
        assert "everything__echo" in {t["name"] for t in listed["result"]["tools"]}
        echo = {"name": "everything__echo", "arguments": {"message": "hi"}}
        direct_kind, direct = await session.post(_request(2, "tools/call", echo))
        # With a progress token the SDK serves it, as before: an event stream.
        tracked = {**echo, "_meta": {"progressToken": "p-1"}}
        sdk_kind, through_sdk = await session.post(_request(3, "tools/call", tracked))
    assert direct_kind == "application/json" and sdk_kind.startswith("text/event-stream")
    assert direct == {**through_sdk, "id": 2}
    assert direct["result"]["content"] == [{"type": "text", "text": "Echo: hi"}]
    recorded = [r for r in await rows(gateway, "everything") if r["tool"] == "everything__echo"]
    assert len(recorded) == 2
    assert {(r["caller"], r["transport"], r["state"]) for r in recorded} == {
        ("raw-editor", "mcp-http", "completed")
    }


async def test_a_call_on_a_session_the_gateway_never_opened_is_the_sdks_to_refuse(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"everything": everything()}})
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")  # the SDK is loaded, the server known
        session.headers["Mcp-Session-Id"] = "0" * 32
        echo = {"name": "everything__echo", "arguments": {"message": "hi"}}
        async with http.post(
            gateway.mcp_url, json=_request(1, "tools/call", echo), headers=session.headers
        ) as reply:
            assert reply.status == 404  # the SDK's "Session not found"


def _sent(log: Path) -> list[dict[str, Any]]:
    """The JSON-RPC messages the gateway has written to the server so far."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_a_call_answered_beside_the_sdk_is_cancelled_by_the_clients_notification(
    start: Start, tmp_path: Path
) -> None:
    """The client keeps its request open and posts `notifications/cancelled` (as the stdio
    relay does for an editor): the call ends at the server, and the request is answered with
    REQUEST_CANCELLED, as the SDK answers a cancelled 2025-era request."""
    tee = shutil.which("tee")
    assert tee is not None, "tee (coreutils) is needed to watch the server's stdin"
    log = tmp_path / "to-everything.jsonl"
    pipeline = f"{shlex.quote(tee)} {shlex.quote(str(log))} | {shlex.quote(str(EVERYTHING))} stdio"
    gateway = await start(
        {"mcp.servers": {"everything": {"command": "sh", "args": ["-c", pipeline]}}}
    )
    long_call = {"name": LONG_TOOL, "arguments": {"duration": 60, "steps": 60}}
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")
        await session.post(_request(1, "tools/list", {}))
        running = asyncio.ensure_future(session.post(_request(2, "tools/call", long_call)))
        async with asyncio.timeout(ARRIVAL_S):
            # A file another process writes: nothing to await.
            while not [m for m in _sent(log) if m.get("method") == "tools/call"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled"}
        cancel["params"] = {"requestId": 2}  # type: ignore[assignment]
        async with http.post(gateway.mcp_url, json=cancel, headers=session.headers) as reply:
            assert reply.status == 202
        async with asyncio.timeout(ARRIVAL_S):
            kind, answer = await running
        (call,) = [m for m in _sent(log) if m.get("method") == "tools/call"]
        async with asyncio.timeout(ARRIVAL_S):
            while not (  # noqa: ASYNC110 - as above
                cancels := [m for m in _sent(log) if m.get("method") == "notifications/cancelled"]
            ):
                await asyncio.sleep(0.05)
    assert kind == "application/json"
    assert answer["id"] == 2 and answer["error"]["code"] == -32800, answer
    assert cancels[0]["params"]["requestId"] == call["id"]
