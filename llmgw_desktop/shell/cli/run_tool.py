"""`llmgw-desktop run TOOL [ARGS...]`: start a coding tool (claude, codex, gemini, opencode) or
any command with its model calls through the gateway, for that one process.

In order: the gateway is started in the background when none runs, and this says so
(`shell/background_gateway.py`); the model that answers on this machine's keys is chosen where
the tool's own default would not answer (the choice `connect` makes, `connect_facts.py`); on a
locked gateway a gateway key is made for this run (`key:run-TOOL`, the same holder run after
run), which expires on its own (`RUN_KEY_TTL_S`) and is revoked when the tool exits; a call is
checked to be answered (the key accepted, the model listed) before the tool starts, and one
line says why not when it would not; then the tool runs with its arguments in this terminal
(`shell/tool_runs.py`), and its exit code is this command's. The steps are `shell/tool_launch.py`.

Exit codes: the tool's own (128 + the signal that ended it); 1 when it was not started (the
line on stderr says why); 2 a bad argument.
"""

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
        "run",
        help="start a tool with its model calls through the gateway",
        description="Start a coding tool (claude, codex, gemini, opencode) or any command with "
        "its model calls through the gateway, for that one process: the gateway is started in "
        "the background if none runs, the tool is told a model that answers with this "
        "machine's keys where its own default would not, a gateway key is made for the run "
        "on a locked gateway (revoked when the tool exits), and a call is checked to be "
        "answered before the tool starts. Any other command gets every SDK's variables "
        "(OPENAI_BASE_URL and OPENAI_API_BASE, ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL, "
        "OLLAMA_HOST and their keys, LLMGW_MODEL). Its exit code is the tool's.",
        epilog=examples(
            "llmgw-desktop run claude",
            'llmgw-desktop run codex exec --skip-git-repo-check "say hello"',
            'llmgw-desktop run gemini -p "say hello"',
            "llmgw-desktop run python my_script.py",
        ),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument("tool", help="claude, codex, gemini, opencode, or any command")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="the tool's own arguments, passed as they are"
    )
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    from llmgw_desktop.shell.tool_launch import RunRefused, run_through_gateway

    try:
        return run_through_gateway(loaded, args.config, args.tool, list(args.args))
    except RunRefused as exc:
        print(f"llmgw-desktop run: {exc}", file=sys.stderr)
        return EXIT_FAILURE


COMMAND = Command("run", _declare, _run)
