"""A PostgreSQL outage is a degraded mode, not an error (issue 24).

The team gateway runs as a real child process on a PostgreSQL cluster the test owns and stops
(`pg_ctl stop -m fast`: every connection ends, as when the server goes away). The upstream is
the scripted fake on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

from llmgw_desktop.engine.jobs.leases import RENEWALS_PER_LEASE
from tests.e2e import gateway_process as gp
from tests.e2e.team_gateways import TeamGateway
from tests.reliability._crash_support import ANSWER, call
from tests.reliability._outage_support import (  # noqa: F401 - the fixture
    CHAT,
    OutageTeam,
    member_on_env_keys,
    outage_team,
    post_json,
    wait_for,
)

ANTHROPIC = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hello"}],
}


async def test_environment_keys_serve_while_the_vault_cannot_be_read(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    async with member_on_env_keys(outage_team) as member:
        # The start read the vault's keys for no project (the banner's "answering:" line lists
        # the models of the providers with a key), perhaps before the outage below, perhaps
        # not; a project's keys are read on its first request, so for `cold` they are unknown.
        await asyncio.to_thread(outage_team.outage)
        status, headers, body = await asyncio.to_thread(
            post_json, member.base_url + "/v1/chat/completions", CHAT
        )
        assert status == 200, body
        assert "x-gateway-request-id" in {k.lower() for k in headers}
        # No key anywhere but the vault, which cannot be read: a retryable 503 in the
        # client's dialect, with Retry-After, never a 500.
        status, headers, body = await asyncio.to_thread(
            post_json, member.base_url + "/v1/messages", ANTHROPIC, {"X-Project": "cold"}
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
    async with member_on_env_keys(outage_team) as member:
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


LEASE_MS = 3000


async def test_a_job_ending_in_an_outage_keeps_its_result_and_no_live_peer_is_reaped(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    """Two gateways, each with a running job; PostgreSQL stopped for two leases, and one job's
    CLI ends meanwhile. Nobody is told that end before the store holds it (a peer could have
    ended the row otherwise); afterwards its row has its result, and the other's job still
    runs: neither gateway took the other for dead because the outage kept both from renewing."""
    env = {"LLM_GATEWAY_JOB_LEASE_MS": str(LEASE_MS)}
    first, second = await asyncio.gather(
        asyncio.to_thread(outage_team.join, "first", **env),
        asyncio.to_thread(outage_team.join, "second", **env),
    )
    go = outage_team.root / "go"
    ending = (
        await asyncio.to_thread(call, first.url, "claude_request_async", prompt=f"until {go}")
    )["jobId"]
    running = (await asyncio.to_thread(call, second.url, "claude_request_async", prompt="hang"))[
        "jobId"
    ]

    def both_running() -> bool:
        rows = dict(outage_team.query("SELECT id, state FROM jobs"))
        return rows.get(ending) == rows.get(running) == "running"

    await asyncio.to_thread(wait_for, "both jobs running", both_running)
    await asyncio.to_thread(outage_team.outage)
    go.touch()  # the first job's CLI answers while the store is down

    def ended_in_memory() -> dict[str, Any] | None:
        status = call(first.url, "llm_job_status", jobId=ending)
        return status if status.get("progress", {}).get("pendingEnd") else None

    # The end is kept in memory, and told as waiting for the store: still `running`.
    pending = await asyncio.to_thread(wait_for, "the job's end, kept in memory", ended_in_memory)
    assert pending["state"] == "running" and pending["progress"]["pendingEnd"] == "completed"
    # A call that needs the store now is refused as retryable, before anything runs.
    refused = await asyncio.to_thread(call, first.url, "claude_request_async", prompt="succeed")
    assert refused["error"]["code"] == "store_unavailable" and refused["error"]["retryable"]
    # Longer than a lease on either side: each one's lease has run out on the store's clock.
    outage_ends = time.monotonic() + 2 * LEASE_MS / 1000
    await asyncio.to_thread(wait_for, "the outage's end", lambda: time.monotonic() > outage_ends)
    # The second comes back a moment after the first (held with SIGSTOP until the first has
    # written and renewed again): the order that tempts the first to reap it.
    assert second.proc is not None
    os.kill(second.proc.pid, signal.SIGSTOP)
    try:
        await asyncio.to_thread(outage_team.recover)
        await asyncio.to_thread(
            wait_for, "the first writing again", lambda: _health_ok(first.port), 60
        )
        renewed = time.monotonic() + 1.5 * LEASE_MS / 1000 / RENEWALS_PER_LEASE
        await asyncio.to_thread(wait_for, "a renewal", lambda: time.monotonic() > renewed)
    finally:
        os.kill(second.proc.pid, signal.SIGCONT)

    def stored_end() -> tuple[Any, ...] | None:
        rows = outage_team.query("SELECT state, result_json FROM jobs WHERE id = %s", ending)
        return rows[0] if rows and rows[0][0] != "running" else None

    state, result = await asyncio.to_thread(wait_for, "the end stored", stored_end)
    refused_row = refused["error"]["details"]["requestId"]

    def refused_stored() -> list[tuple[Any, ...]]:
        return outage_team.query(
            "SELECT state, error_code FROM requests WHERE id = %s", refused_row
        )

    rows = await asyncio.to_thread(wait_for, "the refused call's row", refused_stored)
    assert rows == [("refused", "store_unavailable")]
    assert state == "completed" and ANSWER in (result or ""), (state, result)
    told = await asyncio.to_thread(call, first.url, "llm_job_result", jobId=ending)
    assert told["state"] == "completed" and ANSWER in told["text"], told
    # Past a whole lease after both reconnected: a reaper would have struck by now.
    settled = time.monotonic() + 1.5 * LEASE_MS / 1000
    await asyncio.to_thread(wait_for, "one lease more", lambda: time.monotonic() > settled)
    (still,) = outage_team.query("SELECT state FROM jobs WHERE id = %s", running)[0]
    assert still == "running"
    status = await asyncio.to_thread(call, second.url, "llm_job_status", jobId=running)
    assert status["state"] == "running"
    for member in (first, second):
        assert "Traceback" not in member.log(), member.log()


def _health_ok(port: int) -> bool:
    report = gp.health(port)
    return report is not None and report.get("status") == "ok"


async def test_an_idle_gateway_says_its_store_answers_again_once_it_does(
    outage_team: OutageTeam,  # noqa: F811
) -> None:
    """Nobody calls: the lease's renewal meets the outage (degraded, as it should be), and once
    PostgreSQL is back, `/health` says ok again by itself. Before, only a recorder row written
    cleared it, so an idle gateway said "cannot reach the database" for good."""
    member = await asyncio.to_thread(
        outage_team.join, "idle", LLM_GATEWAY_JOB_LEASE_MS=str(LEASE_MS)
    )
    await asyncio.to_thread(wait_for, "/health ok", lambda: _health_ok(member.port))
    await asyncio.to_thread(outage_team.outage)
    report = await asyncio.to_thread(wait_for, "/health degraded", lambda: _degraded(member.port))
    assert "cannot reach the database" in json.dumps(report)
    await asyncio.to_thread(outage_team.recover)
    await asyncio.to_thread(
        wait_for, "/health ok with nobody calling", lambda: _health_ok(member.port), 30.0
    )
    await asyncio.to_thread(member.stop)
