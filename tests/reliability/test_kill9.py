"""kill -9 of the real gateway mid-job: nothing of the job keeps running, and the restart
tells the truth (jobs and recorder rows `interrupted`, finished results intact, the store
sound). Real processes throughout: the gateway is `python -m llmgw_desktop --headless` as a
child process, the CLI a fake `claude` that starts a child and a grandchild
(`_crash_support.py`), driven over MCP with the official SDK client.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.reliability._crash_support import (
    ANSWER,
    Gateway,
    alive,
    call,
    check_the_store_tells_the_truth,
    finished_job,
    gateway,  # noqa: F401 - the fixture
    query,
    start_time,
    start_tree,
    wait_dead,
    warden_of,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; the kill is POSIX"
)

DEATH_WITHIN_S = 5.0  # "within a few seconds": the stop grace is 0.3 s


def test_kill9_mid_job_leaves_no_process_and_the_restart_tells_the_truth(
    gateway: Gateway,  # noqa: F811
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


def test_after_kill9_the_restart_counts_no_process_sharing_its_store(
    gateway: Gateway,  # noqa: F811
) -> None:
    """On SQLite no other process can share the store (the instance lock), yet `/health`'s
    `lease.peers` counted each killed run until its lease lapsed, 30 s (fault pass of
    2026-11-29, F4): a figure that said three processes shared it where one ran."""
    for _ in range(2):
        gateway.start()
        gateway.kill9()
    gateway.start()
    with urllib.request.urlopen(gateway.url.removesuffix("/mcp") + "/health", timeout=10) as answer:
        lease = json.loads(answer.read())["lease"]
    assert lease["peers"] == 0, lease
    assert query(gateway.db, "SELECT count(*) FROM process_leases") == [(1,)]
    gateway.stop()


def test_a_grandchild_that_left_the_group_is_stopped_by_the_restart(
    gateway: Gateway,  # noqa: F811
) -> None:
    gateway.start()
    _, pids = start_tree(gateway, "escape")
    gateway.kill9()
    assert wait_dead([pids["leader"], pids["child"]], DEATH_WITHIN_S) == []
    # It double-forked into its own session: out of the group the warden kills.
    assert alive(pids["grandchild"])

    gateway.start()
    assert wait_dead([pids["grandchild"]], DEATH_WITHIN_S) == []
    # The log's writer is a thread of its own: the warning, said before the signal, may reach
    # the file a moment after the grandchild has gone (a CI run, 2026-11-27).
    wait_for(lambda: "left running" in gateway.log(), "the restart's warning in the log")


def test_with_the_warden_killed_too_the_restart_stops_a_tree_ignoring_sigterm(
    gateway: Gateway,  # noqa: F811
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


def test_a_reused_pid_is_never_touched(gateway: Gateway) -> None:  # noqa: F811
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
        wait_for(lambda: "was left running" in gateway.log(), "the restart's look for leftovers")
        assert "no process of 1 unfinished job(s) was left running" in gateway.log()
        assert decoy.poll() is None and alive(decoy.pid)
        status = call(gateway.url, "llm_job_status", jobId=job_id)
        assert status["state"] == "interrupted"
    finally:
        decoy.kill()
        decoy.wait()
