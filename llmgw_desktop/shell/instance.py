"""One running instance per data directory, and the hand-off when the user launches a second.

The first instance holds an OS file lock (released by the OS even if the process dies, so there
is never a stale lock to clean up) and publishes where it listens, with a random token, in a
file only this user can read. A second launch finds the lock taken, reads that file, and asks
the running instance over loopback HTTP to bring its window forward, then exits. An installer
(upgrade or uninstall) asks it to quit the same way (`llmgw-desktop quit`) and waits until the
lock is free, so no file of the old version is in use when it is replaced.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from llmgw_desktop.config.paths import try_lock, unlock
from llmgw_desktop.engine.api import INSTANCE_TOKEN_HEADER, process_gone

log = logging.getLogger(__name__)

__all__ = [
    "UNPUBLISHED",
    "HandoffResult",
    "InstanceLock",
    "QuitResult",
    "ask_running_instance_to_quit",
    "hand_off_to_running_instance",
    "lock_is_held",
    "running_elsewhere",
]

LOCK_FILE = "instance.lock"
# Why a relay (stdio MCP, ACP) cannot reach the instance that holds the lock.
UNPUBLISHED = (
    "another instance holds the data directory but publishes no address; stop it and try again"
)
INFO_FILE = "instance.json"
# Left in the bare environment's data directory (`paths.bare_data_dir`) by an instance whose
# own is elsewhere (XDG_* or LLM_GATEWAY_DATA_DIR set), so a launch that lacks those variables
# finds it instead of starting a second gateway with its own store. It names the directory
# only; the token stays in that directory's 0600 `instance.json`.
ELSEWHERE_FILE = "running-elsewhere.json"
# Stopping interrupts running jobs and kills their CLIs (their grace periods are seconds).
QUIT_WAIT_S = 30.0
# How long the running instance has to answer a hand-off or a quit. It answers from its event
# loop, which a desktop start keeps busy while it builds and paints the window: 2 s was too
# short on a loaded machine (a quit just after the start was told the instance did not answer).
INSTANCE_ANSWER_TIMEOUT_S = 10.0
LOCK_POLL_S = 0.1


class InstanceLock:
    """The exclusive lock that makes this process the one running instance for a data dir."""

    def __init__(self, data_dir: Path, *, bare_dir: Path | None = None) -> None:
        """`bare_dir`: the bare environment's data directory, where a pointer to this one is
        left while it runs elsewhere (None: none is left)."""
        self.data_dir = data_dir
        self._pointer = (
            bare_dir / ELSEWHERE_FILE
            if bare_dir is not None and _resolved(bare_dir) != _resolved(data_dir)
            else None
        )
        self.lock_path = data_dir / LOCK_FILE
        self.info_path = data_dir / INFO_FILE
        self._token: str | None = None
        self._handle: IO[bytes] | None = None

    @property
    def token(self) -> str:
        """The secret this instance's own commands prove themselves with (published beside
        its address), minted when first asked: the stdio relay, which makes a lock only to
        try it, never asks, nor imports `secrets` for it."""
        if self._token is None:
            import secrets

            self._token = secrets.token_urlsafe(32)
        return self._token

    @token.setter
    def token(self, value: str) -> None:
        self._token = value

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+b")
        if not _try_lock(handle):
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._handle = handle
        return True

    def publish(self, base_url: str, mode: str) -> None:
        """Tell later launches where this instance listens and the token that proves the user.

        Raises:
            OSError: the address cannot be written (a full disk); nothing is left beside it.
        """
        info = {"pid": os.getpid(), "url": base_url, "token": self.token, "mode": mode}
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".instance-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(info, out)
            Path(tmp).chmod(0o600)
            Path(tmp).replace(self.info_path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)  # a full disk: nothing left beside the lock
            raise
        if self._pointer is not None:
            try:
                self._pointer.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                pointer = {"data_dir": str(_resolved(self.data_dir)), "pid": os.getpid()}
                self._pointer.write_text(json.dumps(pointer), encoding="utf-8")
                self._pointer.chmod(0o600)
            except OSError as exc:  # only a convenience for launches that lack our variables
                log.warning("could not leave a pointer at %s: %s", self._pointer, exc)

    def release(self) -> None:
        """Withdraw the published address and drop the lock."""
        if self._handle is None:
            return
        self.info_path.unlink(missing_ok=True)
        if self._pointer is not None and running_elsewhere(self._pointer.parent) == _resolved(
            self.data_dir
        ):
            self._pointer.unlink(missing_ok=True)
        _unlock(self._handle)
        self._handle.close()
        self._handle = None


def published(data_dir: Path, wait_s: float = 0.0) -> tuple[str, str] | None:
    """The base URL and instance token the instance holding `data_dir` published (its
    `instance.json`), waiting up to `wait_s` for one still starting to publish them; None when
    there are none. Blocking."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            info = json.loads((data_dir / INFO_FILE).read_text(encoding="utf-8"))
            return str(info["url"]), str(info["token"])
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)


@dataclass(frozen=True)
class HandoffResult:
    """What the running instance answered, or why it could not be reached."""

    ok: bool
    message: str
    pid: int | None = None
    url: str | None = None


def hand_off_to_running_instance(data_dir: Path, wait_seconds: float = 5.0) -> HandoffResult:
    """Ask the instance holding the lock to come forward. Blocking; call before the loop starts.

    Waits up to `wait_seconds` for an instance that is still starting to publish its address.
    """
    info_path = data_dir / INFO_FILE
    deadline = time.monotonic() + wait_seconds
    last_problem = "it has not published its address yet"
    info: dict[str, Any] = {}
    while True:
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            answer = _post(info, "/instance/activate")
            mode = answer.get("mode", "desktop")
            what = "brought its window forward" if mode == "desktop" else "is running headless"
            return HandoffResult(
                True,
                f"llmgw-desktop is already running (pid {info['pid']}, {info['url']}) and {what}.",
                info["pid"],
                info["url"],
            )
        except (OSError, ValueError, KeyError) as exc:
            last_problem = str(getattr(exc, "reason", exc))
        if time.monotonic() >= deadline:
            pid = info.get("pid") or _read_pid(data_dir / LOCK_FILE)
            return HandoffResult(
                False,
                f"another llmgw-desktop (pid {pid}) holds {data_dir / LOCK_FILE} but did not "
                f"answer ({last_problem}). If it is stuck, stop it and start again.",
                pid,
            )
        time.sleep(0.1)


@dataclass(frozen=True)
class QuitResult:
    """Whether no instance runs any more, and what to tell the person."""

    stopped: bool
    message: str


def running_elsewhere(data_dir: Path) -> Path | None:
    """The data directory an instance running with other XDG variables named in `data_dir`'s
    pointer (`ELSEWHERE_FILE`), or None when there is none."""
    try:
        named = json.loads((data_dir / ELSEWHERE_FILE).read_text(encoding="utf-8"))["data_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Path(str(named))


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except OSError:
        return path


def lock_is_held(data_dir: Path) -> bool:
    """True while a process holds the instance lock of `data_dir`."""
    try:
        handle = (data_dir / LOCK_FILE).open("r+b")
    except FileNotFoundError:
        return False
    with handle:
        if not _try_lock(handle):
            return True
        _unlock(handle)
        return False


def ask_running_instance_to_quit(data_dir: Path, wait_seconds: float = QUIT_WAIT_S) -> QuitResult:
    """Ask the instance holding the lock to shut down, and wait (bounded) until it has.

    Blocking. The instance proves nothing here; the caller proves it is the same user with
    the token from the 0600 instance.json, as a second launch does.
    """
    if not lock_is_held(data_dir):
        return QuitResult(True, "llmgw-desktop is not running.")
    try:
        info = json.loads((data_dir / INFO_FILE).read_text(encoding="utf-8"))
        answer = _post(info, "/instance/quit")
    except (OSError, ValueError, KeyError) as exc:
        pid = _read_pid(data_dir / LOCK_FILE)
        return QuitResult(
            False,
            f"llmgw-desktop (pid {pid}) is running but did not take the request to quit "
            f"({getattr(exc, 'reason', exc)}); quit it from its tray menu.",
        )
    if not answer.get("quitting"):
        return QuitResult(
            False,
            f"the running llmgw-desktop (pid {info.get('pid')}, {answer.get('mode')} mode) "
            "cannot be asked to quit: it serves an editor over stdio; close that editor.",
        )
    deadline = time.monotonic() + wait_seconds
    pid = info.get("pid")
    # The lock goes first, the process a moment later (its interpreter's end): "has quit" is
    # said once the process is gone, so an installer may replace its files at once.
    while lock_is_held(data_dir) or (isinstance(pid, int) and not process_gone(pid)):
        if time.monotonic() >= deadline:
            return QuitResult(
                False,
                f"llmgw-desktop (pid {pid}) was asked to quit but still runs after "
                f"{wait_seconds:.0f} s.",
            )
        time.sleep(LOCK_POLL_S)
    return QuitResult(True, f"llmgw-desktop (pid {pid}) has quit.")


def _post(info: dict[str, Any], path: str) -> dict[str, Any]:
    # Here, not at the top: the stdio relay, spawned on every editor start, never posts.
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the URL is our own loopback address
        info["url"] + path,
        method="POST",
        headers={INSTANCE_TOKEN_HEADER: info["token"]},
    )
    with urllib.request.urlopen(request, timeout=INSTANCE_ANSWER_TIMEOUT_S) as response:  # noqa: S310
        answer = json.loads(response.read(65536))
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    return answer


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _try_lock(handle: IO[bytes]) -> bool:
    return try_lock(handle.fileno())


def _unlock(handle: IO[bytes]) -> None:
    handle.seek(0)
    unlock(handle.fileno())
