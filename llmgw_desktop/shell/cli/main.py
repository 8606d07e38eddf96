"""`llmgw-desktop` and `python -m llmgw_desktop`: parse, load the settings a command needs,
run it; without a command, start the app (`run.py`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from llmgw_desktop.config.settings import ConfigError, LoadedSettings
    from llmgw_desktop.shell.cli.command import Command
    from llmgw_desktop.shell.window_probe import WindowCheck

__all__ = ["main"]

# Asked for alone, these print the version without the parser, its commands or the paths:
# `--version` is what scripts and installers run to see what is there, and it stays within a
# few times a bare interpreter's start (tests/test_startup_imports.py guards what it loads).
VERSION_ONLY = (["--version"], ["version"])


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args_given = sys.argv[1:] if argv is None else argv
    if args_given in VERSION_ONLY:
        from llmgw_desktop import __version__

        print(f"llmgw-desktop {__version__}")
        return 0
    from llmgw_desktop.ui.window_probe import WINDOW_PROBE_ARG, probe_window

    if args_given == [WINDOW_PROBE_ARG]:
        # The app's own child, asked whether Qt can show a window here (`shell/window_probe.py`).
        return probe_window()
    from llmgw_desktop.shell.cli.parser import parse_command_line

    args, command = parse_command_line(args_given)
    if command is not None and not command.needs_settings:
        return command.run(args, None)
    if command is not None and command.reads_kept_code:
        from llmgw_desktop.shell.startup import reading_kept_code

        with reading_kept_code():
            return _with_settings(args, command)
    if command is not None:
        return _with_settings(args, command)
    # The app starts: what it can leave until it serves, it leaves (undone when it ends).
    from llmgw_desktop.shell.startup import lean_start

    window = None if args.headless else _begin_window_check()
    try:
        with lean_start():
            return _with_settings(args, None, window)
    finally:
        if window is not None:
            window.cancel()


def _begin_window_check() -> WindowCheck:
    """Asked first, so the window probe runs while the settings load and the app imports; only
    for a window (a headless start never imports the probe: tests/test_startup_imports.py)."""
    from llmgw_desktop.shell.window_probe import WindowCheck

    return WindowCheck.begin()


def _with_settings(
    args: argparse.Namespace, command: Command | None, window: WindowCheck | None = None
) -> int:
    """Load the settings, then run `command` with them, or the app when it is None (`window`:
    whether its window can open, being found out)."""
    from llmgw_desktop.config import paths
    from llmgw_desktop.config.settings import ConfigError, load_settings
    from llmgw_desktop.shell.cli.messages import config_error_message
    from llmgw_desktop.shell.exit_codes import EXIT_CONFIG

    if args.config is not None and not args.config.expanduser().is_file():
        # Named on the command line, so meant: running on defaults instead would hide the typo.
        print(f"llmgw-desktop: the settings file {args.config} does not exist", file=sys.stderr)
        return EXIT_CONFIG
    if command is not None and command.past_refusals:
        return command.run(args, _past_refusals(args.config))
    try:
        loaded = load_settings(args.config)
    except ConfigError as exc:
        config_file = args.config or paths.config_file()
        asked, settled = _asked_on_screen(
            exc, args, config_file, window if command is None else None
        )
        if settled is None:
            # Asked in a dialog, its words said on stderr as it opened: the person quit.
            return EXIT_CONFIG if asked else config_error_message(exc, config_file)
        loaded = settled
    if command is not None:
        return command.run(args, loaded)
    if args.workers is not None:  # the command line's word over the settings'
        loaded = _with_workers(loaded, args.workers)
    from llmgw_desktop.shell.cli.run import run

    return run(
        loaded, headless=args.headless, verbose=args.verbose, hidden=args.hidden, window=window
    )


def _past_refusals(named: Path | None) -> LoadedSettings:
    """The settings with each refused value at its default; without the file where it cannot
    be read at all (listed in `refused` too)."""
    import dataclasses

    from llmgw_desktop.config.settings import ConfigError, settings_past_refusals

    try:
        return settings_past_refusals(named)
    except ConfigError as unreadable:
        without_file = settings_past_refusals(named, read_file=False)
        return dataclasses.replace(without_file, refused=(unreadable, *without_file.refused))


def _with_workers(loaded: LoadedSettings, count: int) -> LoadedSettings:
    """`loaded` with `http.workers` set by `--workers`."""
    import dataclasses

    sources = {**loaded.sources, "http.workers": "command line --workers"}
    settings = loaded.settings.with_values({"http.workers": count})
    return dataclasses.replace(loaded, settings=settings, sources=sources)


def _asked_on_screen(
    error: ConfigError, args: argparse.Namespace, config_file: Path, window: WindowCheck | None
) -> tuple[bool, LoadedSettings | None]:
    """At a desktop start with a window to show it in, whether the dialog asked
    (`shell/start_problems.py`, which says it on stderr too) and the settings the person chose
    to start with there; None: they quit, or there was no window (stderr is to say it)."""
    if window is None or window.problem() is not None:
        return False, None
    try:
        from llmgw_desktop.shell.start_problems import settle_config_error
    except ImportError:  # no Qt after all: the message goes to stderr as headless
        return False, None
    return True, settle_config_error(error, args.config, config_file)
