"""`llmgw-desktop version` (and `--version`): the installed version."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND", "print_version"]


def print_version() -> None:
    """Print the version, read only now (see llmgw_desktop/__init__.py)."""
    from llmgw_desktop import __version__

    print(f"llmgw-desktop {__version__}")


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "version",
        help="print the version",
        description="Print the version (the same as --version).",
        epilog=examples("llmgw-desktop version"),
        formatter_class=HelpWithExamples,
    )
    return parser


def _run(_args: argparse.Namespace, _loaded: LoadedSettings | None) -> int:
    print_version()
    return 0


COMMAND = Command("version", _declare, _run, needs_settings=False)
