"""Two real gateway processes on one PostgreSQL database, used by the official MCP client.

What a team behind a load balancer relies on: a job one process ran is read through the other,
a job one process runs is cancelled through the other, a call sent again to the other process
right after its client cancelled it runs anew there, and a process killed with -9 has its job
(and its recorder row) ended as interrupted by the survivor once its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from mcp import Client

from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.reliability._crash_support import (
    ANSWER,
    JOB_WAIT_S,
    PARTIAL,
    call,
    read_pids,
    wait_dead,
)
from tests.transports.mcp.conftest import structured

DEATH_WITHIN_S = 5.0
LEASE_MS = 2000
# The lease, the survivor's next renewal (a third of it) and a margin for a loaded machine.
REAPED_WITHIN_S = 15.0
# How long a cancelled job of the `once` prompt dies (its CLI outlives SIGTERM until then).
KILL_GRACE_MS = 4000


def test_a_job_run_by_one_process_is_read_through_the_other(team: Team) -> None:  # noqa: F811
    first, second = team.join("first"), team.join("second")
    answer = call(first.url, "claude_request", prompt="succeed")
    assert ANSWER in answer["text"], answer
    result = call(second.url, "llm_job_result", jobId=answer["jobId"])
    assert result["state"] == "completed" and ANSWER in result["text"], result
    first.stop()
    second.stop()


def _leader_of(team: Team, job_id: str) -> int:  # noqa: F811
    """The process group of the job's CLI once the owner has saved it (bounded)."""
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        rows = team.query("SELECT process_group, output FROM jobs WHERE id = %s", job_id)
        if rows and rows[0][0] and PARTIAL in rows[0][1]:
            return int(rows[0][0])
        time.sleep(0.05)
    raise AssertionError("the job's process group and partial output were never saved")


def test_a_job_run_by_one_process_is_cancelled_through_the_other(team: Team) -> None:  # noqa: F811
    owner, other = team.join("owner"), team.join("other")
    submitted = call(owner.url, "claude_request_async", prompt="hang")
    job_id = submitted["jobId"]
    leader = _leader_of(team, job_id)
    owner.leftovers.append(leader)
    status = call(other.url, "llm_job_status", jobId=job_id)
    assert status["state"] == "running", status
    canceled = call(other.url, "llm_job_cancel", jobId=job_id)
    assert canceled["state"] == "canceled", canceled
    assert wait_dead([leader], DEATH_WITHIN_S) == []  # the owner killed its process group
    assert team.query("SELECT state FROM jobs WHERE id = %s", job_id) == [("canceled",)]
    owner.stop()
    other.stop()


def test_a_retry_sent_to_the_other_process_right_after_esc_runs_anew(
    team: Team,  # noqa: F811
) -> None:
    grace = {"LLM_GATEWAY_KILL_GRACE_MS": str(KILL_GRACE_MS)}
    owner, other = team.join("owner", **grace), team.join("other", **grace)
    prompt = f"once {team.root}"  # its first run outlives SIGTERM; later runs answer

    async def esc_then_retry() -> dict[str, Any]:
        async with Client(owner.url) as at_owner, Client(other.url) as at_other:
            asked = asyncio.ensure_future(at_owner.call_tool("claude_request", {"prompt": prompt}))
            try:
                ran = await asyncio.to_thread(read_pids, team.root, ("ran",), JOB_WAIT_S)
                owner.leftovers.append(ran["ran"])
            finally:
                asked.cancel()  # Esc
                with contextlib.suppress(asyncio.CancelledError):
                    await asked
            deadline = time.monotonic() + JOB_WAIT_S
            while not (team.root / "term").exists():  # the cancel reached the job: it dies
                assert time.monotonic() < deadline, "the cancelled job's CLI was never stopped"
                await asyncio.sleep(0.05)
            # A balancer sends the retry to the other process, which finds the dying job's row
            # (flagged by the owner as it took the cancel, before its CLI was told to stop).
            return structured(await at_other.call_tool("claude_request", {"prompt": prompt}))

    answer = asyncio.run(esc_then_retry())
    assert answer.get("state") == "completed" and ANSWER in answer["text"], answer
    assert not answer["attached"], answer
    ((first_id, retry_created),) = team.query(
        "SELECT j.id, r.created_at FROM jobs j, jobs r WHERE r.id = %s AND j.id != r.id",
        answer["jobId"],
    )
    ending = "SELECT state, finished_at FROM jobs WHERE id = %s AND finished_at IS NOT NULL"
    deadline = time.monotonic() + JOB_WAIT_S
    while not (ended := team.query(ending, first_id)):
        assert time.monotonic() < deadline, "the cancelled job never ended"
        time.sleep(0.05)
    # Canceled, and still dying when the retry was taken (not a vacuous pass).
    ((state, finished_at),) = ended
    assert state == "canceled" and retry_created < finished_at, (state, finished_at, retry_created)
    owner.stop()
    other.stop()


def test_a_process_killed_mid_job_has_its_job_interrupted_by_the_survivor(
    team: Team,  # noqa: F811
) -> None:
    lease = {"LLM_GATEWAY_JOB_LEASE_MS": str(LEASE_MS)}
    doomed, survivor = team.join("doomed", **lease), team.join("survivor", **lease)
    job_id = call(doomed.url, "claude_request_async", prompt="hang")["jobId"]
    doomed.leftovers.append(_leader_of(team, job_id))
    # What a crash can leave is what was stored: wait for the job's recorder row and partial
    # output (flushed about once a second) before the kill, or there is nothing to close.
    stored_by = time.monotonic() + REAPED_WITHIN_S
    while time.monotonic() < stored_by:
        saved = team.query("SELECT output FROM jobs WHERE id = %s", job_id)
        recorded = team.query("SELECT 1 FROM requests WHERE job_id = %s", job_id)
        if recorded and saved and PARTIAL in saved[0][0]:
            break
        time.sleep(0.05)
    killed_at = time.monotonic()
    doomed.kill9()
    deadline = killed_at + REAPED_WITHIN_S
    while time.monotonic() < deadline:
        status = call(survivor.url, "llm_job_status", jobId=job_id)
        if status["state"] != "running":
            break
        time.sleep(0.2)
    assert status["state"] == "interrupted", status
    assert status["error"]["code"] == "interrupted"
    print(f"the survivor ended the job {time.monotonic() - killed_at:.2f}s after kill -9")
    (output,) = team.query("SELECT output FROM jobs WHERE id = %s", job_id)[0]
    assert PARTIAL in output  # the partial output is kept
    rows = team.query("SELECT state FROM requests WHERE job_id = %s", job_id)
    assert rows and {state for (state,) in rows} == {"interrupted"}, rows
    survivor.stop()
    # The survivor's clean stop released its lease; the dead process's was reaped.
    assert team.query("SELECT id FROM process_leases") == []
