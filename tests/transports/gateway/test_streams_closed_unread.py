"""A stream whose client leaves after the engine answered but before the answer's headers were
written: the front door closes chunks it never read, and the stream still ends as a cut one
does (its row canceled, its spend counted against the budgets, its upstream let go).

An async generator closed before its first chunk runs no `finally`; these streams once left
their rows `started` for good, the vendor's bill for the call uncounted."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from llmgw_desktop.engine.api import DIALECT_ANTHROPIC, DIALECT_OPENAI_CHAT, CallerInfo
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.gateway.results import Streaming
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import ON, _rows

QUESTION = [{"role": "user", "content": "hi"}]
# A daily token budget with room for many calls: what a stream spent shows in its status.
TOKENS_TODAY = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}]
# Connections a client opens and drops at once, at random moments (bounded).
HANG_UPS = 120
SETTLE_S = 10.0


async def _stream(gateway: GatewayRuntime, front: str, body: dict[str, Any]) -> Streaming:
    caller = CallerInfo(principal=LOCAL_CALLER.id, endpoint="/v1/test")
    answer: Any = await gateway.engine.gateway.chat(front, {**body, "stream": True}, caller)
    assert isinstance(answer, Streaming)
    return answer


async def _spent(gateway: GatewayRuntime) -> float:
    async with asyncio.timeout(SETTLE_S):
        while True:
            spent = gateway.engine.budgets.statuses()[0].spent
            if spent > 0:
                return spent
            await asyncio.sleep(0.02)


async def test_a_same_dialect_stream_closed_unread_is_cut_and_counted(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    answer = await _stream(gateway, DIALECT_OPENAI_CHAT, {"model": "gpt-4o", "messages": QUESTION})
    await answer.chunks.aclose()  # type: ignore[attr-defined]
    (row,) = await _rows(gateway, 1)
    assert row["state"] == "canceled" and row["error_code"] == "client_disconnected"
    # Billed by the vendor all the same: counted at the gateway's estimate, never at nothing.
    assert row["input_tokens"] > 0
    assert await _spent(gateway) > 0


async def test_a_translated_stream_closed_unread_is_cut_and_counted(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    body = {"model": "gpt-4o", "max_tokens": 16, "messages": QUESTION}
    answer = await _stream(gateway, DIALECT_ANTHROPIC, body)
    await answer.chunks.aclose()  # type: ignore[attr-defined]
    (row,) = await _rows(gateway, 1)
    assert row["state"] == "canceled" and row["error_code"] == "client_disconnected"
    assert await _spent(gateway) > 0


async def test_a_cached_stream_closed_unread_is_cut(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    body = {"model": "gpt-4o", "messages": QUESTION, "temperature": 0}
    first = await _stream(gateway, DIALECT_OPENAI_CHAT, body)
    assert [piece async for piece in first.chunks]
    await first.chunks.aclose()  # type: ignore[attr-defined]
    hit = await _stream(gateway, DIALECT_OPENAI_CHAT, body)
    assert hit.route.cache == "hit"
    await hit.chunks.aclose()  # type: ignore[attr-defined]
    cut, whole = await _rows(gateway, 2)
    assert whole["state"] == "completed"
    assert cut["state"] == "canceled" and cut["error_code"] == "client_disconnected"
    assert len(upstream.llm_requests) == 1


async def test_clients_that_hang_up_at_any_moment_leave_no_row_open(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # The real front door and real sockets: each client sends a streamed request and drops
    # the connection a moment later (before, during or after the upstream's answer).
    gateway: GatewayRuntime = await start_gateway({})
    host, port = gateway.base_url.split("//", 1)[1].rsplit(":", 1)
    body = json.dumps({"model": "gpt-4o", "stream": True, "messages": QUESTION}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    for i in range(HANG_UPS):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(head + body)
        await writer.drain()
        await asyncio.sleep((i % 40) / 10_000)  # 0 to 4 ms
        writer.transport.abort()
    # Settled: as many rows as the last look, none of them still open.
    seen = -1
    async with asyncio.timeout(SETTLE_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=HANG_UPS + 10)
            states = Counter(row["state"] for row in rows)
            if rows and len(rows) == seen and not states["started"]:
                break
            seen = len(rows)
            await asyncio.sleep(0.3)
    assert set(states) <= {"completed", "canceled"}, states
