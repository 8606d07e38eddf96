"""At start-up, stop the CLI processes an earlier run of the gateway left behind.

The lifeline (`lifeline.py`) ends a dead gateway's CLIs at once; this is the second net, for
what it could not reach (its warden was killed too, a child left the process group, the
machine lacks a layer). Each job saved the process group its CLI ran in and the identity of
the group's leader (`process_identity.py`). A process is stopped only when it is provably that
run's:

- the group's leader is still alive and its identity is the one saved (a pid and its start
  time): then the group is that run's group, and every member of it is the run's; or
- (Linux) its environment carries the job's marker (`LLMGW_JOB_ID=<job id>`, inherited from
  the CLI) and it started after the saved leader, in the same boot.

A pid reused by another program has another start time, so it is never touched, nor is its
group. What matches gets SIGTERM, the grace, then SIGKILL, each time after checking again that
the pid is still the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from llmgw_desktop.engine.providers.lifeline import JOB_MARKER_ENV
from llmgw_desktop.engine.providers.process_identity import (
    ProcessInfo,
    identity_of,
    scan_processes,
    start_ticks,
)

__all__ = ["SavedGroup", "find_left_behind", "stop_left_behind"]

log = logging.getLogger(__name__)

POLL_S = 0.05


@dataclass(frozen=True)
class SavedGroup:
    """What the store kept of one unfinished job's CLI run."""

    job_id: str
    pgid: int
    identity: str


@dataclass(frozen=True)
class _Target:
    pid: int
    identity: str | None  # checked again before each signal (None: a group, macOS)
    group: bool  # signal the whole group `pid` (systems without /proc)


def find_left_behind(saved: Sequence[SavedGroup]) -> list[_Target]:
    """The processes of `saved` runs that still live and are provably theirs. Blocking."""
    if not saved:
        return []
    if sys.platform == "win32":
        return []  # the Job Object ended them with the gateway
    if not sys.platform.startswith("linux"):
        return [
            _Target(run.pgid, None, group=True)
            for run in saved
            if identity_of(run.pgid) == run.identity
        ]
    processes = scan_processes(markers=[_marker(run) for run in saved])
    by_pid = {p.pid: p for p in processes}
    me = os.getpid()
    targets: dict[int, _Target] = {}
    for run in saved:
        leader = by_pid.get(run.pgid)
        group_is_ours = leader is not None and leader.identity == run.identity
        for process in processes:
            in_group = group_is_ours and process.pgid == run.pgid
            if process.pid != me and (in_group or _marked_after(process, run)):
                targets[process.pid] = _Target(process.pid, process.identity, group=False)
    return list(targets.values())


def _marker(run: SavedGroup) -> bytes:
    return f"{JOB_MARKER_ENV}={run.job_id}".encode()


def _marked_after(process: ProcessInfo, run: SavedGroup) -> bool:
    """It carries the run's marker and started in the same boot as the run's leader, not
    before it (a process started earlier cannot descend from the run)."""
    if process.marker != _marker(run):
        return False
    saved_boot, _, _ = run.identity.rpartition(":")
    boot, _, _ = process.identity.rpartition(":")
    saved_start, start = start_ticks(run.identity), start_ticks(process.identity)
    if saved_start is None or start is None or boot != saved_boot:
        return False
    return start >= saved_start


async def stop_left_behind(saved: Sequence[SavedGroup], grace_s: float) -> int:
    """Stop what `saved` runs left running (SIGTERM, `grace_s`, SIGKILL); how many
    processes were found."""
    targets = await asyncio.to_thread(find_left_behind, saved)
    if not targets:
        log.info("no process of %d unfinished job(s) was left running", len(saved))
        return 0
    log.warning(
        "stopping %d process(es) that CLI runs of an earlier gateway left running: %s",
        len(targets),
        ", ".join(str(t.pid) for t in targets),
    )
    await asyncio.to_thread(_signal_all, targets, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not any(await asyncio.to_thread(lambda: [_still_there(t) for t in targets])):
            return len(targets)
        await asyncio.sleep(POLL_S)
    await asyncio.to_thread(_signal_all, targets, signal.SIGKILL)
    return len(targets)


def _signal_all(targets: Sequence[_Target], signum: int) -> None:
    for target in targets:
        if not _still_there(target):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if target.group:
                os.killpg(target.pid, signum)
            else:
                os.kill(target.pid, signum)


def _still_there(target: _Target) -> bool:
    """The same process (or group) is still alive: a pid freed meanwhile and given to another
    program has another identity."""
    if target.group:
        try:
            os.killpg(target.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return identity_of(target.pid) == target.identity
