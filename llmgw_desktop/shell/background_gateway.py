"""The gateway a tool started through it needs (`llmgw-desktop run`), started in the background
when none runs.

When an instance holds the data directory, it is the gateway: its published address is used.
Otherwise the app is started as a login start starts it (`--hidden`: in the tray where a window
can open, else headless, as the app decides for itself), detached from this terminal (its own
session, no stdin, its output in its own log file, so the tool keeps the terminal), and waited
for until it publishes its address and answers `/health`, then until its first look at the
providers has ended (`/health`'s `providers.settled`, at most `SETTLE_WAIT_S`): before it,
`/v1/models` lists a provider's built-in models while its own list is read, and a tool would
be set up for a model the provider's server may not serve. A start that fails says why in one
line: what its exit code means, and where its log is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.shell.exit_codes import (
    EXIT_CONFIG,
    EXIT_PORT_IN_USE,
    EXIT_UNWRITABLE,
)
from llmgw_desktop.shell.instance import INFO_FILE, lock_is_held
from llmgw_desktop.shell.logging_setup import LOG_FILE_NAME

__all__ = ["START_WAIT_S", "GatewayDidNotStart", "RunningGateway", "ensure_running"]

# How long a start may take to serve: a headless start serves in a second or two, a desktop
# start builds its window first (seconds on a loaded machine).
START_WAIT_S = 60.0
# How often the starting gateway is asked whether it serves yet.
POLL_S = 0.1
# How long one `/health` question may take (loopback: at once, or it is not serving yet).
HEALTH_TIMEOUT_S = 2.0
# How long a gateway this call started is given to read its providers' model lists, as long
# as its start banner waits for them (`banner.ANSWERING_WAIT_S`, not imported: it brings the
# engine): past it, what it lists then is used.
SETTLE_WAIT_S = 5.0
# What a start's exit code means (`shell/exit_codes.py`), as the line that says it failed.
_WHY = {
    EXIT_CONFIG: "a setting is wrong",
    EXIT_UNWRITABLE: "a directory it keeps its files in cannot be written",
}


class GatewayDidNotStart(Exception):
    """The gateway was started and did not serve; the message says why, in one line."""


@dataclass(frozen=True)
class RunningGateway:
    """The gateway serving this data directory."""

    url: str  # http://127.0.0.1:3333
    mode: str  # "desktop" or "headless"
    started: bool  # this call started it
    log: Path  # its log file


def ensure_running(settings: Settings, config: Path | None) -> RunningGateway:
    """The gateway of `settings`' data directory, started in the background (with the
    settings file `config`, None: the default) when none runs.

    Raises:
        GatewayDidNotStart: it was started and exited, or did not serve in `START_WAIT_S`.
    """
    log = settings.log_path / LOG_FILE_NAME
    found = _serving(settings.data_path)
    if found is not None:
        return RunningGateway(*found, started=False, log=log)
    argv = [sys.executable, "-m", "llmgw_desktop", "--hidden"]
    if config is not None:
        argv[3:3] = ["--config", str(config)]
    process = _start_detached(argv)
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None and (found := _serving(settings.data_path)) is None:
            # It exited, and no other instance serves (one started meanwhile would: a second
            # launch hands off to it and exits 0).
            raise GatewayDidNotStart(
                f"the gateway did not start: {_why(code, settings)} (its log: {log})"
            )
        if found is not None or (found := _serving(settings.data_path)) is not None:
            if code is None:
                _wait_settled(found[0])
            return RunningGateway(*found, started=code is None, log=log)
        time.sleep(POLL_S)
    raise GatewayDidNotStart(
        f"the gateway did not serve within {START_WAIT_S:.0f} s of its start (its log: {log})"
    )


def _why(code: int, settings: Settings) -> str:
    """What a start's exit `code` means; for a taken port, who holds it and how to use
    another, as a start in the terminal says it."""
    if code != EXIT_PORT_IN_USE:
        return _WHY.get(code, f"it exited with {code}")
    from llmgw_desktop.shell.cli.messages import port_in_use_words

    return " ".join(port_in_use_words(settings.http.host, settings.http.port))


def _serving(data_dir: Path) -> tuple[str, str] | None:
    """The address and mode the instance holding `data_dir` published, once it answers
    `/health`; None while none does."""
    if not lock_is_held(data_dir):
        return None
    try:
        info = json.loads((data_dir / INFO_FILE).read_text(encoding="utf-8"))
        url, mode = str(info["url"]), str(info.get("mode") or "desktop")
        with urllib.request.urlopen(url + "/health", timeout=HEALTH_TIMEOUT_S):  # noqa: S310
            return url, mode
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _wait_settled(url: str) -> None:
    """Until the gateway at `url` says its first look at the providers has ended, at most
    `SETTLE_WAIT_S` (a gateway that stops answering meanwhile is found out by the caller)."""
    deadline = time.monotonic() + SETTLE_WAIT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=HEALTH_TIMEOUT_S) as answer:  # noqa: S310
                if json.loads(answer.read())["providers"].get("settled", True):
                    return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        time.sleep(POLL_S)


def _start_detached(argv: list[str]) -> subprocess.Popen[bytes]:
    """`argv` started apart from this terminal: its own session on POSIX (a Ctrl+C or a
    closed terminal here does not reach it), its own process group and no console on
    Windows; no stdin, its output in its own log file."""
    quiet = subprocess.DEVNULL
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        return subprocess.Popen(argv, stdin=quiet, stdout=quiet, stderr=quiet, creationflags=flags)
    return subprocess.Popen(
        argv, stdin=quiet, stdout=quiet, stderr=quiet, close_fds=True, start_new_session=True
    )
