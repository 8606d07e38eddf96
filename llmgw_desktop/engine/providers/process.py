"""Run one CLI process with hard limits, and always leave nothing behind.

Every provider call goes through `run_process`: argv list (never a shell), its own process
group, the prompt on stdin where the CLI reads it, a total timeout, an idle (no output)
timeout, an output cap, and cancellation. Whatever ends the run, the whole process group is
terminated, given a grace period, then killed, so no grandchild outlives the call. With a
`Lifeline`, the group is also tied to the gateway's own life: it dies if the gateway dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.process_identity import group_has_live_member

__all__ = [
    "Conversation",
    "Invocation",
    "ProcessOutcome",
    "RunLimits",
    "isolated_environment",
    "run_process",
]

log = logging.getLogger(__name__)

# `lease_lapsed`: killed because a peer took this gateway for dead while it could not prove its
# lease on a shared store (cut off from the store, or stalled; `lifeline.py`). `finished`: a
# conversation (an ACP agent's turn) said it was over while the process still ran; the group is
# then stopped.
EndedBy = Literal[
    "exit", "finished", "timeout", "idle_timeout", "output_overflow", "canceled", "lease_lapsed"
]
# Hears a run's process id (also its process group id) and the identity to save with it.
Started = Callable[[int, str | None], None]
READ_CHUNK = 65536
STDERR_KEEP = 64 * 1024  # stderr is for diagnosis: keep the tail, not all of it
DRAIN_AFTER_EXIT_S = 1.0  # how long pipes may stay open after the main process exits
GROUP_POLL_S = 0.02  # how often a stopping group is checked for members still alive
EXIT_POLL_S = 0.05  # how often a conversation's process is checked for having exited
# Each run gets its own process group so the whole tree can be stopped together.
if sys.platform == "win32":
    _NEW_GROUP_FLAGS = subprocess.CREATE_NEW_PROCESS_GROUP
else:
    _NEW_GROUP_FLAGS = 0

# Variables that redirect a CLI to another endpoint. With isolation on they are not inherited,
# so a stray OPENAI_BASE_URL in the user's shell cannot silently reroute a provider call.
_REDIRECTING_ENV = re.compile(r"(_BASE_URL|_API_BASE|_API_URL|_ENDPOINT|_HOST)$")


class Conversation(Protocol):
    """A process spoken with rather than fed (an ACP agent): it holds stdin and reads stdout.

    `tap` must be given every byte read from stdout, so the idle timer, the output cap and the
    progress see it. Returning ends the run (`finished`); it must not raise but for cancellation.
    """

    async def run(
        self,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        tap: Callable[[bytes], object],
    ) -> None: ...


@dataclass(frozen=True)
class Invocation:
    """What to run: argv, optional stdin bytes (or a conversation), extra environment, dir."""

    argv: tuple[str, ...]
    stdin: bytes | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    conversation: Conversation | None = None


@dataclass(frozen=True)
class RunLimits:
    """Bounds on one run; idle timeout 0 means none."""

    timeout_s: float
    idle_timeout_s: float = 0.0
    max_output_bytes: int = 32 * 1024 * 1024
    kill_grace_s: float = 2.0


@dataclass(frozen=True)
class ProcessOutcome:
    """How the process ended and what it printed."""

    exit_code: int | None
    stdout: bytes
    stderr_tail: bytes
    duration_s: float
    ended_by: EndedBy
    pid: int


def isolated_environment(base: Mapping[str, str]) -> dict[str, str]:
    """`base` without the variables that point a CLI at another endpoint."""
    return {k: v for k, v in base.items() if not _REDIRECTING_ENV.search(k)}


async def run_process(
    invocation: Invocation,
    limits: RunLimits,
    *,
    environment: Mapping[str, str] | None = None,
    isolate_env: bool = False,
    on_stdout: Callable[[bytes], None] | None = None,
    on_start: Started | None = None,
    lifeline: Lifeline | None = None,
) -> ProcessOutcome:
    """Run `invocation` to the end or to a limit; cancelling the caller kills the process group.

    The child sees `environment` (by default the allow-list of `child_env.py` for a plain
    helper, never the gateway's whole environment), less redirecting variables with
    `isolate_env`, plus the invocation's own.

    `on_start` hears the process id (also its process group id) as soon as it exists, with
    its identity (`process_identity.py`) when a `lifeline` holds it.

    Raises:
        FileNotFoundError: the executable does not exist.
        PermissionError: it exists but cannot be executed.
        asyncio.CancelledError: the caller was cancelled (after the group was killed).
    """
    base_env = child_environment() if environment is None else dict(environment)
    if isolate_env:
        base_env = isolated_environment(base_env)
    env = base_env | dict(invocation.env)
    scratch: str | None = None
    cwd = invocation.cwd
    if cwd is None:
        scratch = tempfile.mkdtemp(prefix="llmgw-run-")
        cwd = Path(scratch)
    try:
        return await _run(invocation, limits, env, cwd, on_stdout, on_start, lifeline)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


async def _run(
    invocation: Invocation,
    limits: RunLimits,
    env: dict[str, str],
    cwd: Path,
    on_stdout: Callable[[bytes], None] | None,
    on_start: Started | None,
    lifeline: Lifeline | None,
) -> ProcessOutcome:
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    argv: tuple[str, ...] = invocation.argv
    tie: dict[str, Any] = {}
    if lifeline is not None:
        argv, tie = await lifeline.tie(argv, env, cwd)
    # Spawned from the loop's thread, which lives as long as the gateway: Linux's parent-death
    # signal follows the thread that forked.
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE
        if invocation.stdin is not None or invocation.conversation is not None
        else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=sys.platform != "win32",
        creationflags=_NEW_GROUP_FLAGS,
        **tie,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        # Only job CLIs run here with a lifeline: their groups live while the lease holds.
        identity = None if lifeline is None else await lifeline.hold(proc.pid, leased=True)
    except BaseException:
        await _stop_group(proc, 0.0)
        _close_transport(proc)
        raise
    if on_start is not None:
        on_start(proc.pid, identity)
    stdout = bytearray()
    stderr = bytearray()
    last_output = [loop.time()]
    overflow = loop.create_future()

    async def feed_stdin() -> None:
        assert proc.stdin is not None and invocation.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(invocation.stdin)
            await proc.stdin.drain()
        proc.stdin.close()

    seen = [0]

    def took(chunk: bytes) -> bool:
        """Account for one chunk of stdout; False once past the output cap."""
        last_output[0] = loop.time()
        seen[0] += len(chunk)
        if invocation.conversation is None:
            stdout.extend(chunk)  # a conversation keeps what it needs itself
        if seen[0] > limits.max_output_bytes:
            if not overflow.done():
                overflow.set_result(None)
            return False
        if on_stdout is not None:
            on_stdout(chunk)
        return True

    async def read_stdout() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(READ_CHUNK):
            if not took(chunk):
                return

    async def converse() -> None:
        assert proc.stdin is not None and proc.stdout is not None
        assert invocation.conversation is not None
        await invocation.conversation.run(proc.stdin, proc.stdout, took)

    async def read_stderr() -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(READ_CHUNK):
            last_output[0] = loop.time()
            stderr.extend(chunk)
            del stderr[:-STDERR_KEEP]

    async def exited_and_drained() -> None:
        if invocation.conversation is not None:
            # On Python 3.11 `wait()` also waits for the pipes, which a child the agent left
            # may hold open; the exit itself is what ends a conversation's run.
            while proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only wait
                await asyncio.sleep(EXIT_POLL_S)
        else:
            await proc.wait()
        # A grandchild may still hold the pipes open; do not wait on it for long.
        await asyncio.wait(readers, timeout=DRAIN_AFTER_EXIT_S)

    async def watchdog() -> EndedBy:
        deadline = started_loop + limits.timeout_s
        while True:
            now = loop.time()
            if now >= deadline:
                return "timeout"
            wake = deadline
            if limits.idle_timeout_s > 0:
                idle_deadline = last_output[0] + limits.idle_timeout_s
                if now >= idle_deadline:
                    return "idle_timeout"
                wake = min(wake, idle_deadline)
            await asyncio.sleep(wake - now)

    started_loop = loop.time()
    ended_by: EndedBy = "exit"
    try:
        # The helpers live only as long as this call: the group cancels them all if one
        # fails, and does not let the call return before each of them has ended.
        async with asyncio.TaskGroup() as helpers:
            started_helpers: list[asyncio.Task[Any]] = []
            if invocation.stdin is not None and invocation.conversation is None:
                started_helpers.append(
                    helpers.create_task(feed_stdin(), name=f"process {proc.pid} stdin")
                )
            talk = read_stdout() if invocation.conversation is None else converse()
            talking = helpers.create_task(talk, name=f"process {proc.pid} stdout")
            readers = {
                talking,
                helpers.create_task(read_stderr(), name=f"process {proc.pid} stderr"),
            }
            finished = helpers.create_task(exited_and_drained(), name=f"process {proc.pid} exit")
            guard = helpers.create_task(watchdog(), name=f"process {proc.pid} watchdog")
            started_helpers += [*readers, finished, guard]
            ends = {finished, guard, overflow}
            if invocation.conversation is not None:
                ends.add(talking)  # the turn is over: the agent is not waited on to exit
            try:
                done, _ = await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
                if overflow in done:
                    ended_by = "output_overflow"
                elif guard in done:
                    ended_by = guard.result()
                elif talking in done and finished not in done:
                    ended_by = "finished"
                elif lifeline is not None and lifeline.stopped_for_lease(proc.pid):
                    ended_by = "lease_lapsed"
            except asyncio.CancelledError:
                ended_by = "canceled"
                raise
            finally:
                guard.cancel()
                # Whatever happened, nothing of this call keeps running: main process or
                # grandchildren.
                grace = (
                    limits.kill_grace_s
                    if lifeline is None
                    else lifeline.kill_grace(limits.kill_grace_s)
                )
                await _stop_group(proc, grace)
                if lifeline is not None:
                    await lifeline.release(proc.pid)
                # With the group gone the pipes reach EOF at once; a process that escaped the
                # group could hold them open, so the wait is bounded and the transport closed
                # regardless.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait(readers, timeout=DRAIN_AFTER_EXIT_S)
                for helper in started_helpers:
                    helper.cancel()
    except ExceptionGroup as group:
        # The group wraps whatever ended the run (a failing `on_stdout`, a lifeline that could
        # not be released); callers catch the plain exception, as they always have.
        raise group.exceptions[0] from None
    finally:
        _close_transport(proc)
        if ended_by not in ("exit", "finished"):
            log.info("process %d ended by %s", proc.pid, ended_by)
    return ProcessOutcome(
        exit_code=proc.returncode if ended_by in ("exit", "finished") else None,
        stdout=bytes(stdout),
        stderr_tail=bytes(stderr),
        duration_s=time.monotonic() - started,
        ended_by=ended_by,
        pid=proc.pid,
    )


def _close_transport(proc: asyncio.subprocess.Process) -> None:
    transport = getattr(proc, "_transport", None)  # asyncio offers no public close
    if transport is not None:
        transport.close()


async def _stop_group(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    """Terminate the process group, wait `grace_s`, then kill what is left."""
    if sys.platform == "win32":
        await _stop_tree_windows(proc, grace_s)
        return
    pgid = proc.pid  # start_new_session made the child its own group leader
    if not _signal_group(pgid, signal.SIGTERM if grace_s > 0 else signal.SIGKILL):
        return  # the group is already gone
    # One deadline for the whole group: the leader and any member may ignore SIGTERM. The
    # leader's exit is its return code, not `wait()`: on 3.11 that also waits for the pipes,
    # which a process that left the group may hold for as long as it likes. A member that
    # died is gone for this purpose even before it is reaped (`_group_alive`).
    deadline = time.monotonic() + grace_s
    while (proc.returncode is None or _group_alive(pgid)) and time.monotonic() < deadline:  # noqa: ASYNC110 - other processes
        await asyncio.sleep(GROUP_POLL_S)
    _signal_group(pgid, signal.SIGKILL)
    while proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only wait
        await asyncio.sleep(GROUP_POLL_S)


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Zombies are members too until reaped, and an init that does not reap keeps them.
    return group_has_live_member(pgid)


async def _stop_tree_windows(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), grace_s)
    # taskkill /T reaches the children a CLI (node) started.
    killer = await asyncio.create_subprocess_exec(
        "taskkill",
        "/F",
        "/T",
        "/PID",
        str(proc.pid),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=child_environment(),
    )
    await killer.wait()
    if proc.returncode is None:
        await proc.wait()
