"""How to connect an editor or agent to this gateway: the exact snippets, for the README and the
app's "Copy MCP endpoint" menu, built from the live endpoint so they are always right."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass

__all__ = ["Snippet", "sdk_snippets", "snippets", "stdio_command"]

SERVER_NAME = "llmgw-desktop"
# What an SDK sends as its API key when the gateway needs none (open to this account): the
# SDKs refuse to start without one, and the gateway ignores it.
ANY_KEY = "llmgw-local"
# Stands for the caller's real credential when the gateway asks for one.
TOKEN_PLACEHOLDER = "YOUR_GATEWAY_TOKEN"  # noqa: S105 - a placeholder, not a secret


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


def sdk_snippets(base_url: str, *, token_needed: bool) -> list[Snippet]:
    """How to point the OpenAI and Anthropic SDKs at the gateway at `base_url` (no path).

    With `token_needed` the credential is a placeholder for the static bearer token or an
    OAuth access token, sent as `Authorization: Bearer` (the Anthropic SDKs do that for an
    auth token, not for an API key, which goes in `x-api-key`). Without it any key works.
    """
    openai_url = f"{base_url}/v1"
    key = TOKEN_PLACEHOLDER if token_needed else ANY_KEY
    anthropic_env, anthropic_arg = (
        ("ANTHROPIC_AUTH_TOKEN", "auth_token") if token_needed else ("ANTHROPIC_API_KEY", "api_key")
    )
    return [
        Snippet(
            "OpenAI SDK (environment)",
            "shell",
            f"export OPENAI_BASE_URL={openai_url}\nexport OPENAI_API_KEY={key}",
        ),
        Snippet(
            "OpenAI SDK (Python)",
            "Python",
            "from openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{openai_url}", api_key="{key}")',
        ),
        Snippet(
            "Anthropic SDK (environment)",
            "shell",
            f"export ANTHROPIC_BASE_URL={base_url}\nexport {anthropic_env}={key}",
        ),
        Snippet(
            "Anthropic SDK (Python)",
            "Python",
            "from anthropic import Anthropic\n\n"
            f'client = Anthropic(base_url="{base_url}", {anthropic_arg}="{key}")',
        ),
    ]
