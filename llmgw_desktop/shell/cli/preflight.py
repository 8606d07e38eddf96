"""Checks before a gateway starts: the directories it writes, settings that would expose it,
whether a window can be shown; and the log, opened first of all."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.config import paths
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_UNWRITABLE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import Settings
    from llmgw_desktop.shell.logging_setup import LogSetup

__all__ = ["display_problem", "refuse_unsafe", "refuse_unwritable", "start_logging"]

log = logging.getLogger(__name__)

# The directories the gateway writes, by the setting that places them, and what each holds.
_WRITTEN_DIRS = (
    ("paths.data_dir", "data directory", "the database, the instance lock and conversations"),
    ("store.db_path", "database's directory", "the database and its journal"),
    ("paths.log_dir", "log directory", "the log"),
)


def refuse_unwritable(settings: Settings) -> int:
    """EXIT_UNWRITABLE, saying which directory and what to do, when one the gateway keeps its
    files in cannot be written; else 0. Checked before anything (the log included) opens."""
    from llmgw_desktop.config.settings import declared_settings

    envs = {d.key: d.env for d in declared_settings()}
    places = {
        "paths.data_dir": settings.data_path,
        "store.db_path": settings.database_file.parent,
        "paths.log_dir": settings.log_path,
    }
    checked: set[Path] = set()
    for key, what, holds in _WRITTEN_DIRS:
        directory = places[key]
        if directory in checked:
            continue
        checked.add(directory)
        if (problem := paths.write_problem(directory)) is not None:
            cure = "Make it writable for this user"
        elif (problem := paths.room_problem(directory)) is not None:
            cure = "Free some room on that disk"
        else:
            continue
        print(
            f"llmgw-desktop: cannot write in the {what} {directory} ({problem}).\n"
            f"  It holds {holds}.\n"
            f"  {cure}, or choose another place with {key} in config.toml\n"
            f"  or {envs[key]}, and start again.",
            file=sys.stderr,
        )
        return EXIT_UNWRITABLE
    return 0


def refuse_unsafe(settings: Settings, *, desktop: bool) -> int:
    """EXIT_CONFIG with every reason when the settings would expose the gateway; else 0."""
    from llmgw_desktop.engine.api import startup_problems, startup_warnings

    problems = startup_problems(settings, os.environ, desktop=desktop)
    for problem in problems:
        print(f"llmgw-desktop: refusing to start: {problem}", file=sys.stderr)
        log.error("refusing to start: %s", problem)
    if not problems:
        for warning in startup_warnings(settings):  # also logged once the gateway is up
            print(f"llmgw-desktop: warning: {warning}", file=sys.stderr)
    return EXIT_CONFIG if problems else 0


def start_logging(settings: Settings, *, verbose: bool) -> LogSetup:
    """The rotating log file (and with `verbose`, stderr) at the configured level.

    Raises:
        OSError: the log file cannot be opened (a directory in its place, say).
    """
    from llmgw_desktop.shell.logging_setup import configure_logging

    return configure_logging(
        settings.log_path,
        level=settings.log.level,
        verbose=verbose,
        max_bytes=settings.log.max_bytes,
        backups=settings.log.backups,
    )


def display_problem(
    environ: dict[str, str] | None = None, platform: str = sys.platform
) -> str | None:
    """Why no window can be shown here, or None when a display looks usable."""
    env = dict(os.environ) if environ is None else environ
    if env.get("QT_QPA_PLATFORM") or platform in ("win32", "darwin"):
        return None
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland:
        runtime_dir = env.get("XDG_RUNTIME_DIR", "")
        if Path(wayland).is_absolute() or not runtime_dir or Path(runtime_dir, wayland).exists():
            return None
    display = env.get("DISPLAY")
    if not display:
        return "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    # Qt aborts the whole process when it cannot reach the X server, so look before leaping:
    # a local display ":N" must have its socket.
    if display.startswith(":"):
        number = display[1:].split(".")[0]
        socket_path = Path("/tmp/.X11-unix") / f"X{number}"  # noqa: S108 - the X server's own
        if number.isdigit() and not socket_path.exists():
            return f"the X display {display} is not reachable"
    return None
