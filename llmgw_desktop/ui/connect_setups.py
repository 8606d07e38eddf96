"""Each client's set-up for this gateway, one source for everything that shows one: what
`llmgw-desktop connect CLIENT` prints (and, with the person's consent, writes), the window's
Connect page, and the tray's "Copy setup for". The live address, this machine's absolute path
to `llmgw-desktop` (a venv's script is not on `PATH`), a key only where the gateway is locked,
and a model that answers now where the tool's own default would not (`GatewayFacts`).

A set-up is snippets (`connect.Snippet`: who it is for, where it goes, its text) and notes
(why a model is named, what `--write` does): `connect` prints them, the Connect page shows
and copies each snippet, so every snippet `connect` prints is on the page. A client whose
settings file is plain JSON or TOML can have its entry written there, the rest of the file
kept; one whose settings are a program (Neovim's Lua) is printed only.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS
from llmgw_desktop.engine.api import CLAUDE_CODE_KEY_ENV, CODEX_KEY_ENV, first_answering
from llmgw_desktop.ui.connect import (
    ANY_KEY,
    SERVER_NAME,
    TOKEN_PLACEHOLDER,
    Snippet,
    acp_snippets,
    claude_code_models,
    claude_desktop_config,
    sdk_first_call,
    sdk_snippets,
    snippets,
    stdio_command,
)

__all__ = [
    "CLIENTS",
    "GatewayFacts",
    "Setup",
    "acp_setups",
    "model_call_setups",
    "sdk_setup",
    "setup_for",
]

# The name the ACP agent goes by in an editor's agent panel (`connect.acp_snippets`).
ACP_NAME = "LLM gateway"
# Each coding tool's name, and the provider whose models it asks for by default.
# Each vendor's own models (the built-in list): where its provider lists none of them, it is
# pointed at another server, and a tool's default model is not one that server serves.
_VENDOR_MODELS = {spec.id: frozenset(spec.models) for spec in API_PROVIDERS}
_TOOLS = {
    "claude-code": ("Claude Code", "anthropic"),
    "codex": ("Codex", "openai"),
    "gemini-cli": ("Gemini CLI", "google"),
}


@dataclass(frozen=True)
class GatewayFacts:
    """Where the gateway listens, whether a tool must bring a key, and what answers now."""

    base_url: str  # http://127.0.0.1:3333
    locked: bool  # a token or OAuth is configured: tools send a key
    answering: Mapping[str, tuple[str, ...]]  # provider id -> models that answer, preferred first
    source: str  # where `answering` was learnt: "asked the running gateway", ...
    # The command that prints a short-lived key of a locked gateway (`keys lend`), for a tool
    # that runs one for its credential (Claude Code's `apiKeyHelper`); None: a key is pasted.
    key_helper: str | None = None

    def model_for(self, vendor: str) -> str | None:
        """The model a tool made by `vendor` should ask for: None when `vendor`'s own models
        answer (the tool's default does), else the first model `vendor`'s provider lists (it
        is pointed at another server, which serves none of the vendor's models), else the
        first model of the first provider that answers, or None when nothing does."""
        listed = self.answering.get(vendor)
        if listed is None:
            return first_answering(self.answering)
        if not listed or set(listed) & _VENDOR_MODELS.get(vendor, frozenset(listed)):
            return None
        # `OPENAI_BASE_URL` at a compatible server: Codex's own default is not among its
        # models (a review saw a tool set up for a model such a server did not serve).
        return listed[0]

    def why_named(self, vendor: str) -> str:
        """Why a tool made by `vendor` is told a model (`model_for` named one): `vendor` has
        no key here, or its provider serves none of its models."""
        if self.answering.get(vendor):
            return f"{vendor} is set to a server that lists none of {vendor}'s models"
        return f"no {vendor} key was found"


@dataclass(frozen=True)
class Setup:
    """What to copy (`snippets`), what to know (`notes`), and where `--write` puts the entry
    (None: printed only, `why_not` says why) and how (`entry` applied to the parsed file: a
    JSON object or a tomlkit document)."""

    snippets: tuple[Snippet, ...]
    notes: tuple[str, ...] = ()
    file: Path | None = None
    entry: Callable[[Any], None] | None = None
    why_not: str = ""

    @property
    def lines(self) -> list[str]:
        """As `connect` prints it: each snippet under a comment naming it, then the notes."""
        lines = []
        for snippet in self.snippets:
            where = "a shell" if snippet.where == "shell" else snippet.where
            lines += [f"# {snippet.client}, in {where}:", snippet.text]
        return lines + [f"# {note}" for note in self.notes]


# Claude Code fills its `/model` picker from the gateway's `/v1/models` when this is set.
DISCOVERY_ENV = "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"
# The gateway key whose short-lived secrets Claude Code's `apiKeyHelper` asks for.
LENT_KEY = "claude-code"


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _key(facts: GatewayFacts, token: str | None) -> str:
    """What a tool sends as its key: `token` when given, else the stand-in for the lock."""
    if token is not None:
        return token
    return TOKEN_PLACEHOLDER if facts.locked else ANY_KEY


def _model_note(facts: GatewayFacts, tool: str, model: str | None) -> tuple[str, ...]:
    """Why a model is named (the tool's own vendor answers none of its models here), or that
    none answers yet."""
    name, vendor = _TOOLS[tool]
    if model is not None:
        return (
            f"{name} asks for {vendor} models by default, and {facts.why_named(vendor)} "
            f"({facts.source}): {model} answers instead (GET /v1/models lists the others).",
        )
    if not facts.answering:
        return (
            f"No API key was found ({facts.source}): set one where the gateway runs, or "
            "store one in the vault (the window's Provider keys page).",
        )
    return ()


def _claude_code_env(facts: GatewayFacts, token: str | None) -> dict[str, str]:
    model = facts.model_for("anthropic")
    env = {"ANTHROPIC_BASE_URL": facts.base_url, CLAUDE_CODE_KEY_ENV: _key(facts, token)}
    if model is not None:
        env |= claude_code_models(model)
    return env


def _claude_code_calls(facts: GatewayFacts, token: str | None) -> Setup:
    env = _claude_code_env(facts, token)
    run = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " claude"
    model = facts.model_for("anthropic")
    calls = Snippet("Claude Code (model calls)", "shell", run)
    return Setup((calls,), _model_note(facts, "claude-code", model))


def _claude_code(facts: GatewayFacts) -> Setup:
    calls = _claude_code_calls(facts, None)
    # Its /model picker then lists the gateway's models (`PICKER_NAMESPACE` names the others).
    env = _claude_code_env(facts, None) | {DISCOVERY_ENV: "1"}
    helper = facts.key_helper if facts.locked else None
    if helper is not None:
        # The key comes from the helper, asked again every few minutes: none sits in the file.
        del env[CLAUDE_CODE_KEY_ENV]
    folder = Path(os.environ.get("CLAUDE_CONFIG_DIR") or _home() / ".claude")

    def entry(settings: dict[str, Any]) -> None:
        written = settings.setdefault("env", {})
        # The gateway's key where an earlier write put it, which Claude Code would still offer
        # the person to trust first (and prefer over the bearer token).
        if written.get("ANTHROPIC_API_KEY") in (ANY_KEY, TOKEN_PLACEHOLDER):
            del written["ANTHROPIC_API_KEY"]
        written.update(env)
        if helper is not None:
            written.pop("ANTHROPIC_API_KEY", None)
            written.pop(CLAUDE_CODE_KEY_ENV, None)
            settings["apiKeyHelper"] = helper

    tools = next(s for s in _mcp(facts) if s.client == "Claude Code (stdio)")
    written = ", ".join(env) + (" and apiKeyHelper" if helper else "")
    notes = [f"--write puts {written} in {folder / 'settings.json'} (every claude then goes "
             "through the gateway)."]  # fmt: skip
    if helper is not None:
        notes.append(
            f"Its apiKeyHelper, `{helper}`, prints a key of the gateway key {LENT_KEY} that "
            f"works for 15 minutes (same scope and budget); make that key once with "
            f"`llmgw-desktop keys create {LENT_KEY} --caller claude-code` (add --budget USD)."
        )
    return Setup((*calls.snippets, tools), (*calls.notes, *notes), folder / "settings.json", entry)


def _codex_folder() -> Path:
    return Path(os.environ.get("CODEX_HOME") or _home() / ".codex")


def _codex_provider(facts: GatewayFacts) -> dict[str, Any]:
    return {
        "name": SERVER_NAME,
        "base_url": facts.base_url + "/v1",
        "wire_api": "responses",
        "env_key": CODEX_KEY_ENV,
        "supports_websockets": False,
    }


def _codex_calls(facts: GatewayFacts, token: str | None) -> Setup:
    model = facts.model_for("openai")
    toml = ['model_provider = "llmgw"'] + ([f"model = {json.dumps(model)}"] if model else [])
    toml += ["", "[model_providers.llmgw]"]
    toml += [f"{k} = {json.dumps(v)}" for k, v in _codex_provider(facts).items()]
    config = Snippet("Codex (model calls)", str(_codex_folder() / "config.toml"), "\n".join(toml))
    # Codex reads the key from this variable; outside a git repository `exec` needs the flag.
    run = Snippet(
        "Codex (run it)",
        "shell",
        f"export {CODEX_KEY_ENV}={shlex.quote(_key(facts, token))}\n"
        'codex exec --skip-git-repo-check "say hello" </dev/null',
    )
    return Setup((config, run), _model_note(facts, "codex", model))


def _codex(facts: GatewayFacts) -> Setup:
    calls = _codex_calls(facts, None)
    model = facts.model_for("openai")
    provider = _codex_provider(facts)

    def entry(document: Any) -> None:
        import tomlkit

        document["model_provider"] = "llmgw"
        if model is not None:
            document["model"] = model
        providers = document.setdefault("model_providers", tomlkit.table(is_super_table=True))
        providers["llmgw"] = provider

    tools = next(s for s in _mcp(facts) if s.client == "Codex")
    return Setup((*calls.snippets, tools), calls.notes, _codex_folder() / "config.toml", entry)


def _gemini_cli_calls(facts: GatewayFacts, token: str | None) -> Setup:
    model = facts.model_for("google")
    google = facts.answering.get("google", ())
    chosen = model or (google[0] if google else "gemini-2.5-flash")
    run = Snippet(
        "Gemini CLI (model calls)",
        "shell",
        f"export GOOGLE_GEMINI_BASE_URL={facts.base_url}\n"
        f"export GEMINI_API_KEY={shlex.quote(_key(facts, token))}\n"
        f'gemini -m {shlex.quote(chosen)} -p "say hello"',
    )
    return Setup((run,), _model_note(facts, "gemini-cli", model))


def _gemini_cli(facts: GatewayFacts) -> Setup:
    calls = _gemini_cli_calls(facts, None)
    path = _home() / ".gemini" / "settings.json"

    def entry(settings: dict[str, Any]) -> None:
        auth = settings.setdefault("security", {}).setdefault("auth", {})
        auth["selectedType"] = "gemini-api-key"
        settings.setdefault("mcpServers", {})[SERVER_NAME] = {"httpUrl": facts.base_url + "/mcp"}

    write = f"--write chooses the API-key login and adds the gateway's MCP tools in {path}."
    return Setup(calls.snippets, (*calls.notes, write), path, entry)


def model_call_setups(facts: GatewayFacts, token: str | None = None) -> list[Setup]:
    """The coding tools' model calls through the gateway (Claude Code, Codex, Gemini CLI),
    each sending `token` (None: the stand-in `connect` prints), as `connect` prints them."""
    return [
        _claude_code_calls(facts, token),
        _codex_calls(facts, token),
        _gemini_cli_calls(facts, token),
    ]


def _mcp(facts: GatewayFacts) -> list[Snippet]:
    token = TOKEN_PLACEHOLDER if facts.locked else None
    return snippets(facts.base_url + "/mcp", stdio_command(), token=token)


def _acp(facts: GatewayFacts) -> list[Snippet]:
    """The editors' ACP set-ups, on a model that answers (the catalogue's otherwise)."""
    model = first_answering(facts.answering)
    command = stdio_command()
    return acp_snippets(command) if model is None else acp_snippets(command, model)


def acp_setups(facts: GatewayFacts) -> list[Snippet]:
    """The editors' ACP snippets as `connect zed|jetbrains|neovim` prints them."""
    return _acp(facts)


def _json_client(
    client: str, where: Callable[[], Path], keys: tuple[str, ...]
) -> Callable[[GatewayFacts], Setup]:
    """A client whose set-up is one JSON entry (the Connect page's snippet) at `keys` of the
    file `where()` names."""

    def setup(facts: GatewayFacts) -> Setup:
        path = where()
        found = next(s for s in (*_mcp(facts), *_acp(facts)) if s.client == client)
        value = json.loads(found.text)
        for key in keys:
            value = value[key]

        def entry(settings: dict[str, Any]) -> None:
            place = settings
            for key in keys[:-1]:
                place = place.setdefault(key, {})
            place[keys[-1]] = value

        return Setup((Snippet(found.client, str(path), found.text),), (), path, entry)

    return setup


def _claude_desktop(facts: GatewayFacts) -> Setup:
    """The stdio relay in Claude Desktop's `mcpServers` (its settings file holds local servers
    only; the relay proves the local user, a locked gateway included)."""
    json_entry = _json_client("Claude Desktop", claude_desktop_config, ("mcpServers", SERVER_NAME))
    restart = (
        "Claude Desktop reads this file when it starts: quit it (from its menu, not only its "
        "window) and open it again."
    )
    return replace(json_entry(facts), notes=(restart,))


def _neovim(facts: GatewayFacts) -> Setup:
    lua = next(s for s in _acp(facts) if s.client.startswith("Neovim"))
    return Setup((lua,), why_not="Neovim's settings are a Lua program: add it there by hand")


# The model a first SDK call names when nothing answers yet (the note says to add a key).
FIRST_CALL_FALLBACK = "gpt-4o-mini"


def sdk_setup(facts: GatewayFacts, token: str | None = None) -> Setup:
    """The SDKs' and curl's set-ups sending `token`, and a first call naming a model that
    answers on this machine's keys (OpenAI's own where it answers)."""
    own = facts.answering.get("openai", ())
    model = own[0] if own else facts.model_for("openai")
    notes: tuple[str, ...] = ()
    if model is None:
        model = FIRST_CALL_FALLBACK
        notes = (
            f"No API key was found ({facts.source}): the first call answers once one is set "
            "where the gateway runs, or stored in the vault (the window's Provider keys page).",
        )
    elif not own:
        notes = (
            f"No openai key was found ({facts.source}): the first call asks {model}, which "
            "answers (GET /v1/models lists the others).",
        )
    found = (
        *sdk_snippets(facts.base_url, token=token),
        sdk_first_call(facts.base_url, model, token=token),
    )
    return Setup(found, notes, why_not="an SDK is set up in your own code")


def _sdk(facts: GatewayFacts) -> Setup:
    return sdk_setup(facts, TOKEN_PLACEHOLDER if facts.locked else None)


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
