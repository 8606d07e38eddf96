"""The command line's parser: the global options, then one subcommand per module of
`COMMAND_MODULES`.

A new command is a module with a `COMMAND` (`command.py`) named in `COMMAND_MODULES`; `--help`
lists them in this order. `parse_command_line` builds only what the words given can use: an
app start (no command) the global options alone, a command its own parser beside them; help
and anything the narrow parser refuses are parsed again by the whole parser, whose answer is
the one given. Building every command's parser, importing its module, was a sixth of the
stdio relay's start and a fortieth of a headless one (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, NoReturn

from llmgw_desktop.config import paths
from llmgw_desktop.shell.cli import version
from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, examples

__all__ = ["COMMAND_MODULES", "all_commands", "build_parser", "parse_command_line"]

# Each command's name and the module of this package whose `COMMAND` it is
# (tests/test_cli.py checks that they agree).
COMMAND_MODULES: dict[str, str] = {
    "config": "show_config",
    "version": "version",
    "hash-password": "hash_password",
    "mcp": "stdio_mcp",
    "acp": "acp_agent",
    "db": "db_copy",
    "quit": "quit_app",
    "health": "health",
    "install-desktop": "install_desktop",
    "keys": "keys",
    "mcp-servers": "mcp_servers",
    "connect": "connect",
    "run": "run_tool",
}


def command(name: str) -> Command:
    """The command called `name` (one of `COMMAND_MODULES`), its module imported."""
    module = importlib.import_module(f"llmgw_desktop.shell.cli.{COMMAND_MODULES[name]}")
    found: Command = module.COMMAND
    return found


def all_commands() -> tuple[Command, ...]:
    """Every command, in `--help`'s order."""
    return tuple(command(name) for name in COMMAND_MODULES)


class _Refused(Exception):
    """The narrow parser cannot answer these words: the whole parser will."""


class _NarrowParser(argparse.ArgumentParser):
    """A parser that hands its refusals back instead of printing them and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _Refused(message)


class _HelpFromTheWholeParser(argparse.Action):
    """`-h`/`--help` in the narrow parser: the help is the whole parser's."""

    def __call__(self, *_: Any) -> NoReturn:
        raise _Refused("help")


def parse_command_line(argv: list[str] | None = None) -> tuple[argparse.Namespace, Command | None]:
    """The parsed arguments and the command they name (None: start the app), building only
    the parser the words can need (see above); an error or help exits as `parse_args` does."""
    given = sys.argv[1:] if argv is None else argv
    named = next((word for word in given if word in COMMAND_MODULES), None)
    try:
        args = _parser([] if named is None else [command(named)], narrow=True).parse_args(given)
    except _Refused:
        args = build_parser().parse_args(given)
    return args, None if args.command is None else command(args.command)


class _PrintVersion(argparse.Action):
    """`--version`, reading the version only when asked (see llmgw_desktop/__init__.py)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        version.print_version()
        parser.exit()


def _workers(text: str) -> int:
    """`--workers`' value, checked as `http.workers` is."""
    from llmgw_desktop.config.settings_fields import workers

    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if problem := workers(count):
        raise argparse.ArgumentTypeError(problem)
    return count


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options and every command."""
    return _parser(all_commands(), narrow=False)


def _parser(
    commands: tuple[Command, ...] | list[Command], *, narrow: bool
) -> argparse.ArgumentParser:
    """The global options and `commands`; `narrow`: refusals and help raise `_Refused`."""
    parser = (_NarrowParser if narrow else argparse.ArgumentParser)(
        prog="llmgw-desktop",
        description="Local gateway between your coding tools and every LLM. Without a command "
        "it starts the desktop app (or, with --headless or without a display, the gateway "
        "alone).",
        epilog=examples(
            "llmgw-desktop                  # the desktop app",
            "llmgw-desktop --headless -v    # the gateway alone, its log on the console",
            "llmgw-desktop COMMAND --help   # what a command does",
        ),
        formatter_class=HelpWithExamples,
        add_help=not narrow,
    )
    if narrow:
        parser.add_argument(
            "-h", "--help", action=_HelpFromTheWholeParser, nargs=0, default=argparse.SUPPRESS
        )
    parser.add_argument(
        "--version", action=_PrintVersion, nargs=0, help="print the version and exit"
    )
    parser.add_argument("--headless", action="store_true", help="run without a window or tray icon")
    parser.add_argument(
        "--hidden",
        action="store_true",
        help="start in the tray without showing the window (how a login start runs)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="mirror the log to the console"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="with --headless: N gateway processes on one port and one PostgreSQL store "
        "(http.workers)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"settings file to read (default: {paths.config_file()}; env {paths.CONFIG_ENV})",
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for each in commands:
        each.declare(subcommands)
    return parser
