"""A gateway key revoked and made again with a lower budget by another process, while a team
gateway holds a reserve on its budget (issue 42).

Two real gateway processes on one PostgreSQL database; the first serves a key from room it
reserved under the key's budget (`engine/budgets/reserves.py`). The `keys` CLI (another
process) revokes the key and makes one of the same name (the same budget lane) with room for
one call more. The old secret is refused at once; the new one is admitted once and then
refused by both gateways, though the first still reserves room granted under the old limit.
"""

from __future__ import annotations

import asyncio

from tests.child_python import run_ours
from tests.e2e.team_calls import COST, HOLD, post_chat, priced_team, reserved
from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream
from tests.security.keys.test_budgets_made_elsewhere import CLI_TIMEOUT_S, keys_cli


async def test_a_key_made_again_with_a_lower_budget_is_held_to_it_despite_a_reserve(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        first, second = await priced_team(team, upstream, ("first", "second"))
        old = (await keys_cli("create", "bot", "--budget", "20", env=first.env()))["secret"]
        for _ in range(3):
            assert await asyncio.to_thread(post_chat, first, old) == 200
        assert reserved(team) > 1.0
        spent = 3 * COST
        lowered = round(spent + HOLD + 0.05, 2)  # room for one more call's hold, not two
        code, _out, err = await run_ours(
            "keys", "revoke", "bot", env=second.env(), timeout_s=CLI_TIMEOUT_S
        )
        assert code == 0, err.decode()
        # The same holder's key again (its budget lane and spend carry on): said explicitly,
        # since a name an earlier key held is otherwise refused.
        made = await keys_cli(
            "create", "bot", "--budget", str(lowered), "--continue-identity", env=second.env()
        )
        new = made["secret"]
        assert await asyncio.to_thread(post_chat, first, old) == 401
        answers = [await asyncio.to_thread(post_chat, first, new) for _ in range(3)]
        answers += [await asyncio.to_thread(post_chat, second, new) for _ in range(2)]
        assert answers == [200, 402, 402, 402, 402]
        assert len(upstream.llm_requests) == 4
        await asyncio.gather(*(asyncio.to_thread(m.stop) for m in (first, second)))
        total = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        assert total <= lowered + 1e-9
