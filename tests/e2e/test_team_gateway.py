"""Two real gateway processes on one PostgreSQL database, used by the official MCP client.

What a team behind a load balancer relies on: a job one process ran is read through the other.
"""

from __future__ import annotations

from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.reliability._crash_support import ANSWER, call


def test_a_job_run_by_one_process_is_read_through_the_other(team: Team) -> None:  # noqa: F811
    first, second = team.join("first"), team.join("second")
    answer = call(first.url, "claude_request", prompt="succeed")
    assert ANSWER in answer["text"], answer
    result = call(second.url, "llm_job_result", jobId=answer["jobId"])
    assert result["state"] == "completed" and ANSWER in result["text"], result
    first.stop()
    second.stop()
