"""A gateway stalled past its lease, then resumed: one truth for the client, the store and the
peer (issue 24, item 4).

Two real gateway processes on one PostgreSQL database (`tests/e2e/team_gateways.py`) with a
1.5 s lease. The first runs two jobs through the fake `claude`: one that answers when told to,
one whose CLI starts a child and a grandchild and runs on. The first is stopped with SIGSTOP
until the second has taken it for dead (the store says `interrupted`); the first job's CLI is
told to answer while its gateway is still stopped, but its warden has paused it. After SIGCONT
the first gateway reports what the store says, `interrupted` with no result, as the peer does,
and kills both jobs' CLI trees.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.e2e.team_gateways import Team, team  # noqa: F401 - the fixture
from tests.reliability._crash_support import ANSWER, alive, call, paused, read_pids, wait_dead
from tests.reliability._outage_support import wait_for

LEASE_MS = 1500


def told_once_resumed(url: str, job_id: str) -> dict[str, Any]:
    """The job's status as the resumed gateway at `url` tells it, once it says it ended."""

    def ended() -> dict[str, Any] | None:
        status = call(url, "llm_job_status", jobId=job_id)
        return status if status.get("state") not in ("queued", "running") else None

    told: dict[str, Any] = wait_for("the resumed gateway's answer", ended)
    return told


def test_a_stalled_owner_tells_what_the_store_says_and_stops_its_clis(
    team: Team,  # noqa: F811
) -> None:
    env = {"LLM_GATEWAY_JOB_LEASE_MS": str(LEASE_MS)}
    first = team.join("first", **env)
    second = team.join("second", **env)
    go = team.root / "go"
    answering = call(first.url, "claude_request_async", prompt=f"until {go}")["jobId"]
    pids_dir = team.root / "pids"
    pids_dir.mkdir()
    running = call(first.url, "claude_request_async", prompt=f"tree {pids_dir}")["jobId"]
    pids = read_pids(pids_dir)
    first.leftovers.extend(pids.values())

    def states() -> dict[str, str]:
        return dict(team.query("SELECT id, state FROM jobs"))

    wait_for(
        "both jobs running", lambda: states().get(answering) == "running" == states().get(running)
    )
    assert first.proc is not None
    os.kill(first.proc.pid, signal.SIGSTOP)
    try:
        # Bounded by the lease, or by the server's end of a transaction the stalled gateway
        # held open (15 s, `postgres_engine.STALLED_TRANSACTION`), whose locks the peer awaits.
        wait_for(
            "the peer taking the stalled gateway for dead",
            lambda: states().get(answering) == "interrupted" == states().get(running),
            60,
        )
        go.touch()  # the CLI would answer now, but its warden paused it
    finally:
        os.kill(first.proc.pid, signal.SIGCONT)

    told = told_once_resumed(first.url, answering)
    assert told["state"] == "interrupted", told
    assert call(second.url, "llm_job_status", jobId=answering)["state"] == "interrupted"
    ((state, result),) = team.query("SELECT state, result_json FROM jobs WHERE id = %s", answering)
    assert (state, result) == ("interrupted", None)

    def recorded() -> list[tuple[str, str]]:
        found = team.query("SELECT state FROM requests WHERE job_id = %s", answering)
        return found if found and found[0][0] != "started" else []

    # Its recorder row was closed by the peer, then finished here: it ends as the store says.
    wait_for("the row's end", lambda: recorded() == [("interrupted",)] or None, 5)
    # The other job's CLI, its child and grandchild are stopped: nobody would hear of their work.
    assert wait_dead(pids.values(), 10) == []
    status = wait_for(
        "the fenced job's end",
        lambda: (s := call(first.url, "llm_job_status", jobId=running))["state"] != "running" and s,
    )
    assert status["state"] == "interrupted"


# Long enough that a loaded machine's renewals (every second) re-arm the warden well before it
# would fire (1.95 s after a renewal: a quarter of the lease plus the stop grace before its end).
RESEND_LEASE_MS = 3000


def test_a_call_resent_to_the_peer_after_a_stall_is_the_only_copy_running(
    team: Team,  # noqa: F811
) -> None:
    env = {"LLM_GATEWAY_JOB_LEASE_MS": str(RESEND_LEASE_MS)}
    first = team.join("first", **env)
    second = team.join("second", **env)
    runs, go = team.root / "runs.log", team.root / "go"
    prompt = f"logged {runs} {go}"  # the same call each time: the client sends it again

    def log() -> list[str]:
        return runs.read_text().splitlines() if runs.exists() else []

    def cli_pids() -> list[int]:
        return [int(line.split()[1]) for line in log() if line.startswith("start ")]

    def state_of(job_id: str) -> str | None:
        found = team.query("SELECT state FROM jobs WHERE id = %s", job_id)
        return found[0][0] if found else None

    stalled = call(first.url, "claude_request_async", prompt=prompt)["jobId"]
    (stalled_cli,) = wait_for("the first CLI", cli_pids)
    first.leftovers.append(stalled_cli)
    wait_for("the job running", lambda: state_of(stalled) == "running")
    assert first.proc is not None
    os.kill(first.proc.pid, signal.SIGSTOP)
    try:

        def taken_for_dead() -> str | None:
            # The CLI's state is read before the store: "stopped" means it was paused (or dead)
            # by the time the peer's mark could be seen.
            running = alive(stalled_cli) and not paused(stalled_cli)
            if state_of(stalled) != "interrupted":
                return None
            return "still running" if running else "stopped"

        verdict = wait_for("the peer taking the stalled gateway for dead", taken_for_dead, 60)
        assert verdict == "stopped", "the stalled gateway's CLI ran on after the peer took over"
        assert paused(stalled_cli), "the warden pauses the CLI: its gateway decides once resumed"
        # The client, hearing nothing from the stalled gateway, sends the call to the peer: it
        # runs anew (the stalled job is not reusable), and is the only copy running.
        resent = call(second.url, "claude_request_async", prompt=prompt)["jobId"]
        assert resent != stalled
        pids = wait_for("the peer's CLI", lambda: cli_pids() if len(cli_pids()) == 2 else None)
        second.leftovers.append(pids[1])
    finally:
        os.kill(first.proc.pid, signal.SIGCONT)

    told = told_once_resumed(first.url, stalled)
    assert told["state"] == "interrupted", told
    # Resumed, it learned its jobs were taken: the paused CLI was killed, never to answer.
    assert wait_dead([stalled_cli], 10) == []
    # The resumed gateway registered again under the next epoch; the job keeps the first's.
    ((epoch,),) = team.query("SELECT epoch FROM process_leases WHERE pid = %s", first.proc.pid)
    assert epoch == 2
    ((owner_epoch, result),) = team.query(
        "SELECT owner_epoch, result_json FROM jobs WHERE id = %s", stalled
    )
    assert (owner_epoch, result) == (1, None)
    # The legitimate path beside it: the healthy peer's CLI was not stopped by its own warden
    # while it ran through a stall and a resumption (several of its renewals), and answers.
    assert state_of(resent) == "running" and alive(pids[1])
    go.touch()
    wait_for("the re-sent call's answer", lambda: state_of(resent) == "completed")
    answer = call(second.url, "llm_job_result", jobId=resent)
    assert ANSWER in answer["text"], answer
    assert state_of(stalled) == "interrupted"
    assert call(second.url, "llm_job_status", jobId=stalled)["state"] == "interrupted"
    expected = {stalled: "interrupted", resent: "completed"}

    def recorded() -> dict[str, str]:
        return dict(team.query("SELECT job_id, state FROM requests WHERE job_id IS NOT NULL"))

    # Rows reach the store with the recorder's next flush.
    wait_for("the recorder rows' ends", lambda: recorded() == expected, 10)
    # Exactly one run answered; the stalled one never did, and had stopped before the other.
    assert log() == [f"start {stalled_cli}", f"start {pids[1]}", f"end {pids[1]}"]
