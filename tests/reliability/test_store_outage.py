"""A PostgreSQL outage is a degraded mode, not an error (issue 24).

The team gateway runs as a real child process on a PostgreSQL cluster the test owns and stops
(`pg_ctl stop -m fast`: every connection ends, as when the server goes away). The upstream is
the scripted fake on loopback.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e import gateway_process as gp
from tests.e2e.team_gateways import TeamGateway
from tests.fakes.upstream import ScriptedUpstream
from tests.reliability._outage_support import (  # noqa: F401 - the fixture
    OutageTeam,
    outage_team,
    post_json,
    wait_for,
)

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hello"}],
}


async def test_environment_keys_serve_while_the_vault_cannot_be_read(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        member = await asyncio.to_thread(
            outage_team.join,
            "only",
            OPENAI_API_KEY="sk-outage-env-key",
            OPENAI_BASE_URL=upstream.base_url + "/v1",
            ANTHROPIC_BASE_URL=upstream.base_url,
        )
        # The vault's cache is cold: no request has been served yet.
        await asyncio.to_thread(outage_team.outage)
        status, headers, body = await asyncio.to_thread(
            post_json, member.base_url + "/v1/chat/completions", CHAT
        )
        assert status == 200, body
        assert "x-gateway-request-id" in {k.lower() for k in headers}
        # No key anywhere but the vault, which cannot be read: a retryable 503 in the
        # client's dialect, with Retry-After, never a 500.
        status, headers, body = await asyncio.to_thread(
            post_json, member.base_url + "/v1/messages", ANTHROPIC
        )
        assert status == 503, body
        assert body["type"] == "error" and "Try again shortly" in body["error"]["message"]
        assert int({k.lower(): v for k, v in headers.items()}["retry-after"]) > 0
        await asyncio.to_thread(outage_team.recover)
        await asyncio.to_thread(member.stop)


async def _chat(member: TeamGateway, caller: str) -> int:
    status, _, _ = await asyncio.to_thread(
        post_json, member.base_url + "/v1/chat/completions", CHAT, {"X-Caller": caller}
    )
    return status


async def test_rows_answered_during_an_outage_survive_a_stop_and_are_stored_once(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        member = await asyncio.to_thread(
            outage_team.join,
            "only",
            OPENAI_API_KEY="sk-outage-env-key",
            OPENAI_BASE_URL=upstream.base_url + "/v1",
        )
        answered = [f"before-{n}" for n in range(5)]
        assert [await _chat(member, c) for c in answered] == [200] * 5
        await asyncio.to_thread(outage_team.outage)
        during = [f"during-{n:03d}" for n in range(OUTAGE_REQUESTS)]
        statuses = await asyncio.gather(*(_chat(member, c) for c in during))
        assert statuses == [200] * OUTAGE_REQUESTS
        answered += during
        report = await asyncio.to_thread(
            wait_for, "/health degraded", lambda: _degraded(member.port)
        )
        assert report["recorder"]["dropped"] == 0, report
        assert member.proc is not None
        code, _, err = await asyncio.to_thread(gp.stop, member.proc)
        member.proc = None
        assert code == 0, err
        log = member.log()
        assert "lost at stop" not in log and "Traceback" not in log, log
        # One line for the outage, not one per flush or per second.
        assert log.count("flight recorder cannot write") == 1, log
        await asyncio.to_thread(outage_team.recover)
        await asyncio.to_thread(member.start)

        def stored() -> list[tuple[Any, ...]] | None:
            rows = outage_team.query("SELECT caller, state FROM requests ORDER BY caller")
            return rows if len(rows) >= len(answered) else None

        rows = await asyncio.to_thread(wait_for, "the spilled rows replayed", stored)
        assert sorted(c for c, _ in rows) == sorted(answered)
        assert {state for _, state in rows} == {"completed"}
        await asyncio.to_thread(member.stop)


OUTAGE_REQUESTS = 60


def _degraded(port: int) -> dict[str, Any] | None:
    report = gp.health(port)
    if report is None or report.get("status") != "degraded":
        return None
    return report
