"""The MCP SDK loads a moment after the door opens (its import holds the GIL for most of a
second, which would slow /health and the window's first paint), or at once for the first MCP
request, and not at all when the gateway stops first."""

from __future__ import annotations

import time

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
