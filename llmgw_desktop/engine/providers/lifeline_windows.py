"""A Windows Job Object that ends every CLI (and its children) when the gateway ends.

With JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, Windows terminates every process in the job when
the last handle to it closes. The gateway holds the only handle and never closes it, so it
closes when the gateway process ends, by Quit or by a crash. Processes a CLI starts after it
joined the job join it too.

A CLI joins the job just after it is created (asyncio cannot create it suspended); a CLI that
starts a child within that instant leaves that child outside. Node-based CLIs take far
longer than that to start anything.

The module imports on every platform (ctypes structures only); `kernel32` is loaded when a
job is made, and can be given instead, so the calls are testable anywhere.
"""

from __future__ import annotations

import ctypes
from typing import Any

__all__ = [
    "JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE",
    "JobObjectExtendedLimitInformation",
    "KillOnCloseJob",
]

JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
PROCESS_SET_QUOTA = 0x0100
PROCESS_TERMINATE = 0x0001


class _IoCounters(ctypes.Structure):
    _fields_ = [
        ("ReadOperationCount", ctypes.c_uint64),
        ("WriteOperationCount", ctypes.c_uint64),
        ("OtherOperationCount", ctypes.c_uint64),
        ("ReadTransferCount", ctypes.c_uint64),
        ("WriteTransferCount", ctypes.c_uint64),
        ("OtherTransferCount", ctypes.c_uint64),
    ]


class _BasicLimitInformation(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class JobObjectExtendedLimitInformation(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION (winnt.h)."""

    _fields_ = [
        ("BasicLimitInformation", _BasicLimitInformation),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


def kill_on_close_limits() -> JobObjectExtendedLimitInformation:
    """The limits the gateway's job is given: kill every member when the job closes."""
    info = JobObjectExtendedLimitInformation()
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    return info


class KillOnCloseJob:
    """One Job Object for the life of the gateway; CLIs join it with `assign`.

    Raises:
        OSError: the job cannot be made (`__init__`) or a process cannot join it (`assign`).
    """

    def __init__(self, kernel32: Any = None) -> None:
        if kernel32 is None:
            kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        self._kernel32 = kernel32
        handle = kernel32.CreateJobObjectW(None, None)
        if not handle:
            raise _last_error("CreateJobObjectW")
        info = kill_on_close_limits()
        if not kernel32.SetInformationJobObject(
            handle,
            JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
            ctypes.byref(info),
            ctypes.sizeof(info),
        ):
            error = _last_error("SetInformationJobObject")
            kernel32.CloseHandle(handle)
            raise error
        # Kept open for the life of the process on purpose: closing it ends every CLI.
        self.handle = handle

    def assign(self, pid: int) -> None:
        """Put process `pid` (and what it starts from now on) in the job."""
        k = self._kernel32
        process = k.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, False, pid)
        if not process:
            raise _last_error(f"OpenProcess({pid})")
        try:
            if not k.AssignProcessToJobObject(self.handle, process):
                raise _last_error(f"AssignProcessToJobObject({pid})")
        finally:
            k.CloseHandle(process)


def _last_error(call: str) -> OSError:
    get_last_error = getattr(ctypes, "get_last_error", lambda: 0)
    code = get_last_error()
    return OSError(code, f"{call} failed (Windows error {code})")
