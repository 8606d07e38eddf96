"""How to connect an editor, agent or SDK to this gateway: the exact snippets, for the README,
the Connect page and the tray's "Copy setup for" menu, built from the live endpoint so they are
always right (`connect_setups.py` puts them together per client, as `llmgw-desktop connect`
prints them).

A gateway with a bearer lock (a static token, or OAuth) needs `Authorization: Bearer ...` on
every request: each snippet that can carry a header carries it. The caller says what goes in
it (`token`): the real token, a masked form for the screen, or `TOKEN_PLACEHOLDER`; None means
the gateway is open and no header is written.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.desktop_entry import cli_executable

# The variable Codex's model provider entry reads the gateway key from (its `env_key`), and
# the one Claude Code takes it in: the engine's, which points a job of each the same way.
from llmgw_desktop.engine.api import CLAUDE_CODE_KEY_ENV, CODEX_KEY_ENV

__all__ = [
    "ANY_KEY",
    "CODEX_TOKEN_ENV",
    "TOKEN_PLACEHOLDER",
    "Snippet",
    "acp_snippets",
    "claude_code_models",
    "claude_desktop_config",
    "editors_send_token",
    "key_snippets",
    "mask_token",
    "sdk_first_call",
    "sdk_snippets",
    "snippets",
    "stdio_command",
]

SERVER_NAME = "llmgw-desktop"
# What an SDK sends as its API key when the gateway needs none (open to this account): the
# SDKs refuse to start without one, and the gateway ignores it.
ANY_KEY = "llmgw-local"
# Stands for the caller's real credential when the gateway asks for one.
TOKEN_PLACEHOLDER = "YOUR_GATEWAY_TOKEN"  # noqa: S105 - a placeholder, not a secret
# Codex reads an HTTP MCP server's bearer token from an environment variable, never a flag.
CODEX_TOKEN_ENV = "LLMGW_GATEWAY_TOKEN"  # noqa: S105 - a variable's name
# How much of a token the screen shows: enough to tell two tokens apart, too little to use.
MASK_SHOWN = 4


def claude_code_models(model: str) -> dict[str, str]:
    """Claude Code's model variables, each naming `model`: its main model, the small one it
    asks for titles and summaries (haiku), and what its `sonnet` and `opus` aliases (its
    `/model` picker's choices, a subagent's `model:`) stand for. Left out, an alias names a
    Claude model that no key of this machine may answer."""
    return {
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
    }


@dataclass(frozen=True)
class Snippet:
    client: str  # who it is for
    where: str  # where it goes (a shell, a file)
    text: str


def mask_token(token: str) -> str:
    """The token as the screen shows it: bullets and its last few characters."""
    shown = token[-MASK_SHOWN:] if len(token) >= 4 * MASK_SHOWN else ""
    return "•" * 8 + shown


def editors_send_token(*, locked: bool, oauth: bool, static_token: bool) -> bool:
    """Whether the editors' HTTP snippets carry a bearer: on a locked gateway, unless OAuth
    alone locks it (MCP OAuth clients sign in through the browser; a header would stop them)."""
    return locked and (static_token or not oauth)


def claude_desktop_config(
    platform: str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Where Claude Desktop reads its settings (`mcpServers` among them) on this machine:
    `%APPDATA%\\Claude` on Windows, `~/Library/Application Support/Claude` on macOS, the XDG
    config folder's `Claude` on Linux (`~/.config/Claude`), as Electron places an app's."""
    platform = sys.platform if platform is None else platform
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform == "win32":
        folder = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
    elif platform == "darwin":
        folder = home / "Library" / "Application Support"
    else:
        folder = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return folder / "Claude" / "claude_desktop_config.json"


def stdio_command() -> list[str]:
    """The command an editor launches for stdio MCP, by its absolute path (an editor's PATH is
    not a venv's): the bundle's console executable when this is an installed bundle, else the
    running install's own script (beside this Python in its venv), else the one on PATH, else
    this Python. The running install comes before PATH: a person who ran a clone's
    `.venv/bin/llmgw-desktop connect zed` means that install, not an older one PATH finds
    first."""
    bundled = cli_executable()
    if bundled is not None:
        return [str(bundled), "mcp"]
    beside = Path(sys.executable).with_name(
        "llmgw-desktop.exe" if sys.platform == "win32" else "llmgw-desktop"
    )
    if beside.is_file():
        return [str(beside.absolute()), "mcp"]
    script = shutil.which("llmgw-desktop")
    if script:
        return [str(Path(script).absolute()), "mcp"]
    return [sys.executable, "-m", "llmgw_desktop", "mcp"]


# The model an ACP snippet names; the editor can switch it inside a session.
ACP_MODEL = "gpt-4o-mini"


def acp_snippets(command: list[str] | None = None, model: str = ACP_MODEL) -> list[Snippet]:
    """One-line ACP set-ups for editors' agent panels (docs/ACP.md): `llmgw-desktop acp`."""
    base = command or stdio_command()
    program, args = base[0], [*base[1:-1], "acp", "--model", model]  # base ends with "mcp"
    server = {"command": program, "args": args}
    lua_argv = ", ".join(json.dumps(a) for a in [program, *args])
    return [
        Snippet(
            "Zed",
            "settings.json",
            json.dumps({"agent_servers": {"LLM gateway": server}}, indent=2, ensure_ascii=False),
        ),
        Snippet(
            "JetBrains IDEs",
            "~/.jetbrains/acp.json",
            json.dumps({"agent_servers": {"LLM gateway": server}}, indent=2, ensure_ascii=False),
        ),
        Snippet(
            "Neovim (CodeCompanion)",
            "adapters.acp in setup()",
            "llmgw = function() return require('codecompanion.adapters').extend('gemini_cli', "
            f"{{ commands = {{ default = {{ {lua_argv} }} }} }}) end",
        ),
    ]


def snippets(
    mcp_url: str, command: list[str] | None = None, *, token: str | None = None
) -> list[Snippet]:
    """Connection snippets for the common clients, for the endpoint `mcp_url`; with `token`,
    the HTTP ones send it as a bearer (stdio needs none: the relay proves the local user)."""
    command = command or stdio_command()
    shell = " ".join(command)
    bearer = {} if token is None else {"headers": {"Authorization": f"Bearer {token}"}}
    claude_header = "" if token is None else f" --header {_bearer_arg(token)}"
    codex = f"codex mcp add {SERVER_NAME} --url {mcp_url}"
    if token is not None:
        codex = (
            f"export {CODEX_TOKEN_ENV}={shlex.quote(token)}  # keep it set where Codex runs\n"
            f"{codex} --bearer-token-env-var {CODEX_TOKEN_ENV}"
        )
    return [
        Snippet(
            "Claude Code (HTTP)",
            "shell",
            f"claude mcp add --scope user --transport http {SERVER_NAME} {mcp_url}{claude_header}",
        ),
        Snippet(
            "Claude Code (stdio)", "shell", f"claude mcp add --scope user {SERVER_NAME} -- {shell}"
        ),
        Snippet("Codex", "shell", codex),
        Snippet(
            "Cursor",
            "~/.cursor/mcp.json",
            json.dumps(
                {"mcpServers": {SERVER_NAME: {"url": mcp_url, **bearer}}},
                indent=2,
                ensure_ascii=False,
            ),
        ),
        Snippet(
            "VS Code",
            ".vscode/mcp.json",
            json.dumps(
                {"servers": {SERVER_NAME: {"type": "http", "url": mcp_url, **bearer}}},
                indent=2,
                ensure_ascii=False,
            ),
        ),
        # Claude Desktop starts local servers only (a remote one is a Connector it adds in
        # its own window): the stdio relay, which proves the local user without a token.
        Snippet(
            "Claude Desktop",
            str(claude_desktop_config()),
            json.dumps(
                {"mcpServers": {SERVER_NAME: {"command": command[0], "args": command[1:]}}},
                indent=2,
                ensure_ascii=False,
            ),
        ),
        Snippet(
            "Any stdio client",
            "command",
            json.dumps({"command": command[0], "args": command[1:]}, indent=2),
        ),
    ]


def sdk_snippets(base_url: str, *, token: str | None = None) -> list[Snippet]:
    """How to point curl and the OpenAI, Anthropic and Gemini SDKs at the gateway at
    `base_url` (no path). The OpenAI base URL is set under both its names: `OPENAI_BASE_URL`
    (the SDKs') and `OPENAI_API_BASE` (the older one aider, LangChain and Bifrost's setups
    read).

    With `token` (the static bearer token, an OAuth access token, or a stand-in for either)
    each sends `Authorization: Bearer <token>`: the OpenAI SDK does for its API key, the
    Anthropic SDKs for an auth token (an API key goes in `x-api-key`), and `google-genai` for
    a header given in `http_options` (its API key, sent as `x-goog-api-key`, would do as
    well). Without it any key works.
    """
    openai_url = f"{base_url}/v1"
    key = ANY_KEY if token is None else token
    anthropic_env, anthropic_arg = (
        ("ANTHROPIC_API_KEY", "api_key")
        if token is None
        else ("ANTHROPIC_AUTH_TOKEN", "auth_token")
    )
    curl_header = "" if token is None else f" -H {_bearer_arg(token)}"
    gemini_options = f'{{"base_url": {_py(base_url)}}}'
    if token is not None:
        gemini_options = (
            f'{{\n        "base_url": {_py(base_url)},\n'
            f'        "headers": {{"Authorization": {_py("Bearer " + token)}}},\n    }}'
        )
    return [
        Snippet("curl", "shell", f"curl -sS {openai_url}/models{curl_header}"),
        Snippet(
            "OpenAI SDK (environment)",
            "shell",
            f"export OPENAI_BASE_URL={openai_url}\nexport OPENAI_API_BASE={openai_url}\n"
            f"export OPENAI_API_KEY={shlex.quote(key)}",
        ),
        Snippet(
            "OpenAI SDK (Python)",
            "Python",
            f"from openai import OpenAI\n\n"
            f"client = OpenAI(base_url={_py(openai_url)}, api_key={_py(key)})",
        ),
        Snippet(
            "Anthropic SDK (environment)",
            "shell",
            f"export ANTHROPIC_BASE_URL={base_url}\nexport {anthropic_env}={shlex.quote(key)}",
        ),
        Snippet(
            "Anthropic SDK (Python)",
            "Python",
            "from anthropic import Anthropic\n\n"
            f"client = Anthropic(base_url={_py(base_url)}, {anthropic_arg}={_py(key)})",
        ),
        Snippet(
            "Gemini SDK (Python)",
            "Python",
            "from google import genai\n\n"
            "client = genai.Client(\n"
            f"    api_key={_py(ANY_KEY)},\n"
            f"    http_options={gemini_options},\n"
            ")",
        ),
    ]


def sdk_first_call(base_url: str, model: str, *, token: str | None = None) -> Snippet:
    """A first call with the OpenAI SDK, whole: the client, one chat to `model` (one that
    answers with the gateway's keys), the answer printed."""
    key = ANY_KEY if token is None else token
    return Snippet(
        "OpenAI SDK (first call)",
        "Python",
        "from openai import OpenAI\n\n"
        f"client = OpenAI(base_url={_py(base_url + '/v1')}, api_key={_py(key)})\n"
        "answer = client.chat.completions.create(\n"
        f'    model={_py(model)}, messages=[{{"role": "user", "content": "say hello"}}]\n'
        ")\n"
        "print(answer.choices[0].message.content)",
    )


def key_snippets(base_url: str, key: str) -> list[Snippet]:
    """How the OpenAI, Anthropic and Gemini SDKs, Claude Code and Codex carry a gateway key,
    each in its usual place: the OpenAI SDK as its bearer API key, the Anthropic SDK as
    `x-api-key` (ANTHROPIC_API_KEY), Claude Code as its bearer token (`CLAUDE_CODE_KEY_ENV`),
    `google-genai` as `x-goog-api-key`, Codex from the variable its model provider entry names
    (it ignores OPENAI_BASE_URL)."""
    openai_url = f"{base_url}/v1"
    quoted = shlex.quote(key)
    return [
        Snippet(
            "OpenAI SDK",
            "shell",
            f"export OPENAI_BASE_URL={openai_url}\nexport OPENAI_API_BASE={openai_url}\n"
            f"export OPENAI_API_KEY={quoted}",
        ),
        Snippet(
            "Anthropic SDK",
            "shell",
            f"export ANTHROPIC_BASE_URL={base_url}\nexport ANTHROPIC_API_KEY={quoted}",
        ),
        Snippet(
            "Gemini SDK",
            "Python",
            "from google import genai\n\n"
            "client = genai.Client(\n"
            f"    api_key={_py(key)},\n"
            f'    http_options={{"base_url": {_py(base_url)}}},\n'
            ")",
        ),
        Snippet(
            "Claude Code",
            "shell",
            f"ANTHROPIC_BASE_URL={base_url} {CLAUDE_CODE_KEY_ENV}={quoted} claude",
        ),
        Snippet(
            "Codex (model calls)",
            "~/.codex/config.toml",
            f"# and where Codex runs: export {CODEX_KEY_ENV}={quoted}\n"
            'model_provider = "llmgw"\n'
            "# A key may not have OpenAI run billed web searches on the operator's account.\n"
            'web_search = "disabled"\n\n'
            "[model_providers.llmgw]\n"
            f'name = "{SERVER_NAME}"\n'
            f"base_url = {_py(openai_url)}\n"
            'wire_api = "responses"\n'
            f'env_key = "{CODEX_KEY_ENV}"\n'
            "supports_websockets = false",
        ),
    ]


def _bearer_arg(token: str) -> str:
    """The header as one shell word."""
    return shlex.quote(f"Authorization: Bearer {token}")


def _py(text: str) -> str:
    """`text` as a Python string literal (a JSON string is one, for what a token holds)."""
    return json.dumps(text, ensure_ascii=False)
