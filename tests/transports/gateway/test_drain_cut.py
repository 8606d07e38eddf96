"""A stream longer than the drain's grace, under a hard budget (the reliability pass of issue 66):
the drain ends after its grace, the stop ends the stream, and then its client has been told the
answer broke (never a clean end), its row is `interrupted`, and its budget hold is gone from the
store, counted at most once.

In process on a real runtime, as `tests/transports/gateway/test_drain.py`; the process-level
drain (SIGTERM, exit 0) is `tests/e2e/test_drain.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

import aiohttp

from llmgw_desktop.shell.drain import drain
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_cloud_doors_cut import DOORS, TOKENS_TODAY, _body, _events

CHAT = "/v1/chat/completions"
STREAM_BODY = {
    "model": "gpt-4o",
    "stream": True,
    "max_tokens": 1000,
    "messages": [{"role": "user", "content": "hi"}],
}
GRACE_S = 0.5
WAIT_S = 10.0


def _after_stop() -> tuple[Counter[str], list[tuple[str, float]]]:
    """The rows' states and the calls' holds (not a reserve) in the stopped gateway's store."""
    db = Path(os.environ["LLM_GATEWAY_DATA_DIR"]) / "llmgw.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        states = Counter(state for (state,) in conn.execute("SELECT state FROM requests"))
        holds = [
            (str(i), float(a))
            for i, a in conn.execute("SELECT id, amount FROM budget_holds")
            if ":" not in str(i)
        ]
    return states, holds


async def test_a_stream_longer_than_the_grace_is_cut_told_and_closed(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    upstream.stream_gate = asyncio.Event()  # half the answer, then longer than the grace
    upstream.script(Reply.ok("an answer longer than the grace", verbatim=True))
    async with (
        aiohttp.ClientSession() as http,
        http.post(runtime.base_url + CHAT, json=STREAM_BODY) as streaming,
    ):
        assert streaming.status == 200
        first = await asyncio.wait_for(streaming.content.readline(), WAIT_S)
        assert first.startswith(b"data: ")
        began = time.monotonic()
        assert await drain(runtime, GRACE_S, cut_short=asyncio.Event()) is False
        assert time.monotonic() - began < GRACE_S + 2.0
        stopping = asyncio.ensure_future(runtime.stop())
        try:
            rest = await asyncio.wait_for(streaming.content.read(), WAIT_S)
        except aiohttp.ClientPayloadError:
            rest = b"<cut>"
        await asyncio.wait_for(stopping, WAIT_S)
    assert b"data: [DONE]" not in rest, "a cut stream must not end as a whole answer does"
    states, holds = _after_stop()
    assert states == {"interrupted": 1}, states
    assert holds == [], holds
    print(f"the client read after the cut: {rest[-200:]!r}")


async def test_a_bedrock_stream_longer_than_the_grace_is_told_in_its_framing(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    upstream.stream_gate = asyncio.Event()
    async with (
        aiohttp.ClientSession() as http,
        http.post(runtime.base_url + DOORS["bedrock"], json=_body("bedrock")) as streaming,
    ):
        assert streaming.status == 200
        first = await asyncio.wait_for(streaming.content.readany(), WAIT_S)
        assert await drain(runtime, GRACE_S, cut_short=asyncio.Event()) is False
        stopping = asyncio.ensure_future(runtime.stop())
        try:
            rest = await asyncio.wait_for(streaming.content.read(), WAIT_S)
        except aiohttp.ClientPayloadError:
            rest = b""
        await asyncio.wait_for(stopping, WAIT_S)
    kinds = [e["type"] for e in _events("bedrock", first + rest)]
    assert "message_stop" not in kinds, kinds
    states, holds = _after_stop()
    assert states == {"interrupted": 1}, states
    assert holds == [], holds
    print(f"the Bedrock client read: {kinds}")
