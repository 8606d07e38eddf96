"""Where the app keeps its files: the platform's config, data and log directories."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "PATH_ENV_VARS",
    "bare_data_dir",
    "bare_pointer_dir",
    "config_file",
    "default_cache_dir",
    "default_data_dir",
    "default_log_dir",
    "ensure_private_dir",
    "ensure_private_file",
    "free_name",
    "room_problem",
    "set_aside",
    "try_lock",
    "unlock",
    "write_private_atomically",
    "write_problem",
]

APP_NAME = "llmgw-desktop"
# Read before the settings exist (they say where the settings file is), so not settings.
CONFIG_ENV = "LLM_GATEWAY_CONFIG"
PATH_ENV_VARS = (CONFIG_ENV,)


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The `config.toml` to read: `LLM_GATEWAY_CONFIG` if set, else the platform config dir."""
    environ = os.environ if environ is None else environ
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def bare_data_dir() -> Path:
    """The data directory of a process started with a bare environment: no `XDG_*` variables
    (an editor that passes its MCP servers only HOME, PATH, PWD, SHELL and TERM). Only Linux
    reads XDG variables; elsewhere it is the usual one."""
    if sys.platform.startswith("linux"):
        return Path.home() / ".local" / "share" / APP_NAME
    return default_data_dir()


def bare_pointer_dir(data_dir: Path) -> Path | None:
    """Where an instance keeping its files in `data_dir` leaves a pointer for launches with a
    bare environment: the bare data directory, when `data_dir` is the default one moved there
    by XDG variables; None when it is the bare one already, or was chosen explicitly
    (`LLM_GATEWAY_DATA_DIR`, config: a launch without that choice is another setup)."""
    bare = bare_data_dir()
    if data_dir != default_data_dir() or data_dir == bare:
        return None
    return bare


def default_cache_dir() -> Path:
    """Files the app can rebuild whenever they are lost (compiled code, `shell/code_cache.py`)."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable only by this user; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def ensure_private_file(path: Path) -> Path:
    """Make `path` exist (its folder made private if missing) readable and writable by this
    user only, and narrow it to that if it already exists wider; return it. SQLite makes a
    database's `-wal` and `-shm` files with the database file's own mode."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if os.name == "posix":
        path.chmod(0o600)
    return path


def write_problem(path: Path) -> str | None:
    """Why this process cannot keep files in the directory `path` (made if missing), or None.

    It tries what the app will do there, create a file, rather than read mode bits: ACLs, a
    read-only mount or another owner all say no the same way, and the answer holds for root.
    """
    try:
        ensure_private_dir(path)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check-")
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


# Less free room than this where the gateway keeps its files, and it does not start: its lock,
# its address, the database's first writes and the recorder's spill reserve need it.
MIN_FREE_BYTES = 1 << 20


def room_problem(path: Path) -> str | None:
    """Why the disk holding `path` (a directory that exists) has too little room for the
    gateway to start, or None. A full disk let it create the probe file above, then failed
    its first real write with a traceback (red team, 2026-11-29)."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return None  # cannot tell: the start finds out
    if free >= MIN_FREE_BYTES:
        return None
    return f"its disk is full: {free:,} bytes free"


def write_private_atomically(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` (UTF-8 where it is a str; 0600, its folder made private if
    missing) whole and durably: written beside it, flushed to the disk, renamed over it, and
    the rename flushed too (POSIX), so a crash or a power cut leaves the old file or the new
    one, never a part of either.

    Raises:
        OSError: the file cannot be written (nothing is left beside it).
    """
    ensure_private_dir(path.parent)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
            out.flush()
            os.fsync(out.fileno())
        if os.name == "posix":
            temporary.chmod(0o600)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to the disk; POSIX only (Windows has no
    handle to a folder that can be flushed, and its renames are journaled)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_name(path: Path) -> Path:
    """`path`, or `path.2`, `path.3` ...: the first that does not exist."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def set_aside(path: Path, suffix: str = ".damaged") -> Path:
    """Keep `path` for a person to look at under a name nothing reads (`<name><suffix>`, or
    the first free one after it: `free_name`); where it went.

    Raises:
        OSError: it cannot be renamed.
    """
    target = free_name(path.with_name(path.name + suffix))
    path.rename(target)
    return target


if sys.platform == "win32":
    import msvcrt

    def try_lock(fd: int) -> bool:
        """Take the lock of the open file `fd` without waiting (its first byte, from where the
        file's position is); False when another process holds it. The system releases it when
        the holder closes the file or dies."""
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release the lock `try_lock` took (the file's position back where it was then)."""
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Take the lock of the open file `fd` without waiting; False when another process
        holds it. The system releases it when the holder closes the file or dies."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release the lock `try_lock` took."""
        fcntl.flock(fd, fcntl.LOCK_UN)
