"""`--workers 2` (`http.workers`): two gateway processes serving one port on one PostgreSQL
store hold budgets, gateway keys, rate limits, jobs and the recorder exactly as a team's
processes do (`tests/e2e/test_team_*.py`, `tests/reliability/test_budget_reserve_*.py`), and
stop together, drained, on one SIGTERM.

Every request here opens a connection of its own (urllib), so the kernel's SO_REUSEPORT
spreads them over both workers; the recorder's `owner_process` says which served each.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e import gateway_process as gp
from tests.e2e.team_calls import global_budget, priced_team
from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import ScriptedUpstream
from tests.reliability._crash_support import ANSWER, call

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux"
)

WORKERS = {"LLM_GATEWAY_WORKERS": "2", "LLM_GATEWAY_DRAIN_S": "20"}
KEYS_TIMEOUT_S = 60
WAIT_S = 30.0


def chat(member: TeamGateway, label: str, key: str | None = None) -> tuple[int, dict[str, str]]:
    """One chat call on a connection of its own; its status and headers."""
    headers = {"Content-Type": "application/json", "X-Caller": label}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 16,
    }
    request = urllib.request.Request(
        member.base_url + "/v1/chat/completions", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as refused:
        refused.read()
        return refused.code, dict(refused.headers)


def all_serving(member: TeamGateway) -> TeamGateway:
    """`member` once its supervisor has published its address: every worker serves."""
    published = member.home / "data" / "instance.json"
    deadline = time.monotonic() + WAIT_S
    while not published.exists():
        assert time.monotonic() < deadline, "the workers never all served"
        time.sleep(0.05)
    return member


def served_by(team: Team, prefix: str) -> dict[str, int]:  # noqa: F811
    rows = team.query(
        "SELECT owner_process, count(*) FROM requests WHERE caller LIKE %s GROUP BY owner_process",
        prefix + "%",
    )
    return {str(process): int(count) for process, count in rows}


def keys(member: TeamGateway, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", "keys", *args],
        env=member.env(),
        capture_output=True,
        text=True,
        timeout=KEYS_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def stop_supervisor(member: TeamGateway) -> str:
    """SIGTERM to the supervisor: both workers drain and stop, and it exits 0."""
    assert member.proc is not None
    code, _, err = gp.stop(member.proc)
    member.proc = None
    assert code == 0, err
    return err


async def test_two_workers_on_one_port_hold_the_budget_and_record_every_request_once(
    team: Team,  # noqa: F811
) -> None:
    budget = 1.0  # 9 tokens at a cent: $0.09 a call, held at $0.16
    async with ScriptedUpstream() as upstream:
        (host,) = await priced_team(
            team, upstream, ("host",), config=global_budget(budget), **WORKERS
        )
        await asyncio.to_thread(all_serving, host)
        statuses = [(await asyncio.to_thread(chat, host, f"budget-{n:03d}"))[0] for n in range(30)]
        assert set(statuses) <= {200, 402, 429}, statuses
        answered = statuses.count(200)
        assert 5 <= answered <= 11, statuses  # $1 of $0.09 calls, less what holds keep back
        spent = float(team.query("SELECT sum(spent) FROM budget_spend")[0][0])
        assert spent <= budget + 1e-9
        err = await asyncio.to_thread(stop_supervisor, host)
    assert "drained" in err
    workers = served_by(team, "budget-")
    assert len(workers) == 2, workers  # both workers served
    rows = team.query(
        "SELECT caller, count(*) FROM requests WHERE caller LIKE 'budget-%%' GROUP BY caller"
    )
    assert len(rows) == 30 and {count for _, count in rows} == {1}
    assert team.query("SELECT count(*) FROM requests WHERE state = 'started'") == [(0,)]
    assert team.query("SELECT count(*) FROM budget_holds")[0][0] == 0


async def test_keys_rate_limits_and_jobs_hold_across_two_workers(
    team: Team,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with ScriptedUpstream() as upstream:
        env = WORKERS | {
            "LLM_GATEWAY_RATE_LIMIT_BURST": "4",
            "LLM_GATEWAY_RATE_LIMIT_PER_MINUTE": "1",
        }
        (host,) = await priced_team(team, upstream, ("host",), **env)
        await asyncio.to_thread(all_serving, host)
        made = json.loads(await asyncio.to_thread(keys, host, "create", "bot", "--json"))
        secret = made["secret"]
        # The key works on both workers; each keeps its own rate limit, as team processes do:
        # a principal gets up to workers x burst before its next minute.
        statuses = [
            (await asyncio.to_thread(chat, host, f"rate-{n:03d}", secret))[0] for n in range(16)
        ]
        assert 4 < statuses.count(200) <= 2 * 4, statuses
        assert set(statuses) == {200, 429}
        # The recorder writes its rows a moment after the answers (its flush): wait for both.
        deadline = time.monotonic() + WAIT_S
        while len(served_by(team, "rate-")) < 2:
            assert time.monotonic() < deadline, served_by(team, "rate-")
            await asyncio.sleep(0.1)
        # Revoked through the store: every worker refuses it at its next request.
        await asyncio.to_thread(keys, host, "revoke", "bot")
        after = [(await asyncio.to_thread(chat, host, f"revoked-{n}", secret))[0] for n in range(6)]
        assert after == [401] * 6, after

        # A job started through one worker is answered through whichever serves the next call.
        release = tmp_path / "release"
        started = await asyncio.to_thread(
            call, host.url, "claude_request_async", prompt=f"until {release}"
        )
        release.touch()
        deadline = time.monotonic() + WAIT_S
        result: dict[str, object] = {}
        while time.monotonic() < deadline:
            result = await asyncio.to_thread(
                call, host.url, "llm_job_status", jobId=started["jobId"]
            )
            if result.get("state") == "completed":
                break
            await asyncio.sleep(0.1)
        assert result.get("state") == "completed", result
        answer = await asyncio.to_thread(call, host.url, "llm_job_result", jobId=started["jobId"])
        assert ANSWER in str(answer)
        await asyncio.to_thread(stop_supervisor, host)
    assert team.query("SELECT count(*) FROM jobs WHERE state NOT IN ('completed')") == [(0,)]


def test_workers_refuse_to_start_without_a_shared_store(tmp_path: Path) -> None:
    """A worker's SQLite file would be its alone: nothing would be shared."""
    env = gp.child_env(tmp_path, 0, LLM_GATEWAY_WORKERS="2")
    proc = gp.start(["--headless"], env)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert "store.url" in err


def test_a_dead_worker_is_started_again_and_the_port_keeps_serving(
    team: Team,  # noqa: F811
) -> None:
    host = all_serving(team.join("host", **WORKERS))
    pids = [
        int(
            json.loads((host.home / "data" / "workers" / str(i) / "instance.json").read_text())[
                "pid"
            ]
        )
        for i in (1, 2)
    ]
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.monotonic() + WAIT_S
    info = host.home / "data" / "workers" / "1" / "instance.json"
    while time.monotonic() < deadline:
        if info.exists() and int(json.loads(info.read_text())["pid"]) not in pids:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("worker 1 was not started again")
    assert gp.health(host.port) is not None
    stop_supervisor(host)
