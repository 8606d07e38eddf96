"""How to connect an editor or agent to this gateway: the exact snippets, for the README and the
app's "Copy MCP endpoint" menu, built from the live endpoint so they are always right."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass

__all__ = ["Snippet", "snippets", "stdio_command"]

SERVER_NAME = "llmgw-desktop"


@dataclass(frozen=True)
class Snippet:
    client: str  # who it is for
    where: str  # where it goes (a shell, a file)
    text: str


def stdio_command() -> list[str]:
    """The command an editor launches for stdio MCP: the installed script, else this Python."""
    script = shutil.which("llmgw-desktop")
    if script:
        return [script, "mcp"]
    return [sys.executable, "-m", "llmgw_desktop", "mcp"]


def snippets(mcp_url: str, command: list[str] | None = None) -> list[Snippet]:
    """Connection snippets for the common clients, for the endpoint `mcp_url`."""
    command = command or stdio_command()
    shell = " ".join(command)
    return [
        Snippet(
            "Claude Code (HTTP)",
            "shell",
            f"claude mcp add --transport http {SERVER_NAME} {mcp_url}",
        ),
        Snippet("Claude Code (stdio)", "shell", f"claude mcp add {SERVER_NAME} -- {shell}"),
        Snippet("Codex", "shell", f"codex mcp add {SERVER_NAME} --url {mcp_url}"),
        Snippet(
            "Cursor",
            "~/.cursor/mcp.json",
            json.dumps({"mcpServers": {SERVER_NAME: {"url": mcp_url}}}, indent=2),
        ),
        Snippet(
            "VS Code",
            ".vscode/mcp.json",
            json.dumps({"servers": {SERVER_NAME: {"type": "http", "url": mcp_url}}}, indent=2),
        ),
        Snippet(
            "Any stdio client",
            "command",
            json.dumps({"command": command[0], "args": command[1:]}, indent=2),
        ),
    ]
