"""`llmgw-desktop quit`: ask the running app for this data dir to quit, and wait until it has."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND"]


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "quit",
        help="ask the running app (for this data dir) to quit, and wait until it has",
        description="Ask the running llmgw-desktop to shut down as its Quit does, and wait "
        "until it has (installers run this before replacing or removing its files). Exit "
        "0 when none runs any more, 1 when it is still running.",
        epilog=examples("llmgw-desktop quit", "llmgw-desktop quit --wait 5"),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for it to stop (default 30)",
    )
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    from llmgw_desktop.shell.instance import ask_running_instance_to_quit

    result = ask_running_instance_to_quit(loaded.settings.data_path, args.wait)
    print(result.message, file=sys.stdout if result.stopped else sys.stderr)
    return 0 if result.stopped else EXIT_FAILURE


# Whatever config.toml says: it needs only where the instance is, and a broken file must not
# leave the app running (an installer runs this before it replaces the app's files).
COMMAND = Command("quit", _declare, _run, past_refusals=True)
