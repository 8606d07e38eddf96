"""SIGSTOP of a team gateway that holds a budget reserve, past its lease, then SIGCONT (issue 42).

Two real gateway processes on one PostgreSQL database serve a key made by the real CLI, under
a roomy budget: the first admits its calls from room it reserved in the store
(`engine/budgets/reserves.py`). It is stopped (SIGSTOP) with calls in flight upstream, for
longer than its lease. Meanwhile the second serves the key, and its admission counts what the
first held (its calls' holds and its reserve) as spent in full. Then the first runs again: it
serves the key too (its reserve found gone and dropped, not admitted against), and at the end
the budget's spend in the store is at least what the vendor billed and no hold is left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from tests.e2e.team_calls import COST, post_chat, priced_team
from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.reliability.test_budget_reserve_crash import BUDGET, LEASE_MS
from tests.security.keys.test_budgets_made_elsewhere import keys_cli


def _held_by(team: Team, pid: int) -> int:  # noqa: F811
    """How many rows of `budget_holds` the gateway process `pid` owns."""
    rows = team.query(
        "SELECT count(*) FROM budget_holds h JOIN process_leases p ON p.id = h.process"
        " WHERE p.pid = %s",
        pid,
    )
    return int(rows[0][0])


async def test_a_gateway_stopped_past_its_lease_with_a_reserve_serves_on_when_it_runs_again(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        upstream.default = Reply.ok(delay_s=0.4)  # the calls are in flight when it stops
        lease = {"LLM_GATEWAY_JOB_LEASE_MS": str(LEASE_MS)}
        first, second = await priced_team(team, upstream, ("first", "second"), **lease)
        made = await keys_cli("create", "paused-bot", "--budget", str(BUDGET), env=first.env())
        secret = made["secret"]
        for _ in range(3):
            assert await asyncio.to_thread(post_chat, first, secret) == 200
        assert first.proc is not None
        pid = first.proc.pid
        running = [
            asyncio.ensure_future(asyncio.to_thread(post_chat, first, secret)) for _ in range(4)
        ]
        for _ in range(100):  # all four reached the upstream
            if len(upstream.llm_requests) >= 7:
                break
            await asyncio.sleep(0.02)
        assert _held_by(team, pid) > 0  # its calls' holds and its reserve
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(LEASE_MS / 1000 + 1.0)
            # The second's admission counts what the first held as spent in full.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                assert await asyncio.to_thread(post_chat, second, secret) == 200
                if not _held_by(team, pid):
                    break
                await asyncio.sleep(0.2)
            assert not _held_by(team, pid), "the stopped process's holds were never counted"
        finally:
            os.kill(pid, signal.SIGCONT)
        assert set(await asyncio.gather(*running)) == {200}  # its calls in flight end
        # It serves on: every call, from a reserve or the store, under the budget.
        answers = [await asyncio.to_thread(post_chat, first, secret) for _ in range(5)]
        assert answers == [200] * 5
        billed = len(upstream.llm_requests) * COST
        await asyncio.gather(*(asyncio.to_thread(m.stop) for m in (first, second)))
        spent = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        held = team.query("SELECT count(*), coalesce(sum(amount), 0) FROM budget_holds")
        assert spent >= billed - 1e-9, (spent, billed)
        assert spent <= BUDGET + 1e-9
        assert held[0][0] == 0, held
