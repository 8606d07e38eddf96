"""A client that leaves while it is still sending its body, under a hard budget (the reliability
pass of issue 66): on the Chat, Messages and Bedrock doors, headers sent with a length the body
never reaches, then the connection closed. Nothing reaches the upstream, no hold is taken or
left, no row is left `started`, and the gateway serves the next caller on the same budget.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_cloud_doors_cut import TOKENS_TODAY, _holds

PATHS = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "bedrock": "/model/gpt-4o/invoke-with-response-stream",
}
LEAVERS = 8
SETTLE_S = 10.0


async def _leave_mid_send(port: int, path: str) -> None:
    body = json.dumps(
        {"model": "gpt-4o", "max_tokens": 1000, "messages": [{"role": "user", "content": "x"}]}
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) * 100}\r\n\r\n"
    )
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader


@pytest.mark.parametrize("door", sorted(PATHS))
async def test_clients_leaving_mid_send_leave_nothing_held_or_started(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, door: str
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    port = gateway.http.port
    await asyncio.gather(*[_leave_mid_send(port, PATHS[door]) for _ in range(LEAVERS)])
    deadline = time.monotonic() + SETTLE_S
    while True:  # what the leavers may have left, settled
        rows = await gateway.engine.recorder.recent(limit=50)
        holds = await _holds(gateway)
        started = [r for r in rows if r["state"] == "started"]
        if (not started and not holds) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert upstream.llm_requests == []
    assert started == [] and holds == [], (started, holds)
    status = gateway.engine.budgets.statuses()[0]
    assert status.spent == 0, status
