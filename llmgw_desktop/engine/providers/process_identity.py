"""Who a process is, beyond its pid: pids are reused, a pid and its start time are not.

The gateway saves each CLI run's process group id with the identity of its leader, so that
after a crash the next start stops only processes that are provably that run's (see
`orphans.py`). An identity is an opaque string:

- Linux: `linux:<boot id>:<start time in clock ticks since boot>` (`/proc/<pid>/stat` field
  22); the boot id keeps a start time from before a reboot from matching one after it.
- macOS and other POSIX systems: `ps:<start time as ps prints it>` (to the second).
- Windows: none; there a Job Object ends every CLI with the gateway (`lifeline.py`).

Whether a pid's process has ended (`process_gone`: gone, or a zombie) is read here too, for the
quit command's wait and for the leases an earlier run of the gateway left.

On Linux the module can also list every process with its group, start time and whether its
environment carries a given marker (the gateway tags each CLI run's environment with its job
id; children inherit it even when they leave the process group).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.engine.providers.child_env import child_environment

__all__ = [
    "ProcessInfo",
    "group_has_live_member",
    "identity_of",
    "process_gone",
    "scan_processes",
    "start_ticks",
]

PROC = Path("/proc")
BOOT_ID = PROC / "sys" / "kernel" / "random" / "boot_id"
PS_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ProcessInfo:
    """One live process as the scan saw it (Linux)."""

    pid: int
    pgid: int
    identity: str
    marker: bytes | None  # which of the markers the scan looked for its environment holds


def process_gone(pid: int) -> bool:
    """Whether process `pid` has ended: gone, or (Linux) dead and only waiting for its parent
    to collect it (a zombie runs nothing and holds no file)."""
    if sys.platform == "win32":
        return _windows_process_gone(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's: there, so not gone
        return False
    if not PROC.is_dir():
        return False  # no /proc (macOS): it answered the signal, so it runs
    stat = _stat(pid)
    return stat is None or stat.zombie  # gone meanwhile, or dead and waiting to be collected


def _windows_process_gone(pid: int) -> bool:
    """Whether process `pid` has ended (Windows: its handle is signalled, or it is gone)."""
    import ctypes

    synchronize, wait_object_0 = 0x00100000, 0
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return True
    try:
        return bool(kernel32.WaitForSingleObject(handle, 0) == wait_object_0)
    finally:
        kernel32.CloseHandle(handle)


def identity_of(pid: int) -> str | None:
    """The identity of live process `pid`, or None (no such process, a zombie, or no way to
    tell on this system). Blocking, briefly: `ps` on systems without /proc."""
    if sys.platform.startswith("linux"):
        stat = _stat(pid)
        boot = _boot_id()
        if stat is None or boot is None or stat.zombie:
            return None
        return f"linux:{boot}:{stat.start}"
    if sys.platform == "win32":
        return None
    return _ps_identity(pid)


def start_ticks(identity: str) -> int | None:
    """The start time inside a Linux identity (for "started after" comparisons), else None."""
    kind, _, rest = identity.partition(":")
    if kind != "linux":
        return None
    _, _, ticks = rest.rpartition(":")
    return int(ticks) if ticks.isdigit() else None


def scan_processes(markers: Collection[bytes] = ()) -> list[ProcessInfo]:
    """Every live process this user can see (Linux; empty elsewhere), with which of `markers`
    (whole `NAME=value` entries) its environment holds, if any."""
    boot = _boot_id()
    if not sys.platform.startswith("linux") or boot is None:
        return []
    wanted = set(markers)
    found: list[ProcessInfo] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat.zombie:
            continue
        held = wanted & _environment(pid) if wanted else set()
        marker = min(held) if held else None
        found.append(ProcessInfo(pid, stat.pgid, f"linux:{boot}:{stat.start}", marker))
    return found


def group_has_live_member(pgid: int) -> bool:
    """Whether process group `pgid` holds a process that is not a zombie (Linux; True where
    this cannot be told). A group whose dead members wait to be reaped counts as gone: where
    init does not reap promptly (a container without an init), `killpg(pgid, 0)` would say
    the group lives until it does."""
    if not sys.platform.startswith("linux"):
        return True
    leader = _stat(pgid)
    if leader is not None and not leader.zombie:
        return True
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat.pgid == pgid and not stat.zombie:
                return True
    return False


@dataclass(frozen=True)
class _Stat:
    pgid: int
    start: int
    zombie: bool


def _stat(pid: int) -> _Stat | None:
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        # fields[0] is field 3 (state); process group is field 5, start time field 22.
        return _Stat(pgid=int(fields[2]), start=int(fields[19]), zombie=fields[0] in (b"Z", b"X"))
    except (IndexError, ValueError):
        return None


def _environment(pid: int) -> set[bytes]:
    with contextlib.suppress(OSError):
        return set((PROC / str(pid) / "environ").read_bytes().split(b"\0"))
    return set()  # another user's process, or it just ended


def _boot_id() -> str | None:
    with contextlib.suppress(OSError):
        return BOOT_ID.read_text(encoding="ascii").strip()
    return None


def _ps_identity(pid: int) -> str | None:
    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            timeout=PS_TIMEOUT_S,
            check=False,
            env={**child_environment(), "LC_ALL": "C", "TZ": "UTC"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    started = done.stdout.decode("ascii", errors="replace").strip()
    return f"ps:{started}" if done.returncode == 0 and started else None
