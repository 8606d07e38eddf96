"""Two real gateway processes on one PostgreSQL database under load: 2 x 5,000 chat requests
sent with the official wire format to both at once, and every flight-recorder row present
exactly once afterwards (the issue's bar for a shared recorder).

The upstream is the scripted fake on loopback (answers at once), so the figures are the
gateways' and the database's own; each request carries a caller label of its own (`X-Caller`),
which the recorder keeps, so a row lost or written twice is found by name.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream

PER_GATEWAY = 5_000
IN_FLIGHT = 16  # per gateway: two agents' worth of concurrency each
LOAD_LIMIT_S = 300.0  # bound on the whole load; on this 2-core box it takes about a minute


async def send_all(gateway: TeamGateway, name: str, count: int, failures: list[str]) -> int:
    """Send `count` chat requests to `gateway`, `IN_FLIGHT` at a time; return how many
    were answered 200 (the others are kept in `failures`)."""
    answered = 0
    numbers = iter(range(count))
    url = gateway.base_url + "/v1/chat/completions"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:

        async def worker() -> None:
            nonlocal answered
            for n in numbers:
                body = {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": f"request {name} {n}"}],
                }
                headers = {"X-Caller": f"load-{name}-{n:05d}"}
                async with http.post(url, json=body, headers=headers) as response:
                    text = await response.text()
                    if response.status == 200:
                        answered += 1
                    else:
                        failures.append(f"{name} {n}: {response.status} {text[:200]}")

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return answered


@pytest.mark.timeout(600)
async def test_two_processes_record_every_one_of_ten_thousand_requests_once(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        env = {"OPENAI_API_KEY": "sk-team-load-key", "OPENAI_BASE_URL": upstream.base_url + "/v1"}
        first, second = await asyncio.gather(
            asyncio.to_thread(team.join, "first", **env),
            asyncio.to_thread(team.join, "second", **env),
        )
        failures: list[str] = []
        began = time.monotonic()
        answered = await asyncio.wait_for(
            asyncio.gather(
                send_all(first, "first", PER_GATEWAY, failures),
                send_all(second, "second", PER_GATEWAY, failures),
            ),
            LOAD_LIMIT_S,
        )
        took = time.monotonic() - began
        print(f"2 x {PER_GATEWAY} requests through two gateways on PostgreSQL in {took:.1f}s")
        assert failures == [], failures[:5]
        assert answered == [PER_GATEWAY, PER_GATEWAY]
        assert len(upstream.llm_requests) == 2 * PER_GATEWAY
        # A clean stop flushes what each recorder still holds.
        await asyncio.gather(asyncio.to_thread(first.stop), asyncio.to_thread(second.stop))

    rows = team.query(
        "SELECT caller, count(*), min(state), max(state) FROM requests"
        " WHERE caller LIKE 'load-%%' GROUP BY caller"
    )
    assert len(rows) == 2 * PER_GATEWAY
    assert [row for row in rows if row[1] != 1] == []
    assert {(row[2], row[3]) for row in rows} == {("completed", "completed")}
    expected = {f"load-{name}-{n:05d}" for name in ("first", "second") for n in range(PER_GATEWAY)}
    assert {row[0] for row in rows} == expected
