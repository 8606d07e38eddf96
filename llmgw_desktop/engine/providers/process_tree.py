"""Stopping a child and everything it started: the one process-tree stop of every process the
engine starts in a group of its own (a CLI's run or an ACP agent's conversation,
`process.py`; a user's MCP server, `upstream_mcp/stdio.py`).

`stop_tree` asks the group to end (SIGTERM, then SIGCONT: a stopped member acts on SIGTERM only
once it is woken), waits one deadline for the leader and every member, then kills whatever is
left (SIGKILL to the group, whether or not the leader has exited: a grandchild that ignores
SIGTERM outlives its parent), and waits for the leader's exit. On Windows `taskkill /F /T` ends
the tree at once, from its leader while it lives. The leader's exit is its return code, not
`wait()`: on 3.11 that also waits for the pipes, which a process that left the group may hold
for as long as it likes; a member that died is gone even before it is reaped
(`process_identity.group_has_live_member`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.process_identity import group_has_live_member

__all__ = ["GROUP_POLL_S", "stop_tree"]

GROUP_POLL_S = 0.02  # how often a stopping group is checked for members still alive
KILLED_WITHIN_S = 5.0  # how long killed members may take to be gone before a stop returns


async def stop_tree(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    """Terminate `proc`'s process group (it was started with `start_new_session`, so its pid is
    the group's), wait `grace_s` for all of it to end, then kill what is left (0: at once)."""
    if sys.platform == "win32":
        await _stop_tree_windows(proc, grace_s)
        return
    pgid = proc.pid
    if not _signal_group(pgid, signal.SIGTERM if grace_s > 0 else signal.SIGKILL):
        return  # the group is already gone
    if grace_s > 0:
        _signal_group(pgid, signal.SIGCONT)
    # One deadline for the whole group: the leader and any member may ignore SIGTERM.
    deadline = time.monotonic() + grace_s
    while (proc.returncode is None or _group_alive(pgid)) and time.monotonic() < deadline:  # noqa: ASYNC110 - other processes
        await asyncio.sleep(GROUP_POLL_S)
    _signal_group(pgid, signal.SIGKILL)
    # SIGKILL is acted on as each member is next scheduled: on a busy machine a member may
    # still run a moment after the signal. A stop returns when nothing of the group runs
    # (bounded: a process stuck in the kernel is beyond any signal).
    killed_by = time.monotonic() + KILLED_WITHIN_S
    while (proc.returncode is None or _group_alive(pgid)) and time.monotonic() < killed_by:  # noqa: ASYNC110 - other processes
        await asyncio.sleep(GROUP_POLL_S)
    while proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only wait
        await asyncio.sleep(GROUP_POLL_S)


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
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
    """`taskkill /T` finds a tree from its leader, so nothing may end the leader first: one
    that exited would hide the children it started (node's) from it. Console programs do not
    answer a polite `taskkill` without `/F`, so there is no grace to give (`grace_s` unused)."""
    del grace_s
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
