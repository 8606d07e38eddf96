"""The PostgreSQL store unreachable while a team gateway holds a budget reserve (issue 42).

A real gateway process on a PostgreSQL database serves the local operator under a hard budget
from room it reserved in the store (`engine/budgets/reserves.py`). The database then refuses
every connection and the gateway's are ended (as a server stopped would). The gateway serves on
only from the room it reserved before (counted in the store already), then answers 503. Once
the store is back, it serves again; what it owed is written, the spend is at least what the
vendor billed and never past the budget, and nothing is left held once it stops.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream
from tests.reliability.test_budget_reserve_crash import COST, MODEL, OUTPUT_ONLY

BUDGET = 20.0
HOLD = 0.16


def _post(member: TeamGateway) -> int:
    """A call from this machine (the local operator: no key), under the configured budget."""
    request = urllib.request.Request(
        member.base_url + "/v1/chat/completions",
        data=json.dumps(
            {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        refused.read()
        return int(refused.code)


def _admin(team: Team, statement: str) -> None:  # noqa: F811
    import psycopg

    name = team.db_url.rsplit("/", 1)[1]
    with psycopg.connect(team.db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(statement.replace("{db}", name))


async def test_a_store_gone_while_a_reserve_is_held_admits_only_the_room_reserved_before(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        env = {"OPENAI_API_KEY": "sk-team-test", "OPENAI_BASE_URL": upstream.base_url + "/v1"}
        member = team.join("only", start=False, **env)
        config = Path(member.env()["LLM_GATEWAY_CONFIG"])
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f'[gateway.prices]\n"{MODEL}" = {OUTPUT_ONLY}\n\n[[budgets]]\nscope = "global"\n'
            f'unit = "usd"\nperiod = "daily"\nhard = {BUDGET}\n',
            encoding="utf-8",
        )
        await asyncio.to_thread(member.start)
        assert await asyncio.to_thread(_post, member) == 200
        reserved = float(
            team.query("SELECT sum(amount) FROM budget_holds WHERE id LIKE 'reserve:%%'")[0][0]
        )
        _admin(team, 'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        _admin(
            team,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'",
        )
        try:
            answers = [await asyncio.to_thread(_post, member) for _ in range(60)]
        finally:
            _admin(team, 'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        served = answers.count(200)
        assert set(answers) <= {200, 503}, answers
        # The reserve's room, counted in the store before it went, and not a call more.
        assert served == int(reserved / HOLD + 1e-9), (answers, reserved)
        for _ in range(50):
            if await asyncio.to_thread(_post, member) == 200:
                break
            await asyncio.sleep(0.1)
        billed = len(upstream.llm_requests) * COST
        await asyncio.to_thread(member.stop)
        spent = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        held = team.query("SELECT count(*) FROM budget_holds")[0][0]
        assert billed - 1e-9 <= spent <= BUDGET + 1e-9, (spent, billed)
        assert held == 0
