"""The MCP SDK loads a moment after the door opens (its import holds the GIL for most of a
second, which would slow /health and the window's first paint), or at once for the first MCP
request, and not at all when the gateway stops first."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from mcp import Client

from llmgw_desktop.settings import LoadedSettings
from llmgw_desktop.transports.mcp import http_front
from tests.transports.mcp.conftest import start_gateway


async def test_the_first_request_loads_it_without_waiting_for_the_delay(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_front, "LOAD_AFTER_S", 60.0)
    runtime, lock = await start_gateway(loaded)
    try:
        assert runtime.mcp._manager is None  # not loaded at start
        started = time.monotonic()
        async with Client(runtime.mcp_url) as client:
            tools = (await client.list_tools()).tools
        assert tools
        assert time.monotonic() - started < 30.0  # far below the 60 s delay
    finally:
        await runtime.stop()
        lock.release()


async def test_a_gateway_stopped_before_the_delay_loads_nothing(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_front, "LOAD_AFTER_S", 60.0)
    runtime, lock = await start_gateway(loaded)
    front = runtime.mcp
    started = time.monotonic()
    await runtime.stop()
    lock.release()
    assert front._manager is None
    assert time.monotonic() - started < 10.0  # did not wait out the delay


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "burst", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def _post_mcp(url: str, client: aiohttp.ClientSession) -> tuple[int, str]:
    async with client.post(url, json=INITIALIZE, headers=MCP_HEADERS) as response:
        return response.status, await response.text()


async def test_a_burst_before_the_load_is_answered_in_full(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_front, "LOAD_AFTER_S", 60.0)
    runtime, lock = await start_gateway(loaded)
    try:
        async with aiohttp.ClientSession() as client:
            answers = await asyncio.gather(*(_post_mcp(runtime.mcp_url, client) for _ in range(20)))
        assert [status for status, _ in answers] == [200] * 20
        assert all('"serverInfo"' in text for _, text in answers)
    finally:
        await runtime.stop()
        lock.release()


async def test_a_failed_load_answers_every_request_with_a_clear_error(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ImportError("no module named mcp (a broken install)")

    monkeypatch.setattr(http_front, "_import_sdk", broken)
    monkeypatch.setattr(http_front, "LOAD_AFTER_S", 60.0)
    runtime, lock = await start_gateway(loaded)
    try:
        async with aiohttp.ClientSession() as client:
            # The first request waits for the load; the later ones find it failed.
            for _ in range(3):
                status, text = await _post_mcp(runtime.mcp_url, client)
                assert status == 500
                assert "the MCP front door could not be started" in text
            async with client.get(runtime.base_url + "/health") as health:
                assert health.status == 200  # the rest of the gateway serves on
    finally:
        await runtime.stop()
        lock.release()
