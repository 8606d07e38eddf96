"""Shared by the crash tests: a fake `claude` CLI that behaves as the prompt says, and ways to
look at real processes (Linux /proc) without mistaking a zombie for a live one.

The fake speaks Claude Code's stream-json (what the gateway's claude adapter reads). The
prompt's first word picks what it does:

  succeed            answer "ANSWER-OK" and exit 0
  fail               print partial text, then an error result, exit 1
  hang               print partial text, then sleep (for cancel, timeout, interrupt)
  tree DIR [HOW]     print partial text, start a child that starts a grandchild, write the
                     three pids to DIR/leader, DIR/child, DIR/grandchild, then sleep. HOW:
                       stubborn  every process of the tree ignores SIGTERM
                       escape    the grandchild double-forks into its own session, out of
                                 the run's process group
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql, args).fetchall())
