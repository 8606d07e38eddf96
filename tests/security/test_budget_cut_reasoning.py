"""Issue 37, item 3: a reasoning model's call cut before its usage is counted at its hold.

A reasoning model bills thinking that sends no stream events, and OpenAI's dialects report
usage in their last event only. Streams of `gpt-5` with `max_completion_tokens: 8000`, each
cut after its first event, were counted at a token per event: 25 of them under a $0.10 hard
budget counted $0.00053 in all. Under a hard budget such a call is now counted at what was held
for it (its input and its output limit), and its row says the cost is estimated, so cut calls
use the budget up as fast as whole ones could. The same for a call whose client left before
the answer began (the vendor still answers, and bills).

The upstream is a small real HTTP server on loopback answering like OpenAI's Chat Completions
for a reasoning model: a first chunk at once, then nothing until the client has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._budget_support import (
    HeldChat,
    mallory_openai,
    openai_served_by,
    start_under_a_hard_budget,
    stored_records,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    provider_env,
    start,
)
from tests.waiting import until

MODEL = "gpt-5"  # $1.25 in, $10 out a million: 8,000 output tokens are $0.08
LIMIT = 8000
BUDGET = 0.10
AT_ONCE = 25


class _Thinking(HeldChat):
    """A reasoning model's Chat Completions: the role chunk, then thinking until released."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[Any] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.limits.append(body.get("max_completion_tokens"))
        if not body.get("stream"):
            async with asyncio.timeout(10):
                await self.release.wait()
            return web.json_response({"error": {"message": "late"}}, status=500)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        first = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
        }
        await response.write(f"data: {json.dumps(first)}\n\n".encode())
        try:
            async with asyncio.timeout(10):
                await self.release.wait()
        except TimeoutError:
            pass
        return response


# The fixture: the fake, the gateway's OpenAI provider pointed at it.
thinking = openai_served_by(_Thinking)


@pytest.fixture
async def gateway(start: Start, thinking: _Thinking) -> GatewayRuntime:  # noqa: F811
    """A locked gateway under the hard $0.10 budget, its OpenAI provider on `thinking`."""
    return await start_under_a_hard_budget(start, BUDGET)


async def _cut_after_first_event(client: openai.AsyncOpenAI) -> int:
    """One stream read to its first event, then hung up: 200, or the refusal's status."""
    try:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "think hard"}],
            max_completion_tokens=LIMIT,
            stream=True,
        )
    except openai.APIStatusError as refused:
        return refused.status_code
    async for _chunk in stream:
        break
    await stream.close()
    return 200


async def _settled(gateway: GatewayRuntime) -> list[dict[str, Any]]:
    """The records of calls that reached the upstream, once each has ended."""
    async with asyncio.timeout(10):
        while True:
            records = await stored_records(gateway, lambda r: r["error_code"] != "budget_exceeded")
            if records and all(r["state"] != "started" for r in records):
                return records
            await asyncio.sleep(0.05)


async def test_cut_reasoning_streams_use_the_budget_up_at_their_holds(
    gateway: GatewayRuntime, thinking: _Thinking
) -> None:
    fake = thinking
    client = mallory_openai(gateway)
    async with asyncio.timeout(60):
        statuses = await asyncio.gather(*(_cut_after_first_event(client) for _ in range(AT_ONCE)))
        # Then one at a time, as a caller that always hangs up early would go on.
        for _ in range(AT_ONCE):
            status = await _cut_after_first_event(client)
            statuses.append(status)
            if status == 402:
                break
    admitted = statuses.count(200)
    assert set(statuses) == {200, 402}, statuses
    # $0.10 holds one call of 8,000 tokens ($0.08) and one lowered to the $0.02 left.
    assert admitted == len(fake.limits) <= 3, (statuses, fake.limits)
    assert fake.limits[0] == LIMIT and all(limit <= LIMIT for limit in fake.limits)
    rows = await _settled(gateway)
    assert len(rows) == admitted
    for row in rows:
        assert row["state"] == "canceled" and row["cost_source"] == "estimate", row
    # Each cut call counted at least its output limit: the budget is used up, not passed.
    assert sorted(r["output_tokens"] for r in rows) == sorted(fake.limits)
    spent = gateway.engine.budget_ledger.statuses()[0].spent
    assert BUDGET - 0.01 <= spent <= BUDGET + 1e-9, spent


async def test_a_call_whose_client_left_before_the_answer_counts_its_hold(
    gateway: GatewayRuntime, thinking: _Thinking
) -> None:
    fake = thinking
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "think hard"}],
        "max_completion_tokens": 5000,
    }
    headers = {"Authorization": f"Bearer {TOKEN}", USER_HEADER: "mallory"}
    async with aiohttp.ClientSession() as http:
        posting = asyncio.ensure_future(
            http.post(gateway.base_url + "/v1/chat/completions", json=body, headers=headers)
        )
        # The client leaves once the upstream is asked (its answer never comes): leaving after a
        # fixed half second could come before a loaded gateway had asked it.
        await until(lambda: fake.limits or posting.done(), "the upstream asked")
        assert not posting.done(), posting.result()
        posting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await posting
    (row,) = await _settled(gateway)
    assert row["error_code"] == "client_disconnected" and row["cost_source"] == "estimate", row
    assert row["output_tokens"] == 5000 and fake.limits == [5000]
    assert row["cost_usd"] >= 0.05


async def test_cut_reasoning_streams_admitted_from_a_reserve_count_their_holds(
    start: Start,  # noqa: F811
    thinking: _Thinking,
) -> None:
    # Under $10 the first call reserves room for more (`engine/budgets/reserves.py`): the
    # next are admitted in memory, and each cut one is counted at its hold all the same.
    gateway = await start_under_a_hard_budget(start, 10.0)
    client = mallory_openai(gateway)
    reserves = gateway.engine.budget_ledger.accounts.reserves
    async with asyncio.timeout(30):
        statuses = [await _cut_after_first_event(client) for _ in range(12)]
    assert statuses == [200] * 12 and reserves._lanes  # all but the first from the reserve
    rows = await _settled(gateway)
    assert len(rows) == 12
    for row in rows:
        assert row["cost_source"] == "estimate" and row["output_tokens"] == LIMIT, row
    spent = gateway.engine.budget_ledger.statuses()[0].spent
    assert spent >= 12 * 0.08 - 1e-9, spent
