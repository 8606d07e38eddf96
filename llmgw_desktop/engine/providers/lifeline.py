"""Every CLI process dies with the gateway, however the gateway ends.

A normal stop ends each run's process group itself (`process.py`). This module covers the
gateway dying without a word (kill -9, a crash, the OOM killer), one layer per platform:

- **Linux:** each CLI gets a parent-death signal (`PR_SET_PDEATHSIG`, SIGKILL), so the CLI
  itself dies the instant the gateway does. The kernel sends it when the *thread* that forked
  the CLI ends; CLIs are spawned from the event loop's thread, which lives as long as the
  gateway. The signal is not inherited by the CLI's own children, so the warden below runs
  on Linux too. util-linux's `setpriv --pdeathsig` sets it, then a one-line `sh` checks the
  gateway did not die before that and execs the CLI (`tie`). Setting it from Python in the
  forked child (`preexec_fn`, the fallback without setpriv) forces a full fork and makes the
  loop wait until the child has run Python and exec'd: about 10 ms of frozen loop per CLI,
  where the plain spawn (vfork) costs well under one.
- **Linux and macOS (POSIX):** a warden: one small `/bin/sh` process per gateway, in its own
  session, told over a pipe which process groups are live. When the gateway dies the pipe
  reaches end-of-file (the kernel closes it, whatever killed the gateway) and the warden
  sends SIGTERM to every group still listed, waits the stop grace, then SIGKILL. It needs no
  Python, so it works as well from a frozen build. A child that leaves the group (setsid) is
  out of its reach; the start-up reaper (`orphans.py`) finds those on Linux by the job marker
  in their environment.
- **Windows:** a Job Object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE (`lifeline_windows.py`):
  when the gateway's handle closes, as it does when the process ends in any way, Windows ends
  every process in the job, children included.

**A stalled gateway on a shared store** (SIGSTOP, a VM paused, a machine swapping) cannot stop
its CLIs itself, and a peer takes it for dead once its lease runs out: a call re-sent to the
peer would then run a second time while the first CLI goes on. So the lease tells the lifeline
after each renewal until when no peer can take this process for dead (`keep_until`), and the
warden is told to stop the CLI runs of jobs (`lease` groups) before then unless it hears again:
the timer starts SIGTERM at `STALL_SLACK` of the lease plus the grace before the lease can run
out, and SIGKILL comes a grace later, a quarter of the lease early. Renewals come every third
of the lease, so a renewing gateway re-arms at least a sixth of the lease before its timer
fires. While the store cannot be reached there is no deadline (peers cannot reap then, and wait
a lease after they reach it again); the next renewal arms it again. Upstream MCP servers are
`watch`ed only: they do no work for a job. Not on Windows
(no warden); not on a store of this process alone (nobody reaps it).

Why no child subreaper (PR_SET_CHILD_SUBREAPER): it keeps orphaned grandchildren attached to
the gateway only while the gateway lives, which is when the process-group kill already
reaches them; at a crash they go to init all the same. And the gateway would have to reap
adopted zombies with `waitpid(-1)`, which would steal exit codes from asyncio's own watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.process_identity import identity_of

__all__ = ["JOB_MARKER_ENV", "Lifeline"]

log = logging.getLogger(__name__)

# Set in every CLI run's environment to the job id: children inherit it, so the reaper can
# tell a crashed run's processes even after they left its process group.
JOB_MARKER_ENV = "LLMGW_JOB_ID"
PR_SET_PDEATHSIG = 1
WARDEN_EXIT_WAIT_S = 1.0
# The share of the lease by which a stalled gateway's CLIs are dead before any peer may take it
# for dead: room for the warden's own delay, a loaded machine and the store's statement time.
STALL_SLACK = 0.25
# Where setpriv is looked for: system dirs only, so a user's PATH cannot stand in for it.
SETPRIV_DIRS = ("/usr/bin", "/bin")
# Runs between setpriv and the CLI, with the gateway's pid as $1: if the gateway died before
# setpriv set the signal, the parent is already someone else and no signal will ever come.
# $2 is `=` and the PWD the CLI is given, or empty for none: the shell would otherwise set or
# correct PWD, and the CLI gets exactly the environment a direct spawn would give it.
TIE_SCRIPT = (
    '[ "$PPID" = "$1" ] || kill -s KILL $$; '
    'if [ -n "$2" ]; then PWD=${2#=}; else unset PWD; fi; shift 2; exec "$@"'
)

# The warden. Its argument is the grace in seconds; its stdin carries lines:
#   watch <pgid>            hold the group until `forget`, kill it if the gateway dies
#   lease <pgid>            the same, and the group lives only while the lease is held (a CLI
#                           run of a job: `arm` below)
#   forget <pgid>           the group ended
#   arm <seconds> <grace>   the gateway's lease holds for these seconds more: past them with no
#                           new `arm`, the leased groups get SIGTERM, then SIGKILL after <grace>
#   disarm                  no deadline until the next `arm` (the store is unreachable)
# Each `arm` replaces the timer (a subshell, stopped with USR1 together with its sleep) with
# one for the groups leased now. Signals that would end the warden with the gateway's terminal
# are ignored: only end-of-file on stdin, the gateway gone, or the timer makes it kill.
WARDEN_SCRIPT = r"""
trap '' INT TERM HUP QUIT
grace=$1
groups=
leased=
timer=
disarm() {
  [ -n "$timer" ] && kill -s USR1 "$timer" 2>/dev/null
  timer=
}
without() {
  kept=
  for g in $2; do [ "$g" = "$1" ] || kept="$kept $g"; done
  echo "$kept"
}
while read -r verb group wait; do
  case $verb in
    watch) groups="$groups $group" ;;
    lease) groups="$groups $group"; leased="$leased $group" ;;
    forget) groups=$(without "$group" "$groups"); leased=$(without "$group" "$leased") ;;
    disarm) disarm ;;
    arm)
      disarm
      if [ -n "$leased" ]; then
        (
          trap 'kill -s KILL "$nap" 2>/dev/null; exit 0' USR1
          sleep "$group" &
          nap=$!
          wait "$nap"
          for g in $leased; do kill -s TERM -- "-$g" 2>/dev/null; done
          sleep "$wait"
          for g in $leased; do kill -s KILL -- "-$g" 2>/dev/null; done
        ) &
        timer=$!
      fi ;;
  esac
done
disarm
[ -z "$groups" ] && exit 0
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
sleep "$grace"
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
"""


class Lifeline:
    """Ties each CLI process group to this gateway's life; one per engine."""

    def __init__(self, *, stop_grace_s: float, use_warden: bool = os.name == "posix") -> None:
        self.stop_grace_s = stop_grace_s
        # Set when the gateway stops: runs still going are killed after the short stop grace
        # instead of their normal one.
        self.stopping = False
        self._use_warden = use_warden
        self._warden: asyncio.subprocess.Process | None = None
        self._warden_lock = asyncio.Lock()
        self._held: set[int] = set()
        self._leased: set[int] = set()
        # When the warden starts stopping leased groups (monotonic), None while not armed;
        # and the last such time that passed with groups leased (their runs were stopped).
        self._stop_at: float | None = None
        self._stall_grace_s = stop_grace_s
        self._lapsed_at: float | None = None
        self._armed = False
        self._job: Any = None  # the Windows Job Object, made at the first CLI
        self._job_failed = False
        self._setpriv: str | None = None  # its path, "" when unusable, None before the probe

    async def tie(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The argv to spawn and extra `create_subprocess_exec` arguments that tie the child
        to us at birth.

        Raises:
            FileNotFoundError: the executable does not exist (as spawning it would).
            PermissionError: it exists but cannot be executed.
        """
        if not sys.platform.startswith("linux"):
            return tuple(argv), {}
        if self._setpriv is None:
            # Once per engine, off the loop: an old setpriv (util-linux < 2.33) lacks the flag.
            self._setpriv = await asyncio.to_thread(_working_setpriv) or ""
        if not self._setpriv:
            return tuple(argv), self.spawn_options()
        _check_executable(argv[0], env, cwd)
        return tied_argv(self._setpriv, os.getpid(), argv, env.get("PWD")), {}

    def spawn_options(self) -> dict[str, Any]:
        """The fallback tie without setpriv: arguments that set the signal in the child."""
        if sys.platform.startswith("linux") and _prctl() is not None:
            return {"preexec_fn": _die_with_parent(os.getpid())}
        return {}

    def kill_grace(self, normal_s: float) -> float:
        """How long a run's group gets between SIGTERM and SIGKILL now."""
        return min(normal_s, self.stop_grace_s) if self.stopping else normal_s

    async def hold(self, pid: int, *, leased: bool = False) -> str | None:
        """Watch the process group led by `pid` (just spawned) until `release`; returns the
        leader's identity to save (None where the platform gives none). A `leased` group (a
        job's CLI) is also stopped when this process's lease is about to run out unrenewed
        (`keep_until`)."""
        if sys.platform == "win32":
            self._join_job(pid)
            return None
        if sys.platform.startswith("linux"):
            identity = identity_of(pid)  # one small /proc read: cheaper than a thread hop
        else:
            identity = await asyncio.to_thread(identity_of, pid)  # runs `ps`
        self._held.add(pid)
        if leased:
            self._leased.add(pid)
        if self._use_warden:
            await self._tell_warden(f"{'lease' if leased else 'watch'} {pid}\n" + self._arm())
        return identity

    async def release(self, pid: int) -> None:
        """The group led by `pid` is gone (the run stopped it); stop watching it."""
        if pid not in self._held:
            return
        self._note_lapse()
        self._held.discard(pid)
        self._leased.discard(pid)
        if self._use_warden:
            await self._tell_warden(f"forget {pid}\n" + self._arm())

    async def keep_until(self, held_until: float | None, lease_s: float) -> None:
        """No peer can take this process for dead before `held_until` (monotonic): have the
        warden stop the leased groups in time unless told again. None: no deadline until the
        next one (the store is unreachable, for the peers too)."""
        self._note_lapse()
        self._stall_grace_s = min(self.stop_grace_s, lease_s * STALL_SLACK)
        self._stop_at = (
            None if held_until is None else held_until - lease_s * STALL_SLACK - self._stall_grace_s
        )
        if held_until is not None:
            self._armed = True
        if self._use_warden and self._leased:
            await self._tell_warden(self._arm())

    def lapsed_since(self, started: float) -> bool:
        """Whether the warden may have stopped leased groups (the lease was about to run out
        unrenewed) since `started` (monotonic): a run that ended then was stopped for it."""
        self._note_lapse()
        return self._lapsed_at is not None and self._lapsed_at >= started

    def _note_lapse(self) -> None:
        stop_at = self._stop_at
        if stop_at is not None and self._leased and time.monotonic() >= stop_at:
            self._lapsed_at = stop_at

    def _arm(self) -> str:
        """The `arm` line for the warden now ("" before any lease was held)."""
        if self._stop_at is None:
            return "disarm\n" if self._armed else ""
        wait = max(0.0, self._stop_at - time.monotonic())
        return f"arm {wait:.3f} {self._stall_grace_s:.3f}\n"

    async def close(self) -> None:
        """Let the warden go (every run has ended, so it has nothing to do)."""
        warden, self._warden = self._warden, None
        if warden is None:
            return
        assert warden.stdin is not None
        warden.stdin.close()
        try:
            await asyncio.wait_for(warden.wait(), WARDEN_EXIT_WAIT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                warden.kill()
            await warden.wait()

    @property
    def warden_pid(self) -> int | None:
        """The warden's process id while it runs (for tests and diagnostics)."""
        warden = self._warden
        return None if warden is None or warden.returncode is not None else warden.pid

    async def _tell_warden(self, line: str) -> None:
        async with self._warden_lock:
            warden = self._warden
            if warden is not None and warden.returncode is None and warden.stdin is not None:
                try:
                    warden.stdin.write(line.encode("ascii"))
                    await warden.stdin.drain()
                    return
                except (ConnectionError, RuntimeError) as exc:
                    log.warning("the process warden stopped listening (%s); starting another", exc)
            if warden is not None and warden.stdin is not None:
                warden.stdin.close()  # the old one is gone: let go of its pipe
            # A fresh warden is told every group held, this line's change included.
            await self._start_warden()

    async def _start_warden(self) -> None:
        try:
            warden = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                WARDEN_SCRIPT,
                "llmgw-warden",
                f"{self.stop_grace_s:.3f}",
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=child_environment(),
                # Its own session: a signal to the gateway's terminal or group must not end it.
                start_new_session=True,
            )
        except OSError as exc:
            self._warden = None
            log.warning("cannot start the process warden (%s): CLIs may outlive a crash", exc)
            return
        assert warden.stdin is not None
        held = "".join(
            f"{'lease' if pid in self._leased else 'watch'} {pid}\n" for pid in sorted(self._held)
        )
        warden.stdin.write((held + self._arm()).encode("ascii"))
        self._warden = warden
        log.info("process warden %d watches the CLIs' process groups", warden.pid)

    def _join_job(self, pid: int) -> None:
        if self._job_failed:
            return
        try:
            if self._job is None:
                from llmgw_desktop.engine.providers.lifeline_windows import KillOnCloseJob

                self._job = KillOnCloseJob()
            self._job.assign(pid)
        except OSError as exc:
            # Said once: the CLIs still run, and a normal stop still ends them.
            self._job_failed = True
            log.warning(
                "cannot tie CLIs to the gateway with a Job Object (%s): they may outlive a crash",
                exc,
            )


def tied_argv(
    setpriv: str, parent: int, argv: Sequence[str], pwd: str | None = None
) -> tuple[str, ...]:
    """`argv` run under a parent-death SIGKILL tied to process `parent` (see `TIE_SCRIPT`),
    with `pwd` as its PWD variable (None: without one)."""
    tie = (setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", TIE_SCRIPT, "llmgw-tie")
    return (*tie, str(parent), "" if pwd is None else f"={pwd}", *argv)


def _working_setpriv() -> str | None:
    """setpriv's path if it can set a parent-death signal here, else None."""
    setpriv = shutil.which("setpriv", path=os.pathsep.join(SETPRIV_DIRS))
    if setpriv is None:
        return None
    try:
        probe = subprocess.run(
            [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", "exit 0"],
            env=child_environment(),
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return setpriv if probe.returncode == 0 else None


def _check_executable(program: str, env: Mapping[str, str], cwd: Path) -> None:
    """Raise what spawning `program` directly would, since the tie's `sh` only exits 127."""
    if not cwd.is_dir():
        return  # the spawn itself reports the missing directory, as it always has
    if "/" in program:
        candidates = [cwd / program]  # a relative path is relative to the run's directory
    else:
        candidates = [Path(d) / program for d in os.get_exec_path(dict(env))]
    if any(c.is_file() and os.access(c, os.X_OK) for c in candidates):
        return
    if any(c.exists() for c in candidates):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent (a forked child should do as little as it can)."""
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(parent: int) -> Callable[[], None]:
    prctl = _prctl()
    assert prctl is not None

    def in_child() -> None:  # runs in the forked child, before exec
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The gateway may have died between fork and prctl: then nothing would signal us.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return in_child
