"""A call cancelled while a hard budget admits it leaves no hold behind.

Near a hard budget's limit every call is admitted in the store: its hold is written in a
transaction on the database thread, which a client that hangs up cannot stop. The request's
handler is cancelled (aiohttp's handler cancellation) wherever it waits; cut while its hold
was being written, the call never got the hold back to release, and the hold stayed in the
store for as long as the gateway ran: room on the budget taken by a call that was gone, and
calls refused `held_by_running_calls` for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

from llmgw_desktop.engine.api import DIALECT_OPENAI_CHAT, CallerInfo
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

# Each call is held at its 4,000-token output limit: with less free room than 64 such holds
# (`reserves.RESERVE_FLOOR_CALLS`) no reserve is granted, so every call is admitted in the
# store. A call cut once its request may have gone out counts at its hold (the vendor may
# bill it), so the sweep is short enough not to use the budget up.
MAX_TOKENS = 4_000
TOKENS_TODAY = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 250_000}]
# Loop turns after which a call is cancelled: each await of the request up to its upstream
# call cut in turn, round after round (the database thread takes more turns or fewer).
CUT_AFTER_TURNS = 20
ROUNDS = 5
SETTLE_S = 10.0


async def _holds(gateway: GatewayRuntime) -> list[tuple[str, float]]:
    """The calls' holds in the store (not a process's reserves or wanted marks)."""
    database = gateway.engine.store.models.database
    rows = await gateway.engine.store.run(
        lambda: database.execute_sql("SELECT id, amount FROM budget_holds").fetchall()
    )
    return [(str(i), float(a)) for i, a in rows if ":" not in str(i)]


async def _sweep(gateway: GatewayRuntime, stream: bool) -> Counter[str]:
    caller = CallerInfo(principal=LOCAL_CALLER.id, endpoint="/v1/chat/completions")
    seen: Counter[str] = Counter()
    for turns in [t for _ in range(ROUNDS) for t in range(CUT_AFTER_TURNS)]:
        body: dict[str, Any] = {
            "model": "gpt-4o",
            "max_tokens": MAX_TOKENS,
            "stream": stream,
            "messages": [{"role": "user", "content": f"hi {turns}"}],
        }
        call = asyncio.ensure_future(
            gateway.engine.gateway.chat(DIALECT_OPENAI_CHAT, body, caller, stream=stream)
        )
        for _ in range(turns):
            await asyncio.sleep(0)
        call.cancel()
        try:
            answer = await call
        except asyncio.CancelledError:
            seen["cut"] += 1
            continue
        seen["answered"] += 1
        chunks = getattr(answer, "chunks", None)
        if chunks is not None:  # closed unread, as a front door whose client left does
            await chunks.aclose()
    return seen


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_calls_cut_at_any_await_leave_no_hold_in_the_store(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, stream: bool
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": TOKENS_TODAY})
    seen = await _sweep(gateway, stream)
    assert seen["cut"], seen
    # Settled: every row ended, then no call's hold left (released holds go at the flush).
    deadline = time.monotonic() + SETTLE_S
    while True:
        rows = Counter(r["state"] for r in await gateway.engine.recorder.recent(limit=500))
        holds = await _holds(gateway)
        if (not rows["started"] and not holds) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert not rows["started"], rows
    assert holds == [], holds
