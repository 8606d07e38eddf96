"""Two real gateway processes on one PostgreSQL database, used by the official MCP client.

What a team behind a load balancer relies on: a job one process ran is read through the other,
a job one process runs is cancelled through the other, and a process killed with -9 has its
job (and its recorder row) ended as interrupted by the survivor once its lease runs out.
"""

from __future__ import annotations

import time

from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.reliability._crash_support import (
    ANSWER,
    JOB_WAIT_S,
    PARTIAL,
    call,
    wait_dead,
)

DEATH_WITHIN_S = 5.0
LEASE_MS = 2000
# The lease, the survivor's next renewal (a third of it) and a margin for a loaded machine.
REAPED_WITHIN_S = 15.0


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
