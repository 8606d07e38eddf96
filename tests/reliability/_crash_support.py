"""Shared by the crash tests: a fake `claude` CLI that behaves as the prompt says, and ways to
look at real processes (Linux /proc) without mistaking a zombie for a live one.

The fake speaks Claude Code's stream-json (what the gateway's claude adapter reads). The
prompt's first word picks what it does:

  succeed            answer "ANSWER-OK" and exit 0
  fail               print partial text, then an error result, exit 1
  hang               print partial text, then sleep (for cancel, timeout, interrupt)
  until PATH         print partial text, wait until PATH exists, then answer as `succeed`
  logged LOG PATH    as `until PATH`, appending `start <pid>` to LOG as it starts and
                     `end <pid>` just before it answers (which runs overlapped, which ran)
  tree DIR [HOW]     print partial text, start a child that starts a grandchild, write the
                     three pids to DIR/leader, DIR/child, DIR/grandchild, then sleep. HOW:
                       stubborn  every process of the tree ignores SIGTERM
                       escape    the grandchild double-forks into its own session, out of
                                 the run's process group
  once DIR           the first run (no DIR/ran yet) writes its pid to DIR/ran, prints partial
                     text and sleeps, outliving SIGTERM (it creates DIR/term instead), so a
                     cancelled job stays dying until the kill grace ends; every later run of
                     the same prompt answers as `succeed`
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.transports.mcp.conftest import structured

PARTIAL = "PARTIAL-OUTPUT"
ANSWER = "ANSWER-OK"
PIDS = ("leader", "child", "grandchild")

FAKE_CLAUDE = r"""
import json, os, signal, subprocess, sys, time

if "--version" in sys.argv:
    print("2.1.0 (Claude Code)")
    sys.exit(0)

def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()

def write_pid(directory, name, pid):
    tmp = os.path.join(directory, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.replace(tmp, os.path.join(directory, name))

message = json.loads(sys.stdin.readline())
prompt = message["message"]["content"][-1]["text"]
words = prompt.split()
mode = words[0]
session = "fake-session-%d" % os.getpid()
emit({"type": "system", "subtype": "init", "session_id": session, "model": "fake-model"})
text = "ANSWER-OK" if mode == "succeed" else "PARTIAL-OUTPUT"
emit({"type": "assistant", "session_id": session,
      "message": {"model": "fake-model", "content": [{"type": "text", "text": text}]}})
if mode == "succeed":
    emit({"type": "result", "subtype": "success", "is_error": False, "result": text,
          "session_id": session, "usage": {"input_tokens": 3, "output_tokens": 2},
          "total_cost_usd": 0.0001})
    sys.exit(0)
if mode == "fail":
    emit({"type": "result", "subtype": "error_during_execution", "is_error": True,
          "result": "fake failure: the tool broke", "session_id": session})
    sys.exit(1)
if mode == "logged":
    with open(words[1], "a") as log:
        log.write("start %d\n" % os.getpid())
    while not os.path.exists(words[2]):
        time.sleep(0.02)
    with open(words[1], "a") as log:
        log.write("end %d\n" % os.getpid())
    emit({"type": "result", "subtype": "success", "is_error": False, "result": "ANSWER-OK",
          "session_id": session, "usage": {"input_tokens": 3, "output_tokens": 2},
          "total_cost_usd": 0.0001})
    sys.exit(0)
if mode == "until":
    while not os.path.exists(words[1]):
        time.sleep(0.02)
    emit({"type": "result", "subtype": "success", "is_error": False, "result": "ANSWER-OK",
          "session_id": session, "usage": {"input_tokens": 3, "output_tokens": 2},
          "total_cost_usd": 0.0001})
    sys.exit(0)
if mode == "once":
    ran = os.path.join(words[1], "ran")
    if os.path.exists(ran):
        emit({"type": "result", "subtype": "success", "is_error": False, "result": "ANSWER-OK",
              "session_id": session, "usage": {"input_tokens": 3, "output_tokens": 2},
              "total_cost_usd": 0.0001})
        sys.exit(0)
    signal.signal(signal.SIGTERM, lambda *_: open(os.path.join(words[1], "term"), "w").close())
    write_pid(words[1], "ran", os.getpid())
if mode == "tree":
    directory, how = words[1], (words[2] if len(words) > 2 else "")
    if how == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = (
        "import os, signal, sys, time\n"
        "how, directory = sys.argv[1], sys.argv[2]\n"
        "if how == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "if how == 'escape':\n"
        "    if os.fork(): os._exit(0)\n"
        "    os.setsid()\n"
        "    if os.fork(): os._exit(0)\n"
        "tmp = os.path.join(directory, 'grandchild.tmp')\n"
        "open(tmp, 'w').write(str(os.getpid()))\n"
        "os.replace(tmp, os.path.join(directory, 'grandchild'))\n"
        "time.sleep(600)\n"
    )
    child = (
        "import signal, subprocess, sys, time\n"
        "if sys.argv[1] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', sys.argv[3], sys.argv[1], sys.argv[2]])\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", child, how, directory, grandchild])
    write_pid(directory, "child", proc.pid)
    write_pid(directory, "leader", os.getpid())
time.sleep(600)
"""


def install_fake_claude(bin_dir: Path) -> Path:
    """Write the fake as `claude` into `bin_dir` (run by this test's Python)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "claude"
    path.write_text(f"#!{sys.executable}\n{FAKE_CLAUDE}")
    path.chmod(0o755)
    return path


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie is dead, merely not yet reaped)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    state = raw[raw.rfind(b")") + 2 :].split()[0]
    return state not in (b"Z", b"X")


def paused(pid: int) -> bool:
    """The process is stopped (SIGSTOP): alive, but it runs no code until SIGCONT."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return raw[raw.rfind(b")") + 2 :].split()[0] in (b"T", b"t")


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return int(raw[raw.rfind(b")") + 2 :].split()[19])


def read_pids(
    directory: Path, names: Iterable[str] = PIDS, timeout_s: float = 20.0
) -> dict[str, int]:
    """The pids the fake's tree wrote, waiting (bounded) until all are there."""
    deadline = time.monotonic() + timeout_s
    wanted = list(names)
    while time.monotonic() < deadline:
        found = {n: int((directory / n).read_text()) for n in wanted if (directory / n).exists()}
        if len(found) == len(wanted):
            return found
        time.sleep(0.02)
    raise AssertionError(f"the fake CLI never wrote its pids into {directory}")


def wait_dead(pids: Iterable[int], timeout_s: float) -> list[int]:
    """Wait (bounded) until none of `pids` is alive; those still alive at the end."""
    deadline = time.monotonic() + timeout_s
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if alive(p)]
    return left


def kill_quietly(pids: Iterable[int]) -> None:
    """Clean up after a failed test: nothing of it may keep running."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)


JOB_WAIT_S = 30.0


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql, args).fetchall())


# -- the real gateway as a child process, driven over MCP ------------------------------


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


def calls(url: str, tool: str, each: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`tool` called once with each set of arguments, in order, over one MCP session: a poll
    that asks about several jobs a round pays for one client start, not one a job (each
    start costs the test and the gateway more CPU than the call it carries)."""

    async def in_one_session() -> list[dict[str, Any]]:
        async with Client(url) as client:
            return [structured(await client.call_tool(tool, arguments)) for arguments in each]

    return asyncio.run(in_one_session())


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
