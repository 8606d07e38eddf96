"""How `llmgw-desktop run TOOL` points a tool at the gateway, for that one process.

`TOOLS` says per tool whose models it asks for by default (`vendor`: when that vendor has no
key here, the tool is told a model that answers, the one `connect` names) and how it is told
the gateway, the key and the model: Claude Code and the Gemini CLI by their variables (the
engine's `tool_environment`, the same convention an editor's ACP agent is pointed with; the
Gemini CLI also by a copy of its system settings choosing the API-key login), Codex
by its `-c` overrides (a `[model_providers]` entry for this run alone, as `connect codex` writes
it in its config and the engine points a job of it), OpenCode by the configuration it reads
from `OPENCODE_CONFIG_CONTENT`. Any other command gets every SDK's variables: OpenAI's,
Anthropic's, Gemini's and Ollama's host, with `LLMGW_API_KEY` and `LLMGW_MODEL` (a model that
answers) for a script of its own.
Variables that would send a tool elsewhere whatever its base URL says (another credential, a
cloud platform) are taken out of its environment.

`launch` runs the tool in this terminal and returns its exit code: Ctrl+C reaches the tool from
the terminal as it would without `run` (this process ignores it), a SIGTERM or SIGHUP sent to
this process is passed on to it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from llmgw_desktop.engine.api import (
    RoutePointing,
    pointed_arguments,
    pointed_environment,
    tool_environment,
)
from llmgw_desktop.ui.connect import SERVER_NAME, claude_code_models

__all__ = ["TOOLS", "Pointing", "Tool", "launch", "tool_for"]


@dataclass(frozen=True)
class Pointing:
    """Where a tool's model calls go for this run."""

    base_url: str  # the gateway: http://127.0.0.1:3333
    key: str  # what the tool sends as its key
    model: str | None  # the model to ask for; None: the tool's own default answers
    scratch: Path  # a folder of this run's own, removed when it ends


def _none(_pointing: Pointing) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Tool:
    """One tool as `run` starts it."""

    name: str  # as a person names it: "Claude Code"
    vendor: str | None  # the provider whose models it asks for by default; None: any
    cli: str | None  # its id in the CLI catalogue (how it is installed); None: not known
    # Its environment pointed at the gateway, from the environment `run` was started in.
    environment: Callable[[Mapping[str, str], Pointing], dict[str, str]]
    # Arguments put before the person's own.
    arguments: Callable[[Pointing], tuple[str, ...]] = field(default=_none)


def _pointed(tool: str, environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    pointed = tool_environment(tool, environment, pointing.base_url, pointing.key)
    assert pointed is not None, f"the engine knows no variables of {tool}"
    return pointed


def _claude(environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    env = _pointed("claude", environment, pointing)
    if pointing.model is not None:
        env |= claude_code_models(pointing.model)
    return env


def _gemini(environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    """The Gemini CLI's variables, and its system settings choosing the API-key login: given
    a base URL alone it takes the login to be a "gateway" one, which it refuses to run
    headless with ("Invalid auth method selected"). The person's own system settings are
    kept in the copy, whose login choice is the only change."""
    env = _pointed("gemini", environment, pointing)
    if pointing.model is not None:
        env["GEMINI_MODEL"] = pointing.model
    own = Path(environment.get(_GEMINI_SYSTEM) or "/etc/gemini-cli/settings.json")
    try:
        settings = json.loads(own.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        settings = {}
    settings = settings if isinstance(settings, dict) else {}
    security = settings.setdefault("security", {})
    if isinstance(security, dict):
        auth = security.setdefault("auth", {})
        if isinstance(auth, dict):
            auth["selectedType"] = "gemini-api-key"
    copy = pointing.scratch / "gemini-system-settings.json"
    copy.write_text(json.dumps(settings), encoding="utf-8")
    env[_GEMINI_SYSTEM] = str(copy)
    return env


# Where the Gemini CLI reads its system settings, which come over the person's own.
_GEMINI_SYSTEM = "GEMINI_CLI_SYSTEM_SETTINGS_PATH"


def _grok(environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    return _pointed("grok", environment, pointing)


def _grok_arguments(pointing: Pointing) -> tuple[str, ...]:
    """Its model, where one is named: otherwise it takes the first the gateway lists."""
    return () if pointing.model is None else ("--model", pointing.model)


def _codex(environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    """Codex's environment as the engine points it (its key for the gateway)."""
    return pointed_environment("codex", environment, _gateway(pointing))


def _codex_arguments(pointing: Pointing) -> tuple[str, ...]:
    """Codex's `-c` overrides: the gateway as its model provider for this run alone (as the
    engine points a job of it; its config file is left as it is), and the model where one is
    named."""
    arguments = pointed_arguments("codex", _gateway(pointing))
    if pointing.model is not None:
        arguments += ("-c", f"model={json.dumps(pointing.model)}")
    return arguments


def _gateway(pointing: Pointing) -> RoutePointing:
    return RoutePointing(pointing.base_url, pointing.key)


def _opencode(environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    """OpenCode's configuration for this run (read before its own files' `provider` entries):
    the gateway as an OpenAI-compatible provider, on the model that answers."""
    model = pointing.model or ""
    config = {
        "provider": {
            "llmgw": {
                "npm": "@ai-sdk/openai-compatible",
                "name": SERVER_NAME,
                "options": {"baseURL": pointing.base_url + "/v1", "apiKey": pointing.key},
                "models": {model: {"name": model}},
            }
        },
        "model": f"llmgw/{model}",
        "small_model": f"llmgw/{model}",
    }
    return {**environment, "OPENCODE_CONFIG_CONTENT": json.dumps(config)}


# What an SDK or script reads that sends it elsewhere whatever its base URL says.
_OTHER_CREDENTIALS = ("ANTHROPIC_AUTH_TOKEN", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI")


def _any(environment: Mapping[str, str], pointing: Pointing) -> dict[str, str]:
    """Every SDK's variables, pointed at the gateway."""
    env = {k: v for k, v in environment.items() if k not in _OTHER_CREDENTIALS}
    env |= {
        "OPENAI_BASE_URL": pointing.base_url + "/v1",
        # Its older name, which aider, LangChain and many tools read instead.
        "OPENAI_API_BASE": pointing.base_url + "/v1",
        "OPENAI_API_KEY": pointing.key,
        "ANTHROPIC_BASE_URL": pointing.base_url,
        "ANTHROPIC_API_KEY": pointing.key,
        "GOOGLE_GEMINI_BASE_URL": pointing.base_url,
        "GEMINI_API_KEY": pointing.key,
        "OLLAMA_HOST": pointing.base_url,
        "LLMGW_API_KEY": pointing.key,
    }
    if pointing.model is not None:
        env["LLMGW_MODEL"] = pointing.model
    return env


TOOLS: dict[str, Tool] = {
    "claude": Tool("Claude Code", "anthropic", "claude", _claude),
    "codex": Tool("Codex", "openai", "codex", _codex, _codex_arguments),
    "gemini": Tool("Gemini CLI", "google", "gemini", _gemini),
    "opencode": Tool("OpenCode", None, "opencode", _opencode),
    "grok": Tool("Grok", "xai", "grok", _grok, _grok_arguments),
}


def tool_for(command: str) -> Tool:
    """How `command` is started: one of `TOOLS` by its name (or a path to it), else as any
    command is (every SDK's variables)."""
    name = command.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".exe")
    known = TOOLS.get(name)
    return known if known is not None else Tool(name, None, None, _any)


def launch(argv: Sequence[str], environment: Mapping[str, str]) -> int:
    """Run `argv` in this terminal with `environment`; its exit code (128 + the signal that
    ended it).

    Raises:
        OSError: it could not be started.
    """
    with _passed_on() as started:
        process = subprocess.Popen(list(argv), env=dict(environment))
        started(process)
        code = process.wait()
    return 128 - code if code < 0 else code


@contextmanager
def _passed_on() -> Iterator[Callable[[subprocess.Popen[bytes]], None]]:
    """While the tool runs: SIGTERM and SIGHUP sent here are sent on to it; SIGINT is left
    to it (the terminal sends Ctrl+C to it as well; a second one would read as two).

    The handlers are in place before the tool starts: a SIGTERM that came between its start
    and theirs would end this process and leave the tool running, orphaned, holding the
    terminal. One that comes before the tool exists is kept and sent on once it does. SIGINT
    is ignored only once it has started, since a child keeps what its parent ignores."""
    if sys.platform == "win32":  # Ctrl+C reaches the console's every process; nothing to pass
        previous_int = signal.getsignal(signal.SIGINT)

        def started_here(_process: subprocess.Popen[bytes]) -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        try:
            yield started_here
        finally:
            signal.signal(signal.SIGINT, previous_int)
        return

    tool: list[subprocess.Popen[bytes]] = []
    early: list[int] = []

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        if tool:
            tool[0].send_signal(signum)
        else:
            early.append(signum)

    def started(process: subprocess.Popen[bytes]) -> None:
        kept[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        tool.append(process)
        for signum in early:
            process.send_signal(signum)

    kept = {signum: signal.signal(signum, pass_on) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield started
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler)
