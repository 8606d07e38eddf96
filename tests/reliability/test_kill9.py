"""kill -9 of the real gateway mid-job: nothing of the job keeps running, and the restart
tells the truth (jobs and recorder rows `interrupted`, finished results intact, the store
sound). Real processes throughout: the gateway is `python -m llmgw_desktop --headless` as a
child process, the CLI a fake `claude` that starts a child and a grandchild
(`_crash_support.py`), driven over MCP with the official SDK client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import free_port
from tests.e2e import gateway_process as gp
from tests.reliability._crash_support import (
    ANSWER,
    PARTIAL,
    alive,
    install_fake_claude,
    kill_quietly,
    query,
    read_pids,
    start_time,
    wait_dead,
)
from tests.transports.mcp.conftest import structured

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; the kill is POSIX"
)

DEATH_WITHIN_S = 5.0  # "within a few seconds": the stop grace is 0.3 s
JOB_WAIT_S = 30.0


@dataclass
class Gateway:
    """One data dir, and the gateway process serving it now (restartable)."""

    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    # Every process a test started, killed at the end should the test fail.
    leftovers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def db(self) -> Path:
        return self.home / "data" / "llmgw.db"

    def env(self) -> dict[str, str]:
        return gp.child_env(
            self.home,
            self.port,
            LLM_GATEWAY_CLI_PATH=str(self.home / "bin"),
            LLM_GATEWAY_DETECT_LOCAL="false",
            LLM_GATEWAY_MODELS_REFRESH_S="0",
            LLM_GATEWAY_RETRY_ATTEMPTS="1",
        )

    def start(self) -> None:
        self.proc = gp.start(["--headless"], self.env())
        gp.wait_ready(self.proc, self.port)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.communicate(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            code, _, err = gp.stop(self.proc)
            self.proc = None
            assert code == 0, err

    def log(self) -> str:
        return gp.read_log(self.home)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    install_fake_claude(tmp_path / "bin")
    gw = Gateway(tmp_path)
    try:
        yield gw
    finally:
        if gw.proc is not None:
            gw.proc.kill()
            gw.proc.communicate()
        kill_quietly(gw.leftovers)


def call(url: str, tool: str, **arguments: Any) -> dict[str, Any]:
    """One MCP tool call with the official client (its own short-lived loop: these tests are
    plain functions that sleep and start processes)."""

    async def one_call() -> dict[str, Any]:
        async with Client(url) as client:
            return structured(await client.call_tool(tool, arguments))

    return asyncio.run(one_call())


def start_tree(gw: Gateway, how: str = "") -> tuple[str, dict[str, int]]:
    """Start a job whose CLI starts a child and a grandchild; wait until all three run, and
    the store has the job's process group, its partial output (flushed each second: a crash
    loses at most the last second) and its recorder row."""
    pids_dir = gw.home / f"pids-{how or 'plain'}"
    pids_dir.mkdir()
    submitted = call(gw.url, "claude_request_async", prompt=f"tree {pids_dir} {how}")
    job_id = submitted["jobId"]
    pids = read_pids(pids_dir)
    gw.leftovers.extend(pids.values())
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        saved = query(gw.db, "SELECT process_group, output FROM jobs WHERE id = ?", job_id)
        row = query(gw.db, "SELECT state FROM requests WHERE job_id = ?", job_id)
        if saved and saved[0][0] == pids["leader"] and PARTIAL in saved[0][1] and row:
            return job_id, pids
        time.sleep(0.05)
    raise AssertionError("the job's process group and recorder row were never saved")


def finished_job(gw: Gateway) -> str:
    answer = call(gw.url, "claude_request", prompt="succeed")
    assert ANSWER in answer["text"], answer
    return str(answer["jobId"])


def check_the_store_tells_the_truth(gw: Gateway, interrupted: str, completed: str) -> None:
    jobs = dict(query(gw.db, "SELECT id, state FROM jobs"))
    assert jobs[interrupted] == "interrupted" and jobs[completed] == "completed", jobs
    rows = dict(query(gw.db, "SELECT job_id, state FROM requests WHERE job_id IS NOT NULL"))
    assert rows[interrupted] == "interrupted" and rows[completed] == "completed", rows
    assert not query(gw.db, "SELECT id FROM requests WHERE state = 'started'")
    (output,) = query(gw.db, "SELECT output FROM jobs WHERE id = ?", interrupted)[0]
    assert PARTIAL in output
    (result,) = query(gw.db, "SELECT result_json FROM jobs WHERE id = ?", completed)[0]
    assert ANSWER in result
    assert query(gw.db, "PRAGMA integrity_check") == [("ok",)]


def test_kill9_mid_job_leaves_no_process_and_the_restart_tells_the_truth(
    gateway: Gateway,
) -> None:
    gateway.start()
    completed = finished_job(gateway)
    job_id, pids = start_tree(gateway)

    killed_at = time.monotonic()
    gateway.kill9()
    assert wait_dead(pids.values(), DEATH_WITHIN_S) == []
    print(f"every process of the job was gone {time.monotonic() - killed_at:.2f}s after kill -9")

    gateway.start()
    status = call(gateway.url, "llm_job_status", jobId=job_id)
    assert status["state"] == "interrupted" and status["error"]["code"] == "interrupted"
    result = call(gateway.url, "llm_job_result", jobId=completed)
    assert result["state"] == "completed" and ANSWER in result["text"]
    gateway.stop()
    check_the_store_tells_the_truth(gateway, job_id, completed)


def test_a_grandchild_that_left_the_group_is_stopped_by_the_restart(
    gateway: Gateway,
) -> None:
    gateway.start()
    _, pids = start_tree(gateway, "escape")
    gateway.kill9()
    assert wait_dead([pids["leader"], pids["child"]], DEATH_WITHIN_S) == []
    # It double-forked into its own session: out of the group the warden kills.
    assert alive(pids["grandchild"])

    gateway.start()
    assert wait_dead([pids["grandchild"]], DEATH_WITHIN_S) == []
    assert "left running" in gateway.log()


def test_with_the_warden_killed_too_the_restart_stops_a_tree_ignoring_sigterm(
    gateway: Gateway,
) -> None:
    gateway.start()
    _, pids = start_tree(gateway, "stubborn")
    assert gateway.proc is not None
    warden = warden_of(gateway.proc.pid)
    # As if the whole gateway, warden included, were killed at once (the OOM killer, say).
    os.kill(warden, signal.SIGKILL)
    gateway.kill9()
    # The parent-death signal still ends the CLI itself at once ...
    assert wait_dead([pids["leader"]], DEATH_WITHIN_S) == []
    # ... but nothing reached its children.
    time.sleep(0.5)
    assert alive(pids["child"]) and alive(pids["grandchild"])

    gateway.start()
    assert wait_dead(pids.values(), DEATH_WITHIN_S) == []


def test_a_reused_pid_is_never_touched(gateway: Gateway) -> None:
    gateway.start()
    job_id, pids = start_tree(gateway)
    gateway.kill9()
    assert wait_dead(pids.values(), DEATH_WITHIN_S) == []
    # A program unrelated to the job now holds the pid the job saved (faked: the row is edited
    # to point at it). It is a group leader, like the CLI was, but started at another time.
    decoy = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    gateway.leftovers.append(decoy.pid)
    try:
        with contextlib.closing(sqlite3.connect(gateway.db)) as conn:
            conn.execute("UPDATE jobs SET process_group = ? WHERE id = ?", (decoy.pid, job_id))
            conn.commit()
        (saved,) = query(gateway.db, "SELECT process_identity FROM jobs WHERE id = ?", job_id)[0]
        assert saved.rsplit(":", 1)[1] != str(start_time(decoy.pid))

        gateway.start()
        deadline = time.monotonic() + DEATH_WITHIN_S
        while "was left running" not in gateway.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "no process of 1 unfinished job(s) was left running" in gateway.log()
        assert decoy.poll() is None and alive(decoy.pid)
        status = call(gateway.url, "llm_job_status", jobId=job_id)
        assert status["state"] == "interrupted"
    finally:
        decoy.kill()
        decoy.wait()


def warden_of(gateway_pid: int) -> int:
    """The gateway's process warden: its child running the warden script."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
            if f"\nPPid:\t{gateway_pid}\n" in status and b"llmgw-warden" in cmdline:
                return int(entry.name)
    raise AssertionError("the gateway has no process warden")
