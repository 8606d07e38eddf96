"""kill -9 of a team gateway that holds a budget reserve, with calls running (issue 42).

Two real gateway processes on one PostgreSQL database serve a key made by the real CLI, under
a roomy budget: the first admits its calls from room it reserved in the store
(`engine/budgets/reserves.py`). It is killed with six calls in flight upstream. Afterwards:
the second keeps serving the key; once the first's lease has run out, the second's next
admission counts everything the first held (its calls' holds and its reserve) as spent in full
and deletes it; the budget's spend in the store is at least what the vendor billed (every call
that reached the upstream) and never past the budget; no hold of the dead process is left.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.team_calls import COST, post_chat, priced_team, reserved
from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.security.keys.test_budgets_made_elsewhere import keys_cli

BUDGET = 20.0
LEASE_MS = 1500
IN_FLIGHT_S = 5.0  # how long the upstream takes over the calls the kill cuts


async def test_a_killed_gateways_reserve_is_counted_as_spent_and_the_other_serves_on(
    team: Team,  # noqa: F811
) -> None:
    with ThreadPoolExecutor(max_workers=6) as callers:
        await _kill_one_and_serve_on(team, callers)


async def _kill_one_and_serve_on(team: Team, callers: ThreadPoolExecutor) -> None:  # noqa: F811
    async with ScriptedUpstream() as upstream:
        upstream.default = Reply.ok(delay_s=0.4)  # the calls are in flight when it is killed
        lease = {"LLM_GATEWAY_JOB_LEASE_MS": str(LEASE_MS)}
        first, second = await priced_team(team, upstream, ("first", "second"), **lease)
        made = await keys_cli("create", "crash-bot", "--budget", str(BUDGET), env=first.env())
        secret = made["secret"]
        # The first's first call is admitted in the store and reserves room; two more from it.
        for _ in range(3):
            assert await asyncio.to_thread(post_chat, first, secret) == 200
        assert reserved(team) > 1.0
        # These six are answered slowly, so they are still in flight when the first is killed
        # whatever the machine's load (at 0.4 s, a loaded CI saw all six answered first).
        upstream.default = Reply.ok(delay_s=IN_FLIGHT_S)
        # On threads of their own: the loop's default pool has as many workers as two cores
        # give (six), so these six filled it and the kill below waited for one to be answered
        # (a CI run saw all six answered, then the kill).
        loop = asyncio.get_running_loop()
        running = [loop.run_in_executor(callers, post_chat, first, secret) for _ in range(6)]
        for _ in range(100):  # all six reached the upstream
            if len(upstream.llm_requests) >= 9:
                break
            await asyncio.sleep(0.02)
        dead = team.query("SELECT DISTINCT process FROM budget_holds")
        assert len(dead) == 1, dead
        held = float(team.query("SELECT sum(amount) FROM budget_holds")[0][0])
        await asyncio.to_thread(first.kill9)
        upstream.default = Reply.ok(delay_s=0.4)
        assert 0 in set(await asyncio.gather(*running))  # killed under calls in flight
        billed = len(upstream.llm_requests) * COST  # what the vendor was asked for
        # The other member serves on; once the first's lease has run out, its next admission
        # counts what the first held as spent in full.
        assert await asyncio.to_thread(post_chat, second, secret) == 200
        await asyncio.sleep(LEASE_MS / 1000 + 1.0)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert await asyncio.to_thread(post_chat, second, secret) == 200
            left = team.query("SELECT count(*) FROM budget_holds WHERE process = %s", dead[0][0])
            if not left[0][0]:
                break
            await asyncio.sleep(0.2)
        assert not left[0][0], "the dead process's holds were never counted"
        spent = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        served_after = len(upstream.llm_requests) * COST - billed
        # At least what the vendor billed (the first's unwritten costs are inside its holds),
        # at most the budget.
        assert spent >= billed + served_after - 1e-9, (spent, billed, served_after, held)
        assert spent <= BUDGET + 1e-9
        await asyncio.to_thread(second.stop)
