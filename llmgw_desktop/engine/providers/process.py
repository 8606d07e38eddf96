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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.process_tree import stop_tree

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
    """Start the process, tend it to its end or to a limit, and stop its whole group."""
    started = time.monotonic()
    proc = await _spawn(invocation, env, cwd, lifeline)
    try:
        # Only job CLIs run here with a lifeline: their groups live while the lease holds.
        identity = None if lifeline is None else await lifeline.hold(proc.pid, leased=True)
    except BaseException:
        await stop_tree(proc, 0.0)
        _close_transport(proc)
        raise
    if on_start is not None:
        on_start(proc.pid, identity)
    running = _Running(proc, invocation, limits, on_stdout, lifeline)
    try:
        await running.to_the_end()
    finally:
        _close_transport(proc)
        if running.ended_by not in ("exit", "finished"):
            log.info("process %d ended by %s", proc.pid, running.ended_by)
    return ProcessOutcome(
        exit_code=proc.returncode if running.ended_by in ("exit", "finished") else None,
        stdout=bytes(running.stdout),
        stderr_tail=bytes(running.stderr),
        duration_s=time.monotonic() - started,
        ended_by=running.ended_by,
        pid=proc.pid,
    )


async def _spawn(
    invocation: Invocation, env: dict[str, str], cwd: Path, lifeline: Lifeline | None
) -> asyncio.subprocess.Process:
    """Start `invocation` as the leader of its own process group (tied to the gateway's life
    by `lifeline`), stdout and stderr piped, stdin piped only when something will write it."""
    argv: tuple[str, ...] = invocation.argv
    tie: dict[str, Any] = {}
    if lifeline is not None:
        argv, tie = await lifeline.tie(argv, env, cwd)
    # Spawned from the loop's thread, which lives as long as the gateway: Linux's parent-death
    # signal follows the thread that forked.
    # Shielded: a cancel that comes while the child is being made would leave asyncio to
    # kill the leader alone, while what it already started ran on. The making goes on; the
    # group it made is killed by whichever side sees the other second.
    spawn = _Spawn()
    try:
        return await asyncio.shield(spawn.made(_spawned(argv, invocation, env, cwd, tie)))
    except asyncio.CancelledError:
        spawn.caller_gone()
        raise


class _Spawn:
    """One child being made for a caller that may leave while it is: the child is killed,
    whole group, once both have happened (made, and the caller gone)."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._gone = False

    async def made(
        self, making: Awaitable[asyncio.subprocess.Process]
    ) -> asyncio.subprocess.Process:
        self._proc = await making
        if self._gone:
            _kill_group_at_once(self._proc)
        return self._proc

    def caller_gone(self) -> None:
        self._gone = True
        if self._proc is not None:
            _kill_group_at_once(self._proc)


def _kill_group_at_once(proc: asyncio.subprocess.Process) -> None:
    """Kill the whole group of a child made for a caller that left while it was being made."""
    if sys.platform == "win32":
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    _close_transport(proc)


async def _spawned(
    argv: tuple[str, ...],
    invocation: Invocation,
    env: dict[str, str],
    cwd: Path,
    tie: dict[str, Any],
) -> asyncio.subprocess.Process:
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
    return proc


@dataclass(frozen=True)
class _Helpers:
    """The tasks that tend one running process."""

    talking: asyncio.Task[None]  # stdout's reader, or the conversation holding stdin and stdout
    finished: asyncio.Task[None]  # the process's exit, then its pipes drained (bounded)
    watchdog: asyncio.Task[EndedBy]  # the total and idle timeouts
    every: list[asyncio.Task[Any]]  # all of them, stdin's feeder and stderr's reader included


class _Running:
    """One started process while it runs: what it printed, the helpers that feed and read it,
    the limits they watch, and how the run ended (`ended_by`)."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        invocation: Invocation,
        limits: RunLimits,
        on_stdout: Callable[[bytes], None] | None,
        lifeline: Lifeline | None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._proc = proc
        self._invocation = invocation
        self._limits = limits
        self._on_stdout = on_stdout
        self._lifeline = lifeline
        self.stdout = bytearray()
        self.stderr = bytearray()  # its tail only (STDERR_KEEP)
        self.ended_by: EndedBy = "exit"
        self._seen = 0  # bytes of stdout so far, kept or not
        self._last_output = self._started = self._loop.time()
        self._overflow: asyncio.Future[None] = self._loop.create_future()
        self._readers: set[asyncio.Task[None]] = set()  # stdout's (or the talk) and stderr's

    async def to_the_end(self) -> None:
        """Tend the process until it exits or a limit ends the run, then stop its whole group;
        `ended_by` says what ended it.

        Raises:
            asyncio.CancelledError: the caller was cancelled (after the group was stopped).
            Exception: what a helper raised (a failing `on_stdout`, a lifeline that could not
                be released), as itself rather than inside an ExceptionGroup.
        """
        try:
            # The helpers live only as long as this call: the group cancels them all if one
            # fails, and does not let the call return before each of them has ended.
            async with asyncio.TaskGroup() as group:
                helpers = self._start(group)
                try:
                    self.ended_by = await self._first_end(helpers)
                except asyncio.CancelledError:
                    self.ended_by = "canceled"
                    raise
                finally:
                    helpers.watchdog.cancel()
                    await self._stop(helpers)
        except ExceptionGroup as group:
            # Callers catch the plain exception that ended the run, as they always have.
            raise group.exceptions[0] from None

    def _start(self, group: asyncio.TaskGroup) -> _Helpers:
        """Start the helpers: stdin's feeder (when bytes are given), stdout's reader or the
        conversation, stderr's reader, the exit's waiter and the watchdog."""
        pid = self._proc.pid
        every: list[asyncio.Task[Any]] = []
        if self._invocation.stdin is not None and self._invocation.conversation is None:
            every.append(group.create_task(self._feed_stdin(), name=f"process {pid} stdin"))
        talk = self._read_stdout() if self._invocation.conversation is None else self._converse()
        talking = group.create_task(talk, name=f"process {pid} stdout")
        self._readers = {
            talking,
            group.create_task(self._read_stderr(), name=f"process {pid} stderr"),
        }
        finished = group.create_task(self._exited_and_drained(), name=f"process {pid} exit")
        watchdog = group.create_task(self._watchdog(), name=f"process {pid} watchdog")
        every += [*self._readers, finished, watchdog]
        return _Helpers(talking, finished, watchdog, every)

    async def _first_end(self, helpers: _Helpers) -> EndedBy:
        """Wait for the first thing that ends the run, and say what it was."""
        ends: set[asyncio.Future[Any]] = {helpers.finished, helpers.watchdog, self._overflow}
        if self._invocation.conversation is not None:
            ends.add(helpers.talking)  # the turn is over: the agent is not waited on to exit
        done, _ = await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        if self._overflow in done:
            return "output_overflow"
        if helpers.watchdog in done:
            return helpers.watchdog.result()
        if helpers.talking in done and helpers.finished not in done:
            return "finished"
        if self._lifeline is not None and self._lifeline.stopped_for_lease(self._proc.pid):
            return "lease_lapsed"
        return "exit"

    async def _stop(self, helpers: _Helpers) -> None:
        """Whatever ended the run, leave nothing of it running: main process or grandchildren."""
        lifeline = self._lifeline
        grace = (
            self._limits.kill_grace_s
            if lifeline is None
            else lifeline.kill_grace(self._limits.kill_grace_s)
        )
        await stop_tree(self._proc, grace)
        if lifeline is not None:
            await lifeline.release(self._proc.pid)
        # With the group gone the pipes reach EOF at once; a process that escaped the group
        # could hold them open, so the wait is bounded and the transport closed regardless.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(self._readers, timeout=DRAIN_AFTER_EXIT_S)
        for helper in helpers.every:
            helper.cancel()

    async def _feed_stdin(self) -> None:
        stdin, data = self._proc.stdin, self._invocation.stdin
        assert stdin is not None and data is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        stdin.close()

    def _took(self, chunk: bytes) -> bool:
        """Account for one chunk of stdout; False once past the output cap."""
        self._last_output = self._loop.time()
        self._seen += len(chunk)
        if self._invocation.conversation is None:
            self.stdout.extend(chunk)  # a conversation keeps what it needs itself
        if self._seen > self._limits.max_output_bytes:
            if not self._overflow.done():
                self._overflow.set_result(None)
            return False
        if self._on_stdout is not None:
            self._on_stdout(chunk)
        return True

    async def _read_stdout(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        while chunk := await stdout.read(READ_CHUNK):
            if not self._took(chunk):
                return

    async def _converse(self) -> None:
        proc, conversation = self._proc, self._invocation.conversation
        assert proc.stdin is not None and proc.stdout is not None and conversation is not None
        await conversation.run(proc.stdin, proc.stdout, self._took)

    async def _read_stderr(self) -> None:
        stderr = self._proc.stderr
        assert stderr is not None
        while chunk := await stderr.read(READ_CHUNK):
            self._last_output = self._loop.time()
            self.stderr.extend(chunk)
            del self.stderr[:-STDERR_KEEP]

    async def _exited_and_drained(self) -> None:
        """The process's exit, then its pipes read to EOF (a grandchild may hold them open:
        not waited on for long)."""
        if self._invocation.conversation is not None:
            # On Python 3.11 `wait()` also waits for the pipes, which a child the agent left
            # may hold open; the exit itself is what ends a conversation's run.
            while self._proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only wait
                await asyncio.sleep(EXIT_POLL_S)
        else:
            await self._proc.wait()
        await asyncio.wait(self._readers, timeout=DRAIN_AFTER_EXIT_S)

    async def _watchdog(self) -> EndedBy:
        """Wait for the total timeout, or the idle one (no output for that long)."""
        deadline = self._started + self._limits.timeout_s
        while True:
            now = self._loop.time()
            if now >= deadline:
                return "timeout"
            wake = deadline
            if self._limits.idle_timeout_s > 0:
                idle_deadline = self._last_output + self._limits.idle_timeout_s
                if now >= idle_deadline:
                    return "idle_timeout"
                wake = min(wake, idle_deadline)
            await asyncio.sleep(wake - now)


def _close_transport(proc: asyncio.subprocess.Process) -> None:
    transport = getattr(proc, "_transport", None)  # asyncio offers no public close
    if transport is not None:
        transport.close()
