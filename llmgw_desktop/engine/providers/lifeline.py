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

**A gateway that cannot prove its lease on a shared store** (it is cut off from the store while
its peers are not, or stalled: SIGSTOP, a VM paused) is taken for dead by a peer once its lease
runs out: a call re-sent to the peer would then run a second time while the first CLI goes on.
It cannot tell a partition from an outage for all, nor can a frozen gateway act at all. So the
lease tells the lifeline after each renewal that lands until when no peer can take this process
for dead (`keep_until`), and the warden pauses the CLI runs of jobs (`lease` groups, SIGSTOP to
the whole group) `STALL_SLACK` of the lease before then unless it hears again. A pause, not a
kill: a paused CLI does nothing, and what happens next is decided by the next renewal that
lands. If the lease still holds (an outage for all: no peer could reap), the groups go on
(SIGCONT) and the jobs complete; if a peer took this process for dead, every leased group is
killed at once (SIGKILL, `keep_until(..., lost=True)`), before anything could resume it, and the
runs end `lease_lapsed`. Renewals come every third of the lease, so a renewing gateway re-arms
at least five twelfths of the lease before its timer fires. Upstream MCP servers are `watch`ed
only: they do no work for a job. Not on Windows (no warden); not on a store of this process
alone (nobody reaps it).

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
# The share of the lease by which an unrenewed gateway's CLIs are paused before any peer may take
# it for dead: room for the warden's own delay, a loaded machine and the store's statement time.
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
#   watch <pgid>     hold the group until `forget`, kill it if the gateway dies
#   lease <pgid>     the same, and the group runs only while the lease is proved (a CLI run of
#                    a job: `arm` below)
#   forget <pgid>    the group ended
#   arm <seconds>    the gateway's lease is proved for these seconds more: the leased groups
#                    go on (SIGCONT: they may have been paused), and past them with no new
#                    `arm` they are paused (SIGSTOP)
#   pause            the lease is not proved now: pause the leased groups at once
# Each `arm` replaces the timer (a subshell, stopped with USR1 together with its sleep, and
# waited for, so a pause it was making cannot come after the SIGCONT) with one for the groups
# leased now. Signals that would end the warden with the gateway's terminal are ignored: only
# end-of-file on stdin, the gateway gone, makes it kill (a paused group dies at the SIGKILL).
WARDEN_SCRIPT = r"""
trap '' INT TERM HUP QUIT
grace=$1
groups=
leased=
timer=
disarm() {
  if [ -n "$timer" ]; then
    kill -s USR1 "$timer" 2>/dev/null
    wait "$timer" 2>/dev/null
  fi
  timer=
}
signal_leased() {
  for g in $leased; do kill -s "$1" -- "-$g" 2>/dev/null; done
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
    pause) disarm; signal_leased STOP ;;
    arm)
      disarm
      signal_leased CONT
      if [ -n "$leased" ]; then
        (
          trap 'kill -s KILL "$nap" 2>/dev/null; exit 0' USR1
          sleep "$group" &
          nap=$!
          wait "$nap"
          signal_leased STOP
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
        # When the warden pauses the leased groups (monotonic), None before any lease.
        self._stop_at: float | None = None
        # Leased groups killed because peers had taken this process for dead.
        self._killed: set[int] = set()
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
        """How long a run's group gets between SIGTERM and SIGKILL now: none while the leased
        groups may be paused (a paused process keeps SIGTERM pending, and must not run on)."""
        if self.paused():
            return 0.0
        return min(normal_s, self.stop_grace_s) if self.stopping else normal_s

    def paused(self) -> bool:
        """Whether the warden has paused the leased groups (the lease is not proved now)."""
        return self._stop_at is not None and time.monotonic() >= self._stop_at

    async def hold(self, pid: int, *, leased: bool = False) -> str | None:
        """Watch the process group led by `pid` (just spawned) until `release`; returns the
        leader's identity to save (None where the platform gives none). A `leased` group (a
        job's CLI) is also paused while this process cannot prove its lease (`keep_until`): at
        once if it cannot now."""
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
        self._held.discard(pid)
        self._leased.discard(pid)
        self._killed.discard(pid)
        if self._use_warden:
            await self._tell_warden(f"forget {pid}\n" + self._arm())

    async def keep_until(self, held_until: float, lease_s: float, *, lost: bool = False) -> None:
        """No peer can take this process for dead before `held_until` (monotonic): have the
        warden pause the leased groups in time unless told again (and let them go on if they
        were paused and that time is still ahead). `lost`: peers took this process for dead
        before this renewal, so every leased group now is of the lost tenure: killed at once."""
        if lost:
            self._kill_leased()
        self._stop_at = held_until - lease_s * STALL_SLACK
        if self._use_warden and self._leased:
            await self._tell_warden(self._arm())

    def stopped_for_lease(self, pid: int) -> bool:
        """Whether the group led by `pid` was killed because peers took this process for dead
        (its run ends `lease_lapsed`)."""
        return pid in self._killed

    def _kill_leased(self) -> None:
        if sys.platform == "win32":  # no groups to signal: the job manager cancels the runs
            return
        for pid in self._leased:
            self._killed.add(pid)
            # SIGKILL reaches a paused process too; nothing of the lost tenure runs on.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self._leased:
            log.warning(
                "killed %d CLI process group(s) of jobs a peer ended while this gateway could "
                "not prove its lease",
                len(self._leased),
            )

    def _arm(self) -> str:
        """The warden's line for the lease now: `arm` while it is proved, `pause` once it is
        not ("" before any lease was held)."""
        if self._stop_at is None:
            return ""
        wait = self._stop_at - time.monotonic()
        return f"arm {wait:.3f}\n" if wait > 0 else "pause\n"

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
