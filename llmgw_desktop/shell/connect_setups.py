"""Each client's set-up for this gateway, as `llmgw-desktop connect CLIENT` prints it and, with
the person's consent, writes it: the live address, this machine's absolute path to
`llmgw-desktop` (a venv's script is not on `PATH`), a key only where the gateway is locked, and
a model that answers now where the tool's own default would not (`connect_facts.py`).

A client whose settings file is plain JSON or TOML can have its entry written there, the rest of
the file kept; one whose settings are a program (Neovim's Lua) is printed only. The snippets are
the Connect page's own (`ui/connect.py`).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.api import first_answering
from llmgw_desktop.shell.connect_facts import GatewayFacts
from llmgw_desktop.ui.connect import (
    ANY_KEY,
    CODEX_KEY_ENV,
    SERVER_NAME,
    TOKEN_PLACEHOLDER,
    acp_snippets,
    claude_desktop_config,
    sdk_snippets,
    snippets,
    stdio_command,
)

__all__ = ["CLIENTS", "Setup", "setup_for"]

# The name the ACP agent goes by in an editor's agent panel (`ui/connect.acp_snippets`).
ACP_NAME = "LLM gateway"
# Each coding tool's name, and the provider whose models it asks for by default.
_TOOLS = {
    "claude-code": ("Claude Code", "anthropic"),
    "codex": ("Codex", "openai"),
    "gemini-cli": ("Gemini CLI", "google"),
}


@dataclass(frozen=True)
class Setup:
    """What to print, and where `--write` puts the entry (None: printed only, `why_not` says
    why) and how (`entry` applied to the parsed file: a JSON object or a tomlkit document)."""

    lines: list[str]
    file: Path | None = None
    entry: Callable[[Any], None] | None = None
    why_not: str = ""


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _key(facts: GatewayFacts) -> str:
    return TOKEN_PLACEHOLDER if facts.locked else ANY_KEY


def _model_note(facts: GatewayFacts, tool: str, model: str | None) -> list[str]:
    """Why a model is named (the tool's own provider has no key), or that none answers yet."""
    name, vendor = _TOOLS[tool]
    if model is not None:
        return [
            f"# {name} asks for {vendor} models by default, and no {vendor} key was found "
            f"({facts.source}): {model} answers instead (GET /v1/models lists the others)."
        ]
    if not facts.answering:
        return [
            f"# No API key was found ({facts.source}): set one where the gateway runs, or "
            "store one in the vault (the window's Provider keys page)."
        ]
    return []


def _claude_code(facts: GatewayFacts) -> Setup:
    model = facts.model_for("anthropic")
    env = {"ANTHROPIC_BASE_URL": facts.base_url, "ANTHROPIC_API_KEY": _key(facts)}
    if model is not None:
        # Its main model, and the small one it asks for titles and summaries.
        env |= {"ANTHROPIC_MODEL": model, "ANTHROPIC_DEFAULT_HAIKU_MODEL": model}
    run = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " claude"
    folder = Path(os.environ.get("CLAUDE_CONFIG_DIR") or _home() / ".claude")

    def entry(settings: dict[str, Any]) -> None:
        settings.setdefault("env", {}).update(env)

    lines = [
        "# Claude Code, its model calls through the gateway:",
        run,
        *_model_note(facts, "claude-code", model),
        "# The gateway's MCP tools in Claude Code:",
        f"claude mcp add --scope user {SERVER_NAME} -- {shlex.join(stdio_command())}",
        f"# --write puts {', '.join(env)} in {folder / 'settings.json'} (every claude then "
        "goes through the gateway).",
    ]
    return Setup(lines, folder / "settings.json", entry)


def _codex(facts: GatewayFacts) -> Setup:
    model = facts.model_for("openai")
    folder = Path(os.environ.get("CODEX_HOME") or _home() / ".codex")
    provider = {
        "name": SERVER_NAME,
        "base_url": facts.base_url + "/v1",
        "wire_api": "responses",
        "env_key": CODEX_KEY_ENV,
        "supports_websockets": False,
    }
    toml = ['model_provider = "llmgw"'] + ([f"model = {json.dumps(model)}"] if model else [])
    toml += ["", "[model_providers.llmgw]"]
    toml += [f"{k} = {json.dumps(v)}" for k, v in provider.items()]

    def entry(document: Any) -> None:
        import tomlkit

        document["model_provider"] = "llmgw"
        if model is not None:
            document["model"] = model
        providers = document.setdefault("model_providers", tomlkit.table(is_super_table=True))
        providers["llmgw"] = provider

    lines = [
        f"# In {folder / 'config.toml'}:",
        *toml,
        "# Where Codex runs (it reads the key from this variable):",
        f"export {CODEX_KEY_ENV}={shlex.quote(_key(facts))}",
        'codex exec --skip-git-repo-check "say hello" </dev/null',
        *_model_note(facts, "codex", model),
        "# The gateway's MCP tools in Codex:",
        next(s.text for s in _mcp(facts) if s.client == "Codex"),
    ]
    return Setup(lines, folder / "config.toml", entry)


def _gemini_cli(facts: GatewayFacts) -> Setup:
    model = facts.model_for("google")
    google = facts.answering.get("google", ())
    chosen = model or (google[0] if google else "gemini-2.5-flash")
    path = _home() / ".gemini" / "settings.json"

    def entry(settings: dict[str, Any]) -> None:
        auth = settings.setdefault("security", {}).setdefault("auth", {})
        auth["selectedType"] = "gemini-api-key"
        settings.setdefault("mcpServers", {})[SERVER_NAME] = {"httpUrl": facts.base_url + "/mcp"}

    lines = [
        f"export GOOGLE_GEMINI_BASE_URL={facts.base_url}",
        f"export GEMINI_API_KEY={shlex.quote(_key(facts))}",
        f'gemini -m {shlex.quote(chosen)} -p "say hello"',
        *_model_note(facts, "gemini-cli", model),
        f"# --write chooses the API-key login and adds the gateway's MCP tools in {path}.",
    ]
    return Setup(lines, path, entry)


def _mcp(facts: GatewayFacts) -> list[Any]:
    token = TOKEN_PLACEHOLDER if facts.locked else None
    return snippets(facts.base_url + "/mcp", stdio_command(), token=token)


def _acp(facts: GatewayFacts) -> list[Any]:
    """The editors' ACP set-ups, on a model that answers (the Connect page's otherwise)."""
    model = first_answering(facts.answering)
    command = stdio_command()
    return acp_snippets(command) if model is None else acp_snippets(command, model)


def _json_client(
    client: str, where: Callable[[], Path], keys: tuple[str, ...]
) -> Callable[[GatewayFacts], Setup]:
    """A client whose set-up is one JSON entry (the Connect page's snippet) at `keys` of the
    file `where()` names."""

    def setup(facts: GatewayFacts) -> Setup:
        path = where()
        found = [s for s in (*_mcp(facts), *_acp(facts)) if s.client == client]
        document = json.loads(found[0].text)
        value = document
        for key in keys:
            value = value[key]

        def entry(settings: dict[str, Any]) -> None:
            place = settings
            for key in keys[:-1]:
                place = place.setdefault(key, {})
            place[keys[-1]] = value

        return Setup([f"# In {path}:", json.dumps(document, indent=2)], path, entry)

    return setup


def _claude_desktop(facts: GatewayFacts) -> Setup:
    """The stdio relay in Claude Desktop's `mcpServers` (its settings file holds local servers
    only; the relay proves the local user, a locked gateway included)."""
    json_entry = _json_client("Claude Desktop", claude_desktop_config, ("mcpServers", SERVER_NAME))
    setup = json_entry(facts)
    note = (
        "# Claude Desktop reads this file when it starts: quit it (from its menu, not only its "
        "window) and open it again."
    )
    return replace(setup, lines=[*setup.lines, note])


def _neovim(facts: GatewayFacts) -> Setup:
    [lua] = [s.text for s in _acp(facts) if s.client.startswith("Neovim")]
    return Setup(
        ["# In CodeCompanion's setup(), under adapters.acp:", lua],
        why_not="Neovim's settings are a Lua program: add it there by hand",
    )


def _sdk(facts: GatewayFacts) -> Setup:
    token = TOKEN_PLACEHOLDER if facts.locked else None
    found = sdk_snippets(facts.base_url, token=token)
    lines = [line for s in found for line in (f"# {s.client}:", s.text)]
    return Setup(lines, why_not="an SDK is set up in your own code")


CLIENTS: dict[str, Callable[[GatewayFacts], Setup]] = {
    "claude-code": _claude_code,
    "codex": _codex,
    "gemini-cli": _gemini_cli,
    "claude-desktop": _claude_desktop,
    "cursor": _json_client(
        "Cursor", lambda: _home() / ".cursor" / "mcp.json", ("mcpServers", SERVER_NAME)
    ),
    "vscode": _json_client(
        "VS Code", lambda: Path.cwd() / ".vscode" / "mcp.json", ("servers", SERVER_NAME)
    ),
    "zed": _json_client(
        "Zed", lambda: _home() / ".config" / "zed" / "settings.json", ("agent_servers", ACP_NAME)
    ),
    "jetbrains": _json_client(
        "JetBrains IDEs", lambda: _home() / ".jetbrains" / "acp.json", ("agent_servers", ACP_NAME)
    ),
    "neovim": _neovim,
    "sdk": _sdk,
}


def setup_for(client: str, facts: GatewayFacts) -> Setup:
    """`client`'s set-up for the gateway `facts` describe.

    Raises:
        KeyError: no such client (the command line offers only `CLIENTS`).
    """
    return CLIENTS[client](facts)
