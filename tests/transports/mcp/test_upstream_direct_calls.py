"""A call of the user's server's tool that asks for no progress is answered beside the SDK, as
one JSON response (`transports/mcp/direct_calls.py`, issue 42), in both protocol eras: the same
result, the same recorder row, the same cancellation; anything else is the SDK's, as before.

The reference server `@modelcontextprotocol/server-everything` (npm, over stdio) is behind the
real gateway's /mcp; the requests are plain HTTP, so the test sees what the wire carries.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.mcp.upstream_support import (
    ECHO,
    ModernClient,
    RawSession,
    Start,
    everything,
    jsonrpc,
    kinds_of_row,
    rows,
    sent,
    teed,
)

ARRIVAL_S = 60.0  # how long a message may take to reach the server (bounded)
LONG_TOOL = "everything__trigger-long-running-operation"


async def _arrived(log: Path, method: str) -> list[dict[str, Any]]:
    """The messages of `method` the server has been sent, once there is one (bounded)."""
    async with asyncio.timeout(ARRIVAL_S):
        # A file another process writes: nothing to await.
        while not (found := [m for m in sent(log) if m.get("method") == method]):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return found


async def assert_answered_as_the_sdk_would(
    gateway: GatewayRuntime, direct: dict[str, Any], through_sdk: dict[str, Any], caller: str
) -> None:
    """The echo call answered beside the SDK (request id 2) got the answer the SDK gave the
    same call, and the two left rows of one kind: completed, for `caller`, over MCP HTTP."""
    assert direct == {**through_sdk, "id": 2}
    assert direct["result"]["content"] == [{"type": "text", "text": "Echo: hi"}]
    recorded = [r for r in await rows(gateway, "everything") if r["tool"] == "everything__echo"]
    assert len(recorded) == 2 and len(kinds_of_row(recorded)) == 1, recorded
    assert {(r["caller"], r["transport"], r["state"]) for r in recorded} == {
        (caller, "mcp-http", "completed")
    }


async def test_a_call_without_progress_is_one_json_answer_with_the_sdks_result_and_row(
    start: Start,
) -> None:
    gateway: GatewayRuntime = await start({"mcp.servers": {"everything": everything()}})
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")
        _, listed = await session.post(jsonrpc(1, "tools/list", {}))
        assert "everything__echo" in {t["name"] for t in listed["result"]["tools"]}
        direct_kind, direct = await session.post(jsonrpc(2, "tools/call", ECHO))
        # With a progress token the SDK serves it, as before: an event stream.
        tracked = {**ECHO, "_meta": {"progressToken": "p-1"}}
        sdk_kind, through_sdk = await session.post(jsonrpc(3, "tools/call", tracked))
    assert direct_kind == "application/json" and sdk_kind.startswith("text/event-stream")
    await assert_answered_as_the_sdk_would(gateway, direct, through_sdk, "raw-editor")


async def test_a_call_on_a_session_the_gateway_never_opened_is_the_sdks_to_refuse(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"everything": everything()}})
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")  # the SDK is loaded, the server known
        session.headers["Mcp-Session-Id"] = "0" * 32
        async with http.post(
            gateway.mcp_url, json=jsonrpc(1, "tools/call", ECHO), headers=session.headers
        ) as reply:
            assert reply.status == 404  # the SDK's "Session not found"


async def test_a_call_answered_beside_the_sdk_is_cancelled_by_the_clients_notification(
    start: Start, tmp_path: Path
) -> None:
    """The client keeps its request open and posts `notifications/cancelled` (as the stdio
    relay does for an editor): the call ends at the server, and the request is answered with
    REQUEST_CANCELLED, as the SDK answers a cancelled 2025-era request."""
    log = tmp_path / "to-everything.jsonl"
    gateway = await start({"mcp.servers": {"everything": teed(everything(), log)}})
    long_call = {"name": LONG_TOOL, "arguments": {"duration": 60, "steps": 60}}
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")
        await session.post(jsonrpc(1, "tools/list", {}))
        running = asyncio.ensure_future(session.post(jsonrpc(2, "tools/call", long_call)))
        (call,) = await _arrived(log, "tools/call")
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled"}
        cancel["params"] = {"requestId": 2}  # type: ignore[assignment]
        async with http.post(gateway.mcp_url, json=cancel, headers=session.headers) as reply:
            assert reply.status == 202
        async with asyncio.timeout(ARRIVAL_S):
            kind, answer = await running
        cancels = await _arrived(log, "notifications/cancelled")
    assert kind == "application/json"
    assert answer["id"] == 2 and answer["error"]["code"] == -32800, answer
    assert cancels[0]["params"]["requestId"] == call["id"]
    (row,) = [r for r in await rows(gateway, "everything") if r["tool"] == LONG_TOOL]
    assert (row["state"], row["error_code"]) == ("canceled", "canceled"), row


async def test_a_2026_era_call_without_progress_is_answered_beside_the_sdk_alike(
    start: Start,
) -> None:
    """The same call in the 2026-07-28 era, without and with a progress token: the first is
    answered beside the SDK, the second by it, with the same answer and the same row."""
    gateway = await start({"mcp.servers": {"everything": everything()}})
    async with aiohttp.ClientSession() as http:
        client = ModernClient(http, gateway.mcp_url, "modern-editor")
        status, _, listed = await client.post(client.message(1, "tools/list", {}))
        assert status == 200
        assert "everything__echo" in {t["name"] for t in listed["result"]["tools"]}
        before = gateway.mcp.answered_beside_sdk
        status, kind, direct = await client.post(client.message(2, "tools/call", ECHO))
        assert gateway.mcp.answered_beside_sdk == before + 1
        tracked = client.message(3, "tools/call", {**ECHO, "_meta": {"progressToken": "p-1"}})
        sdk_status, _, through_sdk = await client.post(tracked)
        assert gateway.mcp.answered_beside_sdk == before + 1  # the SDK's
    assert (status, sdk_status, kind) == (200, 200, "application/json")
    await assert_answered_as_the_sdk_would(gateway, direct, through_sdk, "modern-editor")


async def test_a_2026_era_call_whose_headers_contradict_its_body_is_the_sdks_to_refuse(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"everything": everything()}})
    async with aiohttp.ClientSession() as http:
        client = ModernClient(http, gateway.mcp_url, "modern-editor")
        await client.post(client.message(1, "tools/list", {}))
        before = gateway.mcp.answered_beside_sdk
        message = client.message(2, "tools/call", ECHO)
        wrong = {**client.headers(message), "Mcp-Name": "everything__add"}
        status, _, answer = await client.post(message, wrong)
        twice = client.headers(message)
        status_twice = (await http.post(gateway.mcp_url, json=message, headers=twice)).status
    assert status == 400 and answer["error"]["code"] == -32020, answer  # HEADER_MISMATCH
    assert status_twice == 200
    assert gateway.mcp.answered_beside_sdk == before + 1  # the well-formed one only
    recorded = [r for r in await rows(gateway, "everything") if r["tool"] == "everything__echo"]
    assert len(recorded) == 1  # the refused one never reached the server


async def test_a_2026_era_client_that_leaves_cancels_the_relayed_call(
    start: Start, tmp_path: Path
) -> None:
    """That era has no cancel notification to honour: a client cancels by closing its
    request, which cancels the call at the server, as the SDK's entry does."""
    log = tmp_path / "to-everything.jsonl"
    gateway = await start({"mcp.servers": {"everything": teed(everything(), log)}})
    long_call = {"name": LONG_TOOL, "arguments": {"duration": 60, "steps": 60}}
    async with aiohttp.ClientSession() as http:
        client = ModernClient(http, gateway.mcp_url, "modern-editor")
        await client.post(client.message(1, "tools/list", {}))
        running = asyncio.ensure_future(client.post(client.message(2, "tools/call", long_call)))
        (call,) = await _arrived(log, "tools/call")
        running.cancel()  # the connection closes with the request
        with contextlib.suppress(asyncio.CancelledError):
            await running
        cancels = await _arrived(log, "notifications/cancelled")
    assert cancels[0]["params"]["requestId"] == call["id"]
    # The row was finished as the cancel was written (one step of the handler's unwinding).
    (row,) = [r for r in await rows(gateway, "everything") if r["tool"] == LONG_TOOL]
    assert (row["state"], row["error_code"]) == ("canceled", "canceled"), row
