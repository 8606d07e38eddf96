"""`llmgw-desktop mcp-servers pending|approve`: your MCP servers' tools waiting for approval,
from the command line.

Each of your MCP servers' tools is pinned when the server first lists them; a tool whose
description or input schema changes later, or that the server adds later, is withheld from
`tools/list` until someone approves it, and a flagged one from remote callers
(`engine/upstream_mcp/pins.py`). `pending` lists what waits, each with the difference from what
was approved; `approve NAME` pins NAME's changed and new tools as they are listed now and
trusts its flagged ones (`--tool TOOL`: one of them). It writes the data directory's pins file,
which the running app reads again within a second: the tool is offered at the next
`tools/list`. A damaged pins file is refused here; the app sets it aside.

Exit codes: 0 done; 1 nothing was waiting for approval, or the pins file is damaged; 2 a bad
argument.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.shell.cli.command import Command, HelpWithExamples, Subcommands, examples
from llmgw_desktop.shell.exit_codes import EXIT_FAILURE

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import LoadedSettings

__all__ = ["COMMAND"]


def _declare(commands: Subcommands) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "mcp-servers",
        help="list and approve your MCP servers' tools that changed or came since they were pinned",
        description="Your MCP servers' tools are pinned when first listed; one that changes "
        "later (its description or input schema), or that a server adds later, is withheld "
        "until approved, and a flagged one from remote callers. List what waits, with what "
        "changed, and approve it.",
        epilog=examples(
            "llmgw-desktop mcp-servers pending",
            "llmgw-desktop mcp-servers approve weather",
            "llmgw-desktop mcp-servers approve weather --tool lookup",
        ),
        formatter_class=HelpWithExamples,
    )
    verbs = parser.add_subparsers(dest="mcp_servers_command", metavar="VERB", required=True)
    pending = verbs.add_parser("pending", help="the tools waiting, with their difference")
    pending.add_argument("name", nargs="?", help="one server's only")
    approve = verbs.add_parser(
        "approve", help="pin a server's changed and new tools as they are now, trust its flagged"
    )
    approve.add_argument("name", help="the server, as [mcp.servers.NAME] names it")
    approve.add_argument(
        "--tool", help="that tool only (a flagged tool named here is trusted as it is)"
    )
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    from llmgw_desktop.engine.api import PINS_FILE, PinsFileDamaged

    path = loaded.settings.data_path / PINS_FILE
    try:
        return (
            _pending(path, args.name)
            if args.mcp_servers_command == "pending"
            else _approve(path, args.name, args.tool)
        )
    except PinsFileDamaged as exc:
        print(
            f"The MCP tool pins file {path} is damaged ({exc}). The gateway sets it aside when "
            "it next reads it and withholds every server's tools until you approve them again; "
            "start it (or wait a second if it runs), then run this again.",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _pending(path: Path, name: str | None) -> int:
    from llmgw_desktop.engine.api import changes_in_file

    changes = changes_in_file(path, name)
    if not changes:
        print("No tool is waiting for approval.")
        return 0
    for change in changes:
        print(f"{change.server}: {change.said}")
        for flag in change.flags:
            print(f"  flagged: {flag}")
        if change.diff:
            print(change.diff)
        print()
    return 0


def _approve(path: Path, name: str, tool: str | None) -> int:
    from llmgw_desktop.engine.api import approve_in_file

    approved = approve_in_file(path, name, tool)
    if not approved:
        what = f"tool {tool!r} of " if tool else ""
        words = f"Nothing of {what}MCP server {name!r} is waiting for approval."
        print(words, file=sys.stderr)
        return EXIT_FAILURE
    print(f"Approved {name}: {', '.join(approved)} (offered at the next tools/list).")
    return 0


COMMAND = Command("mcp-servers", _declare, _run)
