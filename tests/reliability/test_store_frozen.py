"""A frozen PostgreSQL (its processes SIGSTOPped: the sockets stay open, the kernel still
acknowledges, nothing answers) neither holds the gateway's stop nor its service for ever.

Before: a stop waited more than a minute, for as long as the server stayed frozen: the ordered
database thread sat in the pool's check of a connection (`SELECT 1`), which no TCP setting
ends on loopback (keepalives are answered by the kernel, nothing sent is unacknowledged), and
the other lanes waited on peewee's connection lock behind it (docs/RELIABILITY.md).

Real things only: a real headless gateway process on a PostgreSQL cluster of the test's own,
asked through the official `openai` SDK, its upstream the scripted fake on loopback.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import openai

from tests.e2e import gateway_process as gp
from tests.e2e.team_gateways import TeamGateway
from tests.reliability._outage_support import (  # noqa: F401 - the fixture
    OutageTeam,
    member_on_env_keys,
    outage_team,
    wait_for,
)

# The stop's own grace is about a second; the store's (`stall_watch`) a few more.
STOP_BOUND_S = 15.0
# An answer that does not need the store comes within this, frozen store or not.
ANSWER_TIMEOUT_S = 10.0
# Frozen for longer than the watch needs to notice, as a stuck VM or a debugger would be.
FROZEN_S = 4.0


@asynccontextmanager
async def _client(member: TeamGateway) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url=member.base_url + "/v1",
        api_key="unused",
        max_retries=0,
        timeout=ANSWER_TIMEOUT_S,
    )
    async with client:
        yield client


async def _ask(client: openai.AsyncOpenAI, callers: list[str]) -> None:
    """One chat request per caller (the recorder's row names it), all answered."""
    for caller in callers:
        answer = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            extra_headers={"X-Caller": caller},
        )
        assert answer.choices[0].message.content, answer


def _stored(team: OutageTeam, callers: list[str]) -> list[tuple[Any, ...]] | None:
    rows = team.query("SELECT caller, state FROM requests ORDER BY caller")
    return rows if len(rows) >= len(callers) else None


def _store_health(port: int) -> dict[str, Any] | None:
    report = gp.health(port)
    return None if report is None else dict(report["store"])


async def test_a_stop_while_postgresql_is_frozen_is_bounded_and_keeps_the_answered_rows(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    async with member_on_env_keys(outage_team) as member, _client(member) as client:
        answered = [f"before-{n}" for n in range(5)]
        await _ask(client, answered)
        proc = member.proc
        assert proc is not None
        await asyncio.to_thread(outage_team.freeze)
        try:
            # The answers do not wait for the store: their rows do.
            during = [f"during-{n}" for n in range(3)]
            await _ask(client, during)
            answered += during
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = await asyncio.to_thread(proc.communicate, None, STOP_BOUND_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.communicate)
                member.proc = None
                raise AssertionError(
                    f"the stop took more than {STOP_BOUND_S} s with PostgreSQL frozen:\n"
                    + member.log()[-3000:]
                ) from None
            took = time.monotonic() - began
            member.proc = None
        finally:
            await asyncio.to_thread(outage_team.thaw)
        assert proc.returncode == 0, err
        log = member.log()
        assert "not answering" in log, log
        # What the stop could not write is said, and kept for the next start.
        assert "written at the next start" in log, log
        assert "lost at stop" not in log and "Traceback" not in log, log
        print(f"stop with PostgreSQL frozen took {took:.1f} s")
        await asyncio.to_thread(member.start)
        rows = await asyncio.to_thread(
            wait_for, "the rows kept at stop replayed", lambda: _stored(outage_team, answered)
        )
        assert sorted(c for c, _ in rows) == sorted(answered)
        assert {state for _, state in rows} == {"completed"}
        await asyncio.to_thread(member.stop)


async def test_a_gateway_serves_again_once_a_frozen_postgresql_runs_again(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    async with member_on_env_keys(outage_team) as member, _client(member) as client:
        answered = [f"before-{n}" for n in range(3)]
        await _ask(client, answered)
        await asyncio.to_thread(outage_team.freeze)
        try:
            during = [f"during-{n}" for n in range(3)]
            await _ask(client, during)
            answered += during
            await asyncio.to_thread(
                wait_for,
                "/health to say the store does not answer",
                lambda: (s := _store_health(member.port)) and "not answering" in str(s["reason"]),
            )
            await asyncio.sleep(FROZEN_S)
            assert "not answering" in str((_store_health(member.port) or {}).get("reason"))
        finally:
            await asyncio.to_thread(outage_team.thaw)
        await asyncio.to_thread(
            wait_for,
            "/health to recover",
            lambda: (s := _store_health(member.port)) and s["state"] == "ok",
        )
        after = [f"after-{n}" for n in range(3)]
        await _ask(client, after)
        answered += after
        rows = await asyncio.to_thread(
            wait_for, "every answered row stored", lambda: _stored(outage_team, answered)
        )
        assert sorted(c for c, _ in rows) == sorted(answered)
        assert {state for _, state in rows} == {"completed"}
        began = time.monotonic()
        await asyncio.to_thread(member.stop)
        assert time.monotonic() - began < STOP_BOUND_S
        assert "Traceback" not in member.log(), member.log()
