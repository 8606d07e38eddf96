"""Whether this machine's kernel offers the sandbox an agent confines itself with.

Grok's `--sandbox strict` is Landlock on Linux (from kernel 5.13) and Seatbelt on macOS; where
Landlock is missing or turned off, grok logs a warning (silenced headless) and runs with no
sandbox at all. A confined run that relies on it is refused there rather than run so.
"""

from __future__ import annotations

import ctypes
import functools
import platform
import sys

__all__ = ["kernel_sandbox_missing"]

_LANDLOCK_CREATE_RULESET = {"x86_64": 444, "aarch64": 444}
_LANDLOCK_CREATE_RULESET_VERSION = 1


@functools.cache
def kernel_sandbox_missing() -> str | None:
    """Why the kernel sandbox is not there, or None where it is (asked once a process)."""
    if sys.platform == "darwin":
        return None  # Seatbelt is always there
    if not sys.platform.startswith("linux"):
        return f"its kernel sandbox is known only on Linux and macOS, not {sys.platform}"
    number = _LANDLOCK_CREATE_RULESET.get(platform.machine())
    if number is None:
        return f"the gateway cannot ask this kernel ({platform.machine()}) for Landlock"
    libc = ctypes.CDLL(None, use_errno=True)
    # The ABI version, or -1 (ENOSYS: no Landlock; EOPNOTSUPP: built in but turned off).
    version = libc.syscall(number, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    if version < 1:
        return (
            "this Linux kernel has no Landlock (5.13 or later, enabled at boot), so its "
            "sandbox would not apply"
        )
    return None
