"""Each tool through the SDK's in-memory client session: a real engine on a temp data dir,
its MCP server reached without the HTTP server (`async with connect(engine) as client`). The
one CLI that runs is the Mistral Vibe stand-in (tests/fakes/bin/vibe), answering through the
scripted upstream: it starts in a fraction of a second, so these tests stay fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.transports.mcp.server import build_mcp_server
from tests.contract.conftest import vibe, vibe_engine  # noqa: F401 - the fixture
from tests.transports.mcp.conftest import structured


@pytest.fixture
async def engine(loaded: LoadedSettings, vibe: None) -> AsyncIterator[Engine]:  # noqa: F811
    async with vibe_engine(loaded) as started:
        yield started


def connect(engine: Engine) -> Client:
    """An in-memory client of `engine`'s MCP server; enter it in the test's own task (the
    SDK's task group cannot be entered in a fixture and left in the test)."""
    return Client(build_mcp_server(engine))


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool's structured body; fails the test when the tool answered an error."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result
    return structured(result)


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The structured error of a tool call that must fail."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result
    return structured(result)["error"]
