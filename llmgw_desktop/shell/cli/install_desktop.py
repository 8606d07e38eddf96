"""`llmgw-desktop install-desktop`: the app in this user's desktop menu (Linux)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND"]


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "install-desktop",
        help="add the app to this user's desktop menu (Linux: .desktop file and icons)",
        description="Write the menu entry ($XDG_DATA_HOME/applications) and the icons "
        "($XDG_DATA_HOME/icons/hicolor) for this user, starting this very installation by "
        "its absolute path. --uninstall removes them (and the start-at-login entry).",
        epilog=examples(
            "llmgw-desktop install-desktop", "llmgw-desktop install-desktop --uninstall"
        ),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument("--uninstall", action="store_true", help="remove what it installed")
    return parser


def _run(args: argparse.Namespace, _loaded: LoadedSettings | None) -> int:
    from llmgw_desktop.shell.linux_install import install_desktop_command

    return install_desktop_command(uninstall=args.uninstall)


COMMAND = Command("install-desktop", _declare, _run, needs_settings=False)
