"""The command line's parser: the global options, then one subcommand per module in `COMMANDS`.

A new command is a module with a `COMMAND` (`command.py`) added to `COMMANDS`; `--help` lists
them in this order.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from llmgw_desktop.config import paths
from llmgw_desktop.shell.cli import (
    acp_agent,
    connect,
    db_copy,
    hash_password,
    install_desktop,
    keys,
    mcp_servers,
    quit_app,
    run_tool,
    show_config,
    stdio_mcp,
    version,
)
from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, examples

__all__ = ["COMMANDS", "build_parser", "command_named"]

COMMANDS: tuple[Command, ...] = (
    show_config.COMMAND,
    version.COMMAND,
    hash_password.COMMAND,
    stdio_mcp.COMMAND,
    acp_agent.COMMAND,
    db_copy.COMMAND,
    quit_app.COMMAND,
    install_desktop.COMMAND,
    keys.COMMAND,
    mcp_servers.COMMAND,
    connect.COMMAND,
    run_tool.COMMAND,
)


class _PrintVersion(argparse.Action):
    """`--version`, reading the version only when asked (see llmgw_desktop/__init__.py)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        version.print_version()
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options and every command of `COMMANDS`."""
    parser = argparse.ArgumentParser(
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
        "--config",
        type=Path,
        help=f"settings file to read (default: {paths.config_file()}; env {paths.CONFIG_ENV})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.declare(commands)
    return parser


def command_named(name: str | None) -> Command | None:
    """The command `name` chose, or None for none (start the app)."""
    return next((c for c in COMMANDS if c.name == name), None)
