"""The PostgreSQL store unreachable while a team gateway holds a budget reserve (issue 42).

A real gateway process on a PostgreSQL database serves the local operator under a hard budget
from room it reserved in the store (`engine/budgets/reserves.py`). The database then refuses
every connection and the gateway's are ended (as a server stopped would). The gateway serves on
only from the room it reserved before (counted in the store already), then answers 503. Once
the store is back, it serves again; what it owed is written, the spend is at least what the
vendor billed and never past the budget, and nothing is left held once it stops.

Stopped while the store is still gone, with what it owes unwritten, the gateway stops in a
bounded time (its budget writes run to their end at a stop, `tasks.to_its_end`, and one that
cannot reach the store ends at once), and the store it leaves counts no less than was billed:
its holds stay, each at least what its call cost.
"""

from __future__ import annotations

import asyncio
import time

from tests.e2e.team_calls import (
    COST,
    HOLD,
    global_budget,
    post_chat,
    priced_team,
)
from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream

BUDGET = 20.0
# A stop that cannot reach the store ends about a second after its signal (measured 0.8 s).
STOP_WITHIN_S = 10.0


def _admin(team: Team, statement: str) -> None:  # noqa: F811
    import psycopg

    name = team.db_url.rsplit("/", 1)[1]
    with psycopg.connect(team.db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(statement.replace("{db}", name))


def _reserved_as_the_store_goes(team: Team) -> float:  # noqa: F811
    """Make the store refuse connections and end the gateway's; what its reserves held then.

    Read on a connection of our own, opened before and ended last: a reserve running low is
    granted more at every flush, so a figure read before the store went may miss a grant the
    gateway wrote after it (a loaded CI machine saw 15 calls' room read, 29 granted)."""
    import psycopg

    with psycopg.connect(team.db_url, autocommit=True) as ours:
        _admin(team, 'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        _admin(
            team,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{{db}}' AND pid <> {ours.info.backend_pid}",
        )
        row = ours.execute(
            "SELECT sum(amount) FROM budget_holds WHERE id LIKE 'reserve:%'"
        ).fetchone()
    return float(row[0] or 0.0) if row else 0.0


async def test_a_store_gone_while_a_reserve_is_held_admits_only_the_room_reserved_before(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        (member,) = await priced_team(team, upstream, ("only",), config=global_budget(BUDGET))
        assert await asyncio.to_thread(post_chat, member) == 200
        reserve = _reserved_as_the_store_goes(team)
        try:
            answers = [await asyncio.to_thread(post_chat, member) for _ in range(60)]
        finally:
            _admin(team, 'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        served = answers.count(200)
        assert set(answers) <= {200, 503}, answers
        # The reserve's room, counted in the store before it went, and not a call more.
        assert served == int(reserve / HOLD + 1e-9), (answers, reserve)
        for _ in range(50):
            if await asyncio.to_thread(post_chat, member) == 200:
                break
            await asyncio.sleep(0.1)
        billed = len(upstream.llm_requests) * COST
        await asyncio.to_thread(member.stop)
        spent = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        held = team.query("SELECT count(*) FROM budget_holds")[0][0]
        assert billed - 1e-9 <= spent <= BUDGET + 1e-9, (spent, billed)
        assert held == 0


async def test_a_stop_while_the_store_is_gone_ends_in_time_and_leaves_no_less_counted(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        (member,) = await priced_team(team, upstream, ("only",), config=global_budget(BUDGET))
        assert await asyncio.to_thread(post_chat, member) == 200
        _reserved_as_the_store_goes(team)
        try:
            answers = [await asyncio.to_thread(post_chat, member) for _ in range(5)]
            assert answers.count(200) >= 1, answers  # served from its reserve, owed unwritten
            began = time.monotonic()
            await asyncio.to_thread(member.stop)
            took = time.monotonic() - began
        finally:
            _admin(team, 'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        assert took < STOP_WITHIN_S, took
        billed = len(upstream.llm_requests) * COST
        spent = float(team.query("SELECT coalesce(sum(spent), 0) FROM budget_spend")[0][0])
        held = float(team.query("SELECT coalesce(sum(amount), 0) FROM budget_holds")[0][0])
        assert spent + held >= billed - 1e-9, (spent, held, billed)
