"""Red-team review of issue 37: a team's gateways in different time zones hold one budget.

A budget's period is counted in the store per lane and period start (finding 49), and each
process took the period's start from its own local calendar. Two gateways on one PostgreSQL
database whose clocks read different time zones (a container on UTC beside a desktop, an
office in another country) therefore counted the same key's budget on two lanes, each up to the
whole limit: a key made by `keys create --budget 1` spent about $1.80 through the two. A store
shared by several gateways now follows one calendar for every process (`store.budget_timezone`,
UTC unless set), so both count on the same lane.

Prices as in `test_budgets_made_elsewhere.py`: only output priced, a call held at 16 tokens
($0.16) answers 9 ($0.09).
"""

from __future__ import annotations

import asyncio

from tests.e2e.team_calls import post_chat
from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream
from tests.security.keys.test_budgets_made_elsewhere import OUTPUT_ONLY, _priced, keys_cli

# Fourteen hours ahead of UTC and eleven behind: their local months start 25 hours apart.
ZONES = {"east": "Pacific/Kiritimati", "west": "Pacific/Pago_Pago"}
BUDGET = 1.0
ROUNDS = 15


async def test_two_team_gateways_in_different_time_zones_hold_one_budget(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        env = {"OPENAI_API_KEY": "sk-team-test", "OPENAI_BASE_URL": upstream.base_url + "/v1"}
        members = [team.join(name, start=False, TZ=zone, **env) for name, zone in ZONES.items()]
        for member in members:
            _priced(member, OUTPUT_ONLY)
        await asyncio.gather(*(asyncio.to_thread(m.start) for m in members))
        made = await keys_cli("create", "roamer", "--budget", str(BUDGET), env=members[0].env())
        statuses: list[int] = []
        for _round in range(ROUNDS):  # one call on each gateway, in turn
            for member in members:
                statuses.append(await asyncio.to_thread(post_chat, member, made["secret"]))
        served = statuses.count(200)
        spent = team.query(
            "SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE owner_principal = %s",
            "key:roamer",
        )[0][0]
        # One lane: ten calls of $0.09 leave too little for an eleventh's $0.16 hold.
        assert served == 10, statuses
        assert float(spent) <= BUDGET + 1e-9, (spent, statuses)
        # The legitimate path: each gateway still serves a key with room.
        roomy = await keys_cli("create", "homebody", "--budget", "50", env=members[1].env())
        for member in members:
            assert await asyncio.to_thread(post_chat, member, roomy["secret"]) == 200
        for member in members:
            await asyncio.to_thread(member.stop)
