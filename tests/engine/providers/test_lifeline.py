"""The lifeline against real processes (warden, parent-death signal), and the Windows Job
Object's calls against a recording stand-in for kernel32 (Windows cannot run here)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.providers.lifeline import Lifeline, tied_argv
from llmgw_desktop.engine.providers.lifeline_windows import (
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JobObjectExtendedLimitInformation,
    KillOnCloseJob,
)
from llmgw_desktop.engine.providers.process import Invocation, RunLimits, run_process

# A process read from /proc as it is reaped raises ESRCH, not only ENOENT: these read any
# OSError as gone.
from tests.reliability._crash_support import alive, paused

FAKE = str(Path(__file__).resolve().parents[2] / "fakes" / "behaving_process.py")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, prctl")
DEATH_S = 5.0
LIMITS = RunLimits(timeout_s=10)


async def gone(*pids: int) -> bool:
    deadline = time.monotonic() + DEATH_S
    while any(alive(p) for p in pids) and time.monotonic() < deadline:  # noqa: ASYNC110 - other processes
        await asyncio.sleep(0.02)
    return not any(alive(p) for p in pids)


async def start_tree(tmp_path: Path, mode: str = "tree") -> tuple[asyncio.subprocess.Process, int]:
    """A group leader (its own session) with a grandchild; both pids once both run."""
    pidfile = tmp_path / f"{mode}.pid"
    args = ("tree", str(pidfile)) if mode == "tree" else (mode,)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, FAKE, *args, stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 20)
    member = int(pidfile.read_text()) if mode == "tree" else proc.pid
    return proc, member


@pytest.fixture
async def lifeline() -> AsyncIterator[Lifeline]:
    tie = Lifeline(stop_grace_s=0.2)
    yield tie
    await tie.close()


def gateway_died(lifeline: Lifeline) -> None:
    """What the kernel does to the warden's pipe when the gateway dies: close our end."""
    warden = lifeline._warden  # the end-of-file is the whole protocol; nothing else to call
    assert warden is not None and warden.stdin is not None
    warden.stdin.close()


@linux_only
async def test_the_warden_kills_a_held_group_when_the_gateway_end_closes(
    tmp_path: Path, lifeline: Lifeline
) -> None:
    proc, grandchild = await start_tree(tmp_path)
    identity = await lifeline.hold(proc.pid)
    assert identity is not None and identity.startswith("linux:")
    assert lifeline.warden_pid is not None
    gateway_died(lifeline)
    assert await gone(proc.pid, grandchild)
    await proc.wait()


async def until(check: Any, timeout_s: float = DEATH_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check() and time.monotonic() < deadline:  # noqa: ASYNC110 - other processes
        await asyncio.sleep(0.01)
    return bool(check())


@linux_only
async def test_a_leased_group_is_paused_before_an_unrenewed_lease_runs_out_and_goes_on_once_proved(
    tmp_path: Path, lifeline: Lifeline
) -> None:
    # Long enough that the warden's slack (a quarter of it) outlasts a loaded machine's late
    # sleep, and its pause lands well before the lease would run out.
    lease_s = 3.0
    job_cli, job_grandchild = await start_tree(tmp_path)
    (tmp_path / "server").mkdir()
    mcp_server, _ = await start_tree(tmp_path / "server")
    await lifeline.hold(job_cli.pid, leased=True)
    await lifeline.hold(mcp_server.pid)  # an upstream MCP server: no job's work
    # Renewed every third of the lease, as the lease does: the warden never fires.
    for _ in range(4):
        await lifeline.keep_until(time.monotonic() + lease_s, lease_s)
        await asyncio.sleep(lease_s / 3)
        assert not paused(job_cli.pid) and not paused(job_grandchild)
    assert not lifeline.paused()
    held_until = time.monotonic() + lease_s
    await lifeline.keep_until(held_until, lease_s)
    # No renewal lands any more (the store is cut off, or the gateway stalled): the job's whole
    # group is paused before the lease could run out for a peer; the server is left running.
    assert await until(lambda: paused(job_cli.pid) and paused(job_grandchild))
    assert time.monotonic() < held_until
    assert not paused(mcp_server.pid)
    assert lifeline.paused() and lifeline.kill_grace(3.0) == 0.0
    # A renewal lands and no peer had taken this process (an outage for all): it goes on.
    await lifeline.keep_until(time.monotonic() + lease_s, lease_s)
    assert await until(lambda: not paused(job_cli.pid) and not paused(job_grandchild))
    assert alive(job_cli.pid) and not lifeline.stopped_for_lease(job_cli.pid)
    # A renewal landing late proves nothing ahead: the group is paused at once.
    await lifeline.keep_until(time.monotonic() + lease_s * 0.2, lease_s)
    assert await until(lambda: paused(job_cli.pid))
    await lifeline.release(job_cli.pid)
    await lifeline.release(mcp_server.pid)
    for proc in (job_cli, mcp_server):
        os.killpg(proc.pid, signal.SIGKILL)  # its grandchild holds the pipe too
        await proc.wait()


@linux_only
async def test_a_paused_group_is_killed_when_the_lease_proves_lost(
    tmp_path: Path, lifeline: Lifeline
) -> None:
    lease_s = 1.0
    job_cli, job_grandchild = await start_tree(tmp_path)
    await lifeline.hold(job_cli.pid, leased=True)
    await lifeline.keep_until(time.monotonic() + lease_s * 0.3, lease_s)
    assert await until(lambda: paused(job_cli.pid))
    # The next renewal finds the lease was taken: the lost tenure's group dies, paused as it
    # is, before the renewal's new deadline could let it go on.
    await lifeline.keep_until(time.monotonic() + lease_s, lease_s, lost=True)
    assert await gone(job_cli.pid, job_grandchild)
    assert lifeline.stopped_for_lease(job_cli.pid)
    assert await job_cli.wait() == -signal.SIGKILL
    await lifeline.release(job_cli.pid)


@linux_only
async def test_the_warden_kills_a_group_that_ignores_sigterm_after_the_grace(
    tmp_path: Path, lifeline: Lifeline
) -> None:
    proc, _ = await start_tree(tmp_path, "stubborn")
    await lifeline.hold(proc.pid)
    gateway_died(lifeline)
    assert await gone(proc.pid)
    assert await proc.wait() == -signal.SIGKILL


@linux_only
async def test_a_released_group_is_left_alone_and_close_lets_the_warden_go(
    tmp_path: Path, lifeline: Lifeline
) -> None:
    proc, grandchild = await start_tree(tmp_path)
    await lifeline.hold(proc.pid)
    warden = lifeline.warden_pid
    assert warden is not None
    await lifeline.release(proc.pid)
    await lifeline.close()
    assert lifeline.warden_pid is None and not alive(warden)
    try:
        assert alive(proc.pid) and alive(grandchild)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


@linux_only
async def test_a_dead_warden_is_replaced_and_told_every_held_group(
    tmp_path: Path, lifeline: Lifeline
) -> None:
    first, _ = await start_tree(tmp_path)
    await lifeline.hold(first.pid)
    old = lifeline.warden_pid
    assert old is not None
    os.kill(old, signal.SIGKILL)
    while lifeline.warden_pid is not None:  # noqa: ASYNC110 - another process
        await asyncio.sleep(0.02)
    (tmp_path / "second").mkdir()
    second, _ = await start_tree(tmp_path / "second")
    await lifeline.hold(second.pid)
    assert lifeline.warden_pid not in (None, old)
    gateway_died(lifeline)
    assert await gone(first.pid, second.pid)
    await asyncio.gather(first.wait(), second.wait())


@posix_only
async def test_at_stop_the_short_grace_applies() -> None:
    lifeline = Lifeline(stop_grace_s=0.1, use_warden=False)
    assert lifeline.kill_grace(3.0) == 3.0
    lifeline.stopping = True
    assert lifeline.kill_grace(3.0) == 0.1
    began = time.monotonic()
    out = await run_process(
        Invocation(argv=(sys.executable, FAKE, "stubborn")),
        RunLimits(timeout_s=0.3, kill_grace_s=3.0),
        lifeline=lifeline,
    )
    assert out.ended_by == "timeout" and time.monotonic() - began < 2.0


@linux_only
@pytest.mark.parametrize("tie", ["setpriv", "preexec_fn"])
def test_a_cli_dies_the_moment_its_parent_does(tie: str) -> None:
    """The parent-death signal, with a real parent: a small program spawns `sleep` tied by
    the lifeline (setpriv, or the fallback without it), prints its pid and exits without
    stopping it."""
    parent = textwrap.dedent(
        f"""
        import asyncio, os, subprocess, sys
        from pathlib import Path
        from llmgw_desktop.engine.providers.lifeline import Lifeline, tied_argv
        lifeline = Lifeline(stop_grace_s=0.1, use_warden=False)
        if {tie!r} == "preexec_fn":
            lifeline._setpriv = ""  # as on a system without a usable setpriv
        argv, options = asyncio.run(lifeline.tie(["sleep", "60"], os.environ, Path.cwd()))
        assert ("--pdeathsig" in argv) == ({tie!r} == "setpriv"), argv
        child = subprocess.Popen(argv, start_new_session=True, **options)
        print(child.pid, flush=True)
        """
    )
    control = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        done = subprocess.run(
            [sys.executable, "-c", parent], capture_output=True, text=True, timeout=30, check=True
        )
        child = int(done.stdout)
        deadline = time.monotonic() + DEATH_S
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive(child)
        assert alive(control.pid)  # an untied child of a live parent is untouched
    finally:
        control.kill()
        control.wait()


@linux_only
def test_a_cli_whose_gateway_died_before_the_tie_kills_itself(tmp_path: Path) -> None:
    """The gap between spawn and setpriv's prctl: the expected parent is gone (here: never
    was), so the tie ends the child before the CLI runs."""
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    if setpriv is None:
        pytest.skip("no setpriv")
    marker = tmp_path / "ran"
    argv = tied_argv(setpriv, 1, ["/bin/sh", "-c", f"touch {marker}"])
    done = subprocess.run(argv, timeout=10, check=False)
    assert done.returncode == -signal.SIGKILL and not marker.exists()
    assert (
        subprocess.run(tied_argv(setpriv, os.getpid(), ["/bin/true"]), check=False).returncode == 0
    )


@linux_only
async def test_a_tied_run_reports_a_missing_or_unrunnable_cli_as_a_direct_spawn_would(
    tmp_path: Path,
) -> None:
    lifeline = Lifeline(stop_grace_s=0.1, use_warden=False)
    not_executable = tmp_path / "cli"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(FileNotFoundError):
        await run_process(Invocation(argv=(str(tmp_path / "missing"),)), LIMITS, lifeline=lifeline)
    with pytest.raises(FileNotFoundError):
        await run_process(Invocation(argv=("no-such-cli-anywhere",)), LIMITS, lifeline=lifeline)
    with pytest.raises(PermissionError):
        await run_process(Invocation(argv=(str(not_executable),)), LIMITS, lifeline=lifeline)
    with pytest.raises(FileNotFoundError):  # the working directory, as before
        await run_process(
            Invocation(argv=("true",), cwd=tmp_path / "gone"), LIMITS, lifeline=lifeline
        )
    out = await run_process(Invocation(argv=("echo", "tied")), LIMITS, lifeline=lifeline)
    assert out.stdout == b"tied\n" and out.exit_code == 0


@linux_only
@pytest.mark.parametrize("pwd", [None, "/stale/dir", ""])
async def test_a_tied_cli_gets_exactly_the_environment_a_direct_spawn_gives(
    pwd: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PWD", raising=False)  # so that None means none at all
    env = {"PATH": os.defpath, "KEEP": "a b;c"} | ({} if pwd is None else {"PWD": pwd})
    invocation = Invocation(argv=("env",), env=env, cwd=tmp_path)
    limits = RunLimits(timeout_s=10)
    direct = await run_process(invocation, limits, isolate_env=True)
    tied = await run_process(
        invocation, limits, isolate_env=True, lifeline=Lifeline(stop_grace_s=0.1, use_warden=False)
    )
    assert sorted(tied.stdout.splitlines()) == sorted(direct.stdout.splitlines())


# -- Windows Job Object: layout and calls (a recording kernel32; Windows cannot run here) ---


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="64-bit layout")
def test_the_limit_structure_has_winnt_layout() -> None:
    info = JobObjectExtendedLimitInformation()
    assert ctypes.sizeof(info) == 144
    assert JobObjectExtendedLimitInformation.BasicLimitInformation.offset == 0
    basic = type(info.BasicLimitInformation)
    assert basic.LimitFlags.offset == 16  # type: ignore[attr-defined]
    assert JobObjectExtendedLimitInformation.IoInfo.offset == 64
    assert JobObjectExtendedLimitInformation.ProcessMemoryLimit.offset == 112


class RecordingKernel32:
    """Answers like kernel32 and writes down every call."""

    def __init__(self, *, assign_ok: bool = True) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.limits: JobObjectExtendedLimitInformation | None = None
        self._assign_ok = assign_ok

    def CreateJobObjectW(self, *args: Any) -> int:
        self.calls.append(("CreateJobObjectW", args))
        return 7

    def SetInformationJobObject(self, handle: int, cls: int, ref: Any, size: int) -> int:
        self.calls.append(("SetInformationJobObject", (handle, cls, size)))
        self.limits = ref._obj
        return 1

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        self.calls.append(("OpenProcess", (access, inherit, pid)))
        return 99

    def AssignProcessToJobObject(self, job: int, process: int) -> int:
        self.calls.append(("AssignProcessToJobObject", (job, process)))
        return 1 if self._assign_ok else 0

    def CloseHandle(self, handle: int) -> int:
        self.calls.append(("CloseHandle", (handle,)))
        return 1


def test_the_job_kills_on_close_and_takes_each_cli() -> None:
    kernel32 = RecordingKernel32()
    job = KillOnCloseJob(kernel32)
    job.assign(4242)
    assert kernel32.limits is not None
    flags = kernel32.limits.BasicLimitInformation.LimitFlags
    assert flags == JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE == 0x2000
    assert kernel32.calls == [
        ("CreateJobObjectW", (None, None)),
        ("SetInformationJobObject", (7, 9, ctypes.sizeof(JobObjectExtendedLimitInformation))),
        ("OpenProcess", (0x0101, False, 4242)),
        ("AssignProcessToJobObject", (7, 99)),
        ("CloseHandle", (99,)),
    ]
    # The job's own handle is never closed: closing it is what ends the CLIs.
    assert ("CloseHandle", (7,)) not in kernel32.calls


def test_a_cli_that_cannot_join_is_an_error_and_leaks_no_handle() -> None:
    kernel32 = RecordingKernel32(assign_ok=False)
    job = KillOnCloseJob(kernel32)
    with pytest.raises(OSError, match="AssignProcessToJobObject"):
        job.assign(4242)
    assert kernel32.calls[-1] == ("CloseHandle", (99,))
