"""`llmgw-desktop acp`: the gateway as an ACP agent for editors (Zed, JetBrains, Neovim)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.cli.messages import fail, unusable
from llmgw_desktop.shell.cli.preflight import refuse_unwritable, start_logging
from llmgw_desktop.shell.exit_codes import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND"]


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "acp",
        help="serve the Agent Client Protocol over stdin/stdout (for editors' agent panels)",
        description="Speak ACP on stdin/stdout, for editors that launch an agent (Zed's "
        "agent_servers, JetBrains, Neovim's CodeCompanion): a chat agent on MODEL, or a coding "
        "agent the gateway runs for the editor (AGENT: claude, codex, gemini, opencode, qwen or "
        "any ACP agent it knows) with its permission requests put to the editor. Every turn "
        "goes through the running app (or a gateway this process starts), so it is recorded "
        "and budgeted as the editor's own agent. Only ACP messages go to stdout. See "
        "docs/ACP.md.",
        epilog=examples(
            "llmgw-desktop acp --model gpt-4o-mini",
            "llmgw-desktop acp --agent claude",
            '"agent_servers": {"LLM gateway": {"command": "llmgw-desktop", '
            '"args": ["acp", "--model", "claude-sonnet-4-6"]}}',
        ),
        formatter_class=HelpWithExamples,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model",
        help="any model the gateway routes (gpt-4o-mini, claude-sonnet-4-6, openai/...); "
        "the editor can switch it inside a session",
    )
    which.add_argument(
        "--agent",
        help="a coding agent the gateway runs for the editor: claude, codex, gemini, opencode "
        "(each through its ACP form), qwen, or any [providers.acp.NAME]; the editor can "
        "switch agent and model inside a session",
    )
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    if unwritable := refuse_unwritable(loaded.settings):
        return unwritable
    try:
        logs = start_logging(loaded.settings, verbose=args.verbose)
    except OSError as exc:
        return unusable(exc)
    from llmgw_desktop import __version__
    from llmgw_desktop.shell.acp_mode import run_acp

    try:
        return run_acp(loaded, model=args.model or "", agent=args.agent or "", version=__version__)
    except OSError as exc:
        return fail(f"ACP stopped: {exc}")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        logs.close()


COMMAND = Command("acp", _declare, _run)
