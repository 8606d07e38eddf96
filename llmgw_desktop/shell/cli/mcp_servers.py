"""`llmgw-desktop mcp-servers pending|approve`: your MCP servers' changed tools, from the command
line.

Each of your MCP servers' tools is pinned when first listed; a tool whose description or input
schema changes later is withheld from `tools/list` until someone approves the change
(`engine/upstream_mcp/pins.py`). `pending` lists the changes waiting, each with the difference
from what was approved; `approve NAME` pins NAME's changed tools as they are listed now
(`--tool TOOL` one of them, or a flagged tool trusted as it is). It writes the data directory's
pins file, which the running app reads again within a second: the tool is offered at the next
`tools/list`.

Exit codes: 0 done; 1 nothing was waiting for approval; 2 a bad argument.
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
        "mcp-servers",
        help="list and approve your MCP servers' tools that changed since they were pinned",
        description="Your MCP servers' tools are pinned when first listed; one that changes "
        "later (its description or input schema) is withheld until approved. List the "
        "changes waiting, with what changed, and approve them.",
        epilog=examples(
            "llmgw-desktop mcp-servers pending",
            "llmgw-desktop mcp-servers approve weather",
            "llmgw-desktop mcp-servers approve weather --tool lookup",
        ),
        formatter_class=HelpWithExamples,
    )
    verbs = parser.add_subparsers(dest="mcp_servers_command", metavar="VERB", required=True)
    pending = verbs.add_parser("pending", help="the changed tools waiting, with their difference")
    pending.add_argument("name", nargs="?", help="one server's only")
    approve = verbs.add_parser("approve", help="pin a server's changed tools as they are now")
    approve.add_argument("name", help="the server, as [mcp.servers.NAME] names it")
    approve.add_argument(
        "--tool", help="that tool only (a flagged tool named here is trusted as it is)"
    )
    return parser


def _run(args: argparse.Namespace, loaded: LoadedSettings | None) -> int:
    assert loaded is not None
    from llmgw_desktop.engine.api import PINS_FILE, approve_in_file, changes_in_file

    path = loaded.settings.data_path / PINS_FILE
    if args.mcp_servers_command == "pending":
        changes = changes_in_file(path, args.name)
        if not changes:
            print("No changed tool is waiting for approval.")
            return 0
        for change in changes:
            print(f"{change.server}: {change.tool} changed since it was approved")
            for flag in change.flags:
                print(f"  flagged: {flag}")
            print(change.diff, end="\n\n")
        return 0
    approved = approve_in_file(path, args.name, args.tool)
    if not approved:
        what = f"tool {args.tool!r} of " if args.tool else ""
        words = f"Nothing of {what}MCP server {args.name!r} is waiting for approval."
        print(words, file=sys.stderr)
        return EXIT_FAILURE
    print(f"Approved {args.name}: {', '.join(approved)} (offered at the next tools/list).")
    return 0


COMMAND = Command("mcp-servers", _declare, _run)
