"""Claude Code's Bedrock and Vertex doors under a hard budget, their streams broken (the
reliability pass of issue 66): the upstream cut mid-stream, and the client gone mid-stream.

After each: the client was told the stream broke (an error in its door's framing, never a
clean end it would take for the whole answer), every request has its row and none is left
`started`, and no call's budget hold is left in the store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from typing import Any

import aiohttp
import pytest
from botocore.eventstream import EventStreamBuffer

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import VERTEX_PROJECT, VERTEX_REGION
from tests.transports.gateway.conftest import GatewayFactory

TOKENS_TODAY = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 250_000}]
BEDROCK_SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_SONNET = "claude-sonnet-4-5@20250929"
DOORS = {
    "bedrock": f"/model/{BEDROCK_SONNET}/invoke-with-response-stream",
    "vertex": (
        f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_REGION}/publishers/anthropic"
        f"/models/{VERTEX_SONNET}:streamRawPredict"
    ),
}
BODY: dict[str, Any] = {
    "max_tokens": 1000,
    "messages": [{"role": "user", "content": "hi"}],
}
SETTLE_S = 10.0


def _body(door: str) -> dict[str, Any]:
    version = "bedrock-2023-05-31" if door == "bedrock" else "vertex-2023-10-16"
    return {**BODY, "anthropic_version": version}


def _events(door: str, raw: bytes) -> list[dict[str, Any]]:
    """Anthropic's events as the door framed them (Bedrock: AWS event-stream chunks;
    Vertex: server-sent events); an event-stream exception message as an `error` event."""
    if door == "vertex":
        return [
            json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: {")
        ]
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    events = []
    for message in buffer:
        if message.headers.get(":message-type") == "exception":
            events.append({"type": "error", "exception": json.loads(message.payload)})
            continue
        events.append(json.loads(base64.b64decode(json.loads(message.payload)["bytes"])))
    return events


async def _holds(gateway: GatewayRuntime) -> list[tuple[str, float]]:
    """The calls' holds in the store (not a process's reserves or wanted marks)."""
    database = gateway.engine.store.models.database
    rows = await gateway.engine.store.run(
        lambda: database.execute_sql("SELECT id, amount FROM budget_holds").fetchall()
    )
    return [(str(i), float(a)) for i, a in rows if ":" not in str(i)]


async def _settled(gateway: GatewayRuntime, requests: int) -> tuple[Counter[str], list[Any]]:
    """The rows' states and the holds once every request's row has ended (bounded wait)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        rows = await gateway.engine.recorder.recent(limit=50)
        states = Counter(r["state"] for r in rows)
        holds = await _holds(gateway)
        ended = len(rows) >= requests and not states["started"]
        if (ended and not holds) or time.monotonic() > deadline:
            return states, holds
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("door", sorted(DOORS))
async def test_an_upstream_cut_mid_stream_is_told_recorded_and_its_hold_released(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, door: str
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    upstream.script(Reply.cut())
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + DOORS[door], json=_body(door)) as answer,
    ):
        assert answer.status == 200
        raw = await answer.read()
    events = _events(door, raw)
    kinds = [e["type"] for e in events]
    assert "message_stop" not in kinds, kinds
    assert kinds and kinds[-1] == "error", f"a broken stream must end with an error: {kinds}"
    states, holds = await _settled(gateway, 1)
    assert states["started"] == 0 and sum(states.values()) == 1, states
    assert holds == [], holds
    spent = gateway.engine.budgets.statuses()[0].spent
    assert spent > 0, "a call cut after its upstream answered counts (the vendor bills it)"


@pytest.mark.parametrize("door", sorted(DOORS))
async def test_a_client_gone_mid_stream_leaves_its_row_ended_and_no_hold(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, door: str
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    upstream.stream_gate = asyncio.Event()  # half the answer goes out, then it waits
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + DOORS[door], json=_body(door)) as answer,
    ):
        assert answer.status == 200
        assert await asyncio.wait_for(answer.content.readany(), SETTLE_S)
        answer.close()  # the client leaves with the answer half read
    upstream.stream_gate.set()  # the rest goes out to a client that has left
    states, holds = await _settled(gateway, 1)
    assert states["started"] == 0 and sum(states.values()) == 1, states
    assert holds == [], holds
