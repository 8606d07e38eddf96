"""kill -9 of the gateway while a coding CLI's model call, routed back through it under a hard
budget (`providers/acp/gateway_env.ROUTES`, SECURITY 107), is in flight (the reliability pass
of issue 66).

The real gateway as a child process on SQLite, a daily hard dollar budget in its config, the
real Claude Code as the CLI (the scripted upstream behind the gateway holds its model call's
stream after the first half). At the kill: the CLI and everything it started are gone within
a few seconds (it calls nothing more); after the restart (a short process lease, so the dead
process's holds are reclaimable at once) and one more call: the job and every row are ended,
none `started`, no hold of the dead process is left, what it held is counted as spent, and the
spend is never past the budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from tests.contract.offline import find_cli, prepare_offline_home
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.reliability._crash_support import call, kill_quietly, wait_dead
from tests.reliability._recfaults_support import open_stream_gate, upstream_in_thread

pytestmark = pytest.mark.contract

HARD_USD = 5.0
LEASE_MS = 1500
WAIT_S = 60.0  # bounds for a loaded machine, never waited out when all is well
BUDGET_TOML = f"""
[[budgets]]
scope = "global"
unit = "usd"
period = "daily"
hard = {HARD_USD}
"""


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql))


def _job_processes(job_id: str) -> list[int]:
    """The processes carrying the job's marker in their environment (the CLI and its tree)."""
    marker = f"LLMGW_JOB_ID={job_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


async def _until(what: str, check: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


async def test_kill9_under_a_routed_cli_call_leaves_nothing_running_and_no_hold(
    tmp_path: Path,
) -> None:
    claude = find_cli("claude")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(BUDGET_TOML, encoding="utf-8")
    port = free_port()
    left: list[int] = []
    with upstream_in_thread() as upstream:
        env = gp.child_env(
            home,
            port,
            **prepare_offline_home(tmp_path / "cli-home", upstream.base_url),
            LLM_GATEWAY_CLI_PATH=str(Path(claude).parent),
            LLM_GATEWAY_DETECT_LOCAL="false",
            LLM_GATEWAY_MODELS_REFRESH_S="0",
            LLM_GATEWAY_JOB_LEASE_MS=str(LEASE_MS),
        )
        upstream.stream_gate = asyncio.Event()  # the CLI's model call holds mid-stream
        proc = gp.start(["--headless"], env)
        try:
            gp.wait_ready(proc, port)
            url = f"http://127.0.0.1:{port}/mcp"
            submitted = await asyncio.to_thread(
                call, url, "claude_request_async", prompt="say hello", model="claude-haiku-4-5"
            )
            job_id = submitted["jobId"]
            db = home / "data" / "llmgw.db"
            await _until(
                "the CLI's routed call reached the upstream, held",
                lambda: (
                    any(r.stream for r in upstream.llm_requests)
                    and _query(db, "SELECT 1 FROM budget_holds")
                ),
            )
            pids = _job_processes(job_id)
            left += pids
            assert pids, "the job's CLI was not found running"
            held = _query(db, "SELECT process, sum(amount) FROM budget_holds GROUP BY 1")
            asked = len(upstream.llm_requests)
            proc.kill()
            proc.communicate(timeout=10)
            still = await asyncio.to_thread(wait_dead, pids, 10.0)
            assert not still, f"the CLI's processes outlived the gateway: {still}"
            assert len(upstream.llm_requests) == asked, "the CLI called on after the kill"
            open_stream_gate(upstream)
            proc = gp.start(["--headless"], env)
            gp.wait_ready(proc, port)
            (dead, held_usd), *_ = held
            body = {
                "model": "claude-haiku-4-5",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "after the restart"}],
            }
            headers = {"anthropic-version": "2023-06-01"}
            deadline = time.monotonic() + WAIT_S
            while _query(db, f"SELECT 1 FROM budget_holds WHERE process = '{dead}'"):
                assert time.monotonic() < deadline, "the dead process's holds were never counted"
                status, _, answer = await asyncio.to_thread(
                    gp.post_json, f"http://127.0.0.1:{port}/v1/messages", body, headers
                )
                assert status == 200, answer
                await asyncio.sleep(0.2)
            code, _, err = await asyncio.to_thread(gp.stop, proc)
            assert code == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            kill_quietly(left)
    jobs = dict(_query(db, "SELECT id, state FROM jobs"))
    assert jobs[job_id] == "interrupted", jobs
    states = [s for (s,) in _query(db, "SELECT state FROM requests")]
    assert "started" not in states, states
    assert not _query(db, "SELECT * FROM budget_holds WHERE id NOT LIKE '%:%'")
    (spent,) = _query(db, "SELECT sum(spent) FROM budget_spend")[0]
    print(f"held at the kill ${held_usd}, spent after the restart ${spent}; rows {states}")
    assert float(spent) >= float(held_usd) - 1e-9  # type: ignore[arg-type]
    assert float(spent) <= HARD_USD + 1e-9  # type: ignore[arg-type]
