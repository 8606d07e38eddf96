"""A large call on one team gateway while the other serves small calls from its budget
reserve (issue 42).

Two real gateway processes on one PostgreSQL database, under one global hard budget. The
first serves a steady stream of small calls from room it reserved in the store
(`engine/budgets/reserves.py`), 128 of their holds, kept topped up while it is in use. A
client of the second asks for a call the budget has room for, though not beside the first's
reserve: it is served whole, on its first asking, while the first keeps serving.
"""

from __future__ import annotations

import asyncio

from tests.e2e.team_calls import global_budget, post_chat, priced_team, reserved
from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream
from tests.waiting import until

BUDGET = 200.0
# Output tokens at a cent each: $185 of the $200 (the small calls spend a dollar or two), not
# beside the first's reserve of up to $20.48 (128 small calls' holds).
BIG = 18_500


async def test_a_call_the_budget_has_room_for_is_served_beside_another_gateways_reserve(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        first, second = await priced_team(
            team, upstream, ("first", "second"), config=global_budget(BUDGET)
        )
        assert await asyncio.to_thread(post_chat, first) == 200
        assert reserved(team) > 20.0
        busy = True
        small: list[int] = []

        async def serve_small() -> None:
            while busy:
                small.append(await asyncio.to_thread(post_chat, first))
                await asyncio.sleep(0.02)

        steady = asyncio.ensure_future(serve_small())
        try:
            await until(lambda: len(small) >= 2, "the first serving small calls")
            assert await asyncio.to_thread(post_chat, second, None, BIG) == 200
            # Counted, not timed: a loaded run serves fewer small calls in a given time.
            await until(lambda: len(small) > 5, "the first still serving small calls")
        finally:
            busy = False
            await steady
        assert set(small) == {200} and len(small) > 5, small
        sent = [r.body.get("max_tokens") for r in upstream.llm_requests]
        assert BIG in sent  # served whole, not cut to what was left beside the reserve
        await asyncio.gather(*(asyncio.to_thread(m.stop) for m in (first, second)))
        spent = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        assert spent <= BUDGET + 1e-9
        assert team.query("SELECT count(*) FROM budget_holds")[0][0] == 0
