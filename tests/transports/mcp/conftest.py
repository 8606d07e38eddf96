"""A running gateway (engine, HTTP front door, MCP) with the real CLIs pointed at the upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime

# Re-exported for the tests in this package.
from tests.contract.conftest import engine_settings, offline  # noqa: F401
from tests.gateways import start_runtime
from tests.transports.mcp.upstream_support import Start, starting


def structured(result: Any) -> dict[str, Any]:
    """A tool result's structured body (errors included)."""
    assert result.structured_content is not None, result
    return dict(result.structured_content)


async def session_made_through(
    relay: StdioServerParameters, port: int, title: str, mode: str | None = None
) -> tuple[str, set[str]]:
    """The id of a session made through the stdio relay `relay`, and the ids of the sessions
    the gateway on `port` lists when asked directly over HTTP."""
    async with Client(relay, **({"mode": mode} if mode else {})) as client:
        made = structured(
            await client.call_tool("session_create", {"provider": "codex", "title": title})
        )
    async with Client(f"http://127.0.0.1:{port}/mcp") as direct:
        listed = structured(await direct.call_tool("session_list", {}))
    return made["sessionId"], {s["sessionId"] for s in listed["sessions"]}


async def start_gateway(
    loaded: LoadedSettings, overrides: Mapping[str, Any] | None = None
) -> tuple[GatewayRuntime, InstanceLock]:
    return await start_runtime(
        loaded, engine_settings(loaded, {"http.port": 0, **(overrides or {})})
    )


@pytest.fixture
async def start(loaded: LoadedSettings) -> AsyncIterator[Start]:
    """`start`: a gateway with settings overrides (an upstream MCP server's among them), once
    the npm MCP servers are known to be installed; each is stopped after the test."""
    async with starting(loaded) as start_gateway:
        yield start_gateway


@asynccontextmanager
async def running_gateway(
    loaded: LoadedSettings, overrides: Mapping[str, Any] | None = None
) -> AsyncIterator[GatewayRuntime]:
    """A gateway (`start_gateway`), stopped and its lock released when the block ends."""
    runtime, lock = await start_gateway(loaded, overrides)
    try:
        yield runtime
    finally:
        await runtime.stop()
        lock.release()


@pytest.fixture
async def gateway(loaded: LoadedSettings, offline: Path) -> AsyncIterator[GatewayRuntime]:  # noqa: F811
    async with running_gateway(loaded) as runtime:
        yield runtime
