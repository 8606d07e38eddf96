"""A gateway's budget reserve never lets a call past a hard limit (issue 42).

Under a roomy hard budget a gateway admits calls from room it reserved in the store, with no
trip to the store per call (`engine/budgets/reserves.py`). The attacks, each beside the
legitimate path: the budget is lowered while the reserve holds room granted under the old
limit (the next call is decided on the new limit, and the reserve's room does not admit it);
fifty calls at once through the official SDK with a reserve held stop at the limit, each
admitted with room for its whole hold, and nothing is left held once they have ended.

Prices: only output priced, at a cent a token: a call answering 9 tokens costs $0.09 and is
held at its `max_tokens`, 16 ($0.16).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.budgets.reserves import IDLE_S, Grant, Reserves
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests import waiting
from tests.clock import Clock
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

MODEL = "gpt-4o-mini"
OUTPUT_ONLY = {"input": 0.0, "output": 10_000.0, "cache_read": 0.0}
MAX_TOKENS = 16
HI = [{"role": "user", "content": "hi"}]
HOLD, COST = 0.16, 0.09


def _global(hard: float) -> dict[str, Any]:
    return {"scope": "global", "unit": "usd", "period": "daily", "hard": hard}


async def _call(client: openai.AsyncOpenAI) -> int:
    try:
        await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=MAX_TOKENS)
    except openai.APIStatusError as refused:
        assert refused.status_code != 402 or "budget" in str(refused.body)
        return refused.status_code
    return 200


async def _nothing_held(gateway: GatewayRuntime) -> bool:
    return await _held(gateway) == 0


async def _held(gateway: GatewayRuntime) -> float:
    """What the store holds on every lane (calls' holds and reserves), of any process."""
    database = gateway.engine.store.models.database
    row = await gateway.engine.store.run(
        lambda: database.execute_sql("SELECT coalesce(sum(amount), 0) FROM budget_holds").fetchone()
    )
    return float(row[0])


def _held_in_memory(reserves: Reserves) -> float:
    """What the calls admitted from this process's reserves hold now."""
    return sum(reserve.used for reserve in reserves._lanes.values())


async def _under(
    start: GatewayFactory, hard: float
) -> tuple[GatewayRuntime, openai.AsyncOpenAI, BudgetLedger]:
    """A gateway with MODEL priced OUTPUT_ONLY under a global hard budget of `hard` dollars a
    day, an OpenAI client of it (the local user), and its ledger."""
    gateway = await start({"gateway.prices": {MODEL: OUTPUT_ONLY}, "budgets": [_global(hard)]})
    return gateway, openai_client(gateway), gateway.engine.budget_ledger


async def _settled(ledger: BudgetLedger, gateway: GatewayRuntime) -> None:
    """The calls' costs and ended holds written (the flush runs every 50 ms)."""
    for _ in range(100):
        if not ledger.accounts._adds and not ledger.accounts._released:
            break
        await asyncio.sleep(0.02)
    assert await ledger.accounts.flush()


async def test_a_budget_lowered_under_a_reserve_holds_from_the_next_call(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway, client, ledger = await _under(start_gateway, 50)
    # Legitimate: with room, the first call is decided in the store, which grants a reserve
    # of an eighth of the free room ($6.23: less than 128 calls like it); the next ones are
    # admitted from it.
    assert [await _call(client) for _ in range(5)] == [200] * 5
    reserves = ledger.accounts.reserves
    assert reserves.active and sum(r.spare for r in reserves._lanes.values()) > 4.0
    await _settled(ledger, gateway)
    spent = ledger.statuses()[0].spent
    assert abs(spent - 5 * COST) < 1e-9
    # The operator lowers the budget to $0.20 more than is spent: room for one call's hold,
    # though this process still reserves $4+ under the old limit.
    lowered = round(spent + 0.20, 2)
    await gateway.engine.budgets.replace(LOCAL_CALLER, [_global(lowered)])
    answers = [await _call(client) for _ in range(4)]
    assert answers == [200, 402, 402, 402]
    await _settled(ledger, gateway)
    assert ledger.statuses()[0].spent <= lowered + 1e-9
    assert len(upstream.llm_requests) == 6


async def test_a_budget_lowered_while_a_call_waits_for_its_reserves_top_up_holds_that_call(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    # A call that finds its reserve dry while a top-up is written waits for it and takes from
    # the room that comes. Lowered meanwhile, the budget it is asked again under is the new
    # one: the room granted under the old limit does not admit it.
    gateway, client, ledger = await _under(start_gateway, 50)
    assert [await _call(client) for _ in range(5)] == [200] * 5  # legitimate: a reserve held
    await _settled(ledger, gateway)
    spent = ledger.statuses()[0].spent
    reserves = ledger.accounts.reserves
    (reserve,) = reserves._lanes.values()
    # The flush every 50 ms looks at each reserve with a grant of its own, whose landing would
    # end the test's top-up below: the lane is kept from it as a lane with a call decided in
    # the store is, and kept from going idle, and a look already being written lands first.
    accounts = ledger.accounts
    accounts._asking[reserve.key] = accounts._asking.get(reserve.key, 0) + 1
    reserve.touched = time.monotonic() + 3600
    await waiting.until(lambda: not reserve.granting, "the flush's look at the reserve landed")
    # Its spare taken by calls running (as if), and a top-up of it being written.
    running = reserve.spare
    reserve.used += running
    top_up = Grant(reserve.key, reserve.row, False, reserve.limit, 1.0, HOLD)
    reserves.granting([top_up], on=True)
    call = asyncio.ensure_future(_call(client))
    # Bounded by time, not turns: a loaded CI once ended 200 turns of 10 ms with the call not
    # waiting yet; if it is answered without waiting, the message below says so.
    await waiting.until(
        lambda: reserves._landed is not None or call.done(),
        "the call waits for the top-up (or is answered)",
        timeout_s=20.0,
    )
    assert reserves._landed is not None and not call.done(), (
        f"the call did not wait for the top-up (answered: {call.done() and call.result()})"
    )
    await gateway.engine.budgets.replace(LOCAL_CALLER, [_global(round(spent, 2))])
    reserve.used -= running
    reserves.granting([top_up], on=False)  # landed, with the reserve's room back as it was
    assert await call == 402
    assert len(upstream.llm_requests) == 5


async def test_fifty_calls_at_once_with_a_reserve_held_stop_at_the_limit(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    hard = 12.0  # above the floor for reserves (64 holds, $10.24): the first grants one
    gateway, client, ledger = await _under(start_gateway, hard)
    assert await _call(client) == 200
    assert ledger.accounts.reserves.active
    served = 1
    for _round in range(4):
        answers = await asyncio.gather(*(_call(client) for _ in range(50)))
        assert set(answers) <= {200, 402}, answers
        served += answers.count(200)
        # What may be spent never passes the limit: the costs of the calls that ended and
        # the holds (calls' and reserves') in the store.
        await _settled(ledger, gateway)
        assert ledger.statuses()[0].spent + await _held(gateway) <= hard + 1e-9
    assert served * COST <= hard + 1e-9
    assert 402 in answers  # the budget was reached: $12 is 133 calls of $0.09
    assert len(upstream.llm_requests) == served
    # Nothing is left held once the calls have ended and the reserve has gone idle (1 s).
    await waiting.until(lambda: _nothing_held(gateway), "nothing held", timeout_s=20.0)


async def test_a_large_call_is_not_cut_short_for_room_this_process_reserved_idle(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway, client, ledger = await _under(start_gateway, 50)
    assert await _call(client) == 200  # the store grants the lane a reserve of $6.23
    await _settled(ledger, gateway)
    assert ledger.accounts.reserves._lanes
    # Attack on the legitimate path: a call asking for 5,500 tokens ($55) does not fit what
    # is left ($49.91), so it is sent with the lower limit the room pays for: all of the room,
    # 4,991 tokens, not the 4,368 left beside the reserve's idle spare.
    await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=5500)
    assert upstream.llm_requests[-1].body["max_tokens"] == 4991
    await _settled(ledger, gateway)
    assert ledger.statuses()[0].spent + await _held(gateway) <= 50 + 1e-9


async def test_a_call_taken_from_a_reserve_gives_its_hold_back_however_it_ends(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway, client, ledger = await _under(start_gateway, 50)
    reserves = ledger.accounts.reserves
    # The reserve's idleness on a clock the test moves: a loaded CI once took more than its
    # second (IDLE_S) between two calls, so the reserve was given back and the last call was
    # decided in the store, held there rather than in the reserve this test is about.
    reserves._clock = clock = Clock(time.monotonic())
    assert await _call(client) == 200  # the store grants the lane a reserve
    # Each of these is admitted from the reserve, then ends without an answer: refused by the
    # gateway after its admission (more answers than a hold pays for), refused upstream, cut
    # upstream mid-body, and cut by the client before the vendor's first byte.
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=1, n=129)
    upstream.script(Reply.error(400), Reply.cut())
    for _ in range(2):
        with pytest.raises(openai.APIError):
            await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=MAX_TOKENS)
    upstream.script(Reply.slow(5.0))
    asked = asyncio.ensure_future(
        client.chat.completions.create(model=MODEL, messages=HI, max_tokens=MAX_TOKENS, stream=True)
    )
    await waiting.until(  # the call reached the vendor, held in this process's reserve
        lambda: len(upstream.llm_requests) == 4, "the call at the vendor", timeout_s=20.0
    )
    assert _held_in_memory(reserves) == pytest.approx(HOLD)  # that one call's hold
    asked.cancel()
    await waiting.until(  # the gateway sees the client leave
        lambda: _held_in_memory(reserves) <= 1e-9, "the hold given back", timeout_s=20.0
    )
    assert len(reserves._lanes) == 1  # every call above was admitted from the one reserve
    # Nothing is left held once the reserve has gone idle, and the two cut calls, which the
    # vendor may have billed, count at their holds.
    clock.advance(IDLE_S)
    await waiting.until(lambda: _nothing_held(gateway), "nothing held", timeout_s=20.0)
    await _settled(ledger, gateway)
    assert ledger.statuses()[0].spent >= COST + 2 * HOLD - 1e-9
