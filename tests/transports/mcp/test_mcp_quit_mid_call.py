"""The gateway stopped while an MCP client waits for a tool call: the official client is
answered (the job `interrupted`), never left with a dropped connection."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp import Client

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.offline import find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.mcp.conftest import structured


async def test_a_tool_call_in_flight_at_a_stop_is_answered_interrupted(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    upstream.default = Reply.ok(delay_s=60)

    async def ask() -> Any:
        async with Client(gateway.mcp_url) as client:
            return await client.call_tool("claude_request", {"prompt": "long"})

    call = asyncio.ensure_future(ask())
    await upstream.wait_for_requests(1, timeout=30)
    await gateway.stop()
    result = await asyncio.wait_for(call, 10)
    assert result.is_error, result
    assert structured(result)["error"]["code"] in {"interrupted", "gateway_stopping"}, result
