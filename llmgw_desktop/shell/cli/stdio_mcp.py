"""`llmgw-desktop mcp`: MCP on stdin/stdout for editors, relayed to the running app if any."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.cli.messages import fail, unusable
from llmgw_desktop.shell.cli.preflight import refuse_unwritable, start_logging
from llmgw_desktop.shell.exit_codes import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND", "run_mcp"]


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "mcp",
        help="serve MCP over stdin/stdout (for editors); relays to the running app if any",
        description="Speak MCP on stdin/stdout, for editors that launch a command. When the "
        "app (or another gateway on this data dir) runs, it relays to it, so every editor "
        "shares one engine and the dashboard; otherwise it runs the gateway itself until the "
        "editor closes the connection. Only MCP messages go to stdout; the log goes to the "
        "log file (and to stderr with -v).",
        epilog=examples(
            "claude mcp add --scope user llmgw -- llmgw-desktop mcp",
            '{"mcpServers": {"llmgw": {"command": "llmgw-desktop", "args": ["mcp"]}}}',
        ),
        formatter_class=HelpWithExamples,
    )
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    return run_mcp(loaded, verbose=args.verbose)


# Spawned by each editor at its start, and waited on: it compiles from the app's kept code.
COMMAND = Command("mcp", _declare, _run, reads_kept_code=True)


def run_mcp(loaded: LoadedSettings, *, verbose: bool) -> int:
    """`llmgw-desktop mcp`: stdout carries MCP messages only, so logs go to the file."""
    settings = loaded.settings
    if unwritable := refuse_unwritable(settings):
        return unwritable
    try:
        logs = start_logging(settings, verbose=verbose)  # --verbose: stderr, never stdout
    except OSError as exc:
        return unusable(exc)
    # Relaying to a running gateway imports no engine; serving in process imports it then.
    from llmgw_desktop.shell.stdio_mode import LockFileUnusable, run_stdio
    from llmgw_desktop.transports.line_caps import LineTooLong

    try:
        return run_stdio(loaded)
    except LockFileUnusable as exc:
        return unusable(exc.error)
    except LineTooLong as exc:  # the editor's line past the door's cap, on either path
        return fail(f"stdio MCP stopped: {exc}")
    except OSError as exc:  # the editor's pipes, the relay's connection: not the data dir
        return fail(f"stdio MCP stopped: {exc}")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        logs.close()
