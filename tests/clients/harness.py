"""The real vendor CLIs as HTTP clients of a running gateway, in their default configuration.

    CLI  --(its own dialect, pointed at the gateway)-->  gateway  -->  scripted upstream

The gateway's API providers reach the scripted upstream through the usual environment variables
(`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, `GOOGLE_GEMINI_BASE_URL` and their keys), as an existing
setup would. Each CLI is pointed at the gateway the way its documentation tells a user to, with a
private home: nothing else of its configuration is changed. What the upstream received is in
`ScriptedUpstream.requests`, what the CLI printed in `CliRun`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.offline import CLI_BIN, find_cli, private_home
from tests.fakes.upstream import Reply, ScriptedUpstream

CLI_TIMEOUT_S = 150.0
# Any key will do: on loopback with no lock configured the gateway uses its own credentials.
CLIENT_KEY = "sk-client-key-the-gateway-ignores"
# What a model asks a CLI's shell tool to run: only running it prints TOOL-RAN-42.
SHELL_COMMAND = "printf 'TOOL-%s-%s' RAN 42"
# The tool round trip the SDK clients run: the model asks for the weather, then answers.
WEATHER_ARGS = {"city": "Paris"}
SUNNY = "It is sunny."


@dataclass(frozen=True)
class CliRun:
    """One finished CLI run."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return (
            f"{' '.join(self.argv)} exited {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )


@dataclass(frozen=True)
class ShellTool:
    """A CLI's shell tool as a model calls it to run `SHELL_COMMAND`, and the flags the CLI
    needs, headless, to offer it."""

    name: str
    arguments: dict[str, Any]
    flags: tuple[str, ...] = ()


SHELL_TOOLS = {
    "claude": ShellTool("Bash", {"command": SHELL_COMMAND, "description": "print a word"}),
    "codex": ShellTool("exec_command", {"cmd": SHELL_COMMAND}),
    # Headless, the Gemini CLI offers its shell tool only when the user allows it.
    "gemini": ShellTool(
        "run_shell_command",
        {"command": SHELL_COMMAND},
        ("--allowed-tools", "run_shell_command(printf)"),
    ),
    "opencode": ShellTool("bash", {"command": SHELL_COMMAND, "description": "print a word"}),
}


def script_weather_round_trip(upstream: ScriptedUpstream) -> None:
    """The next two calls: a `get_weather` call for Paris, then the answer `SUNNY`."""
    upstream.script(Reply.tool_call("get_weather", WEATHER_ARGS), Reply.ok(SUNNY, verbatim=True))


def assert_answered(run: CliRun, says: str = "FAKE-OK") -> None:
    """The run ended well and printed `says` (the scripted upstream's answer by default)."""
    assert run.returncode == 0, run.explain()
    assert says in run.stdout, run.explain()


async def assert_last_call(
    gateway: GatewayRuntime, *, provider: str, caller: str
) -> dict[str, Any]:
    """The gateway's latest call completed on `provider` for `caller`; its recorder row."""
    (row,) = await gateway.engine.recorder.recent(limit=1)
    assert (row["provider"], row["caller"], row["state"]) == (provider, caller, "completed"), row
    return row


async def assert_served_as_the_bearer(gateway: GatewayRuntime) -> None:
    """The gateway's latest call completed for the holder of its bearer token."""
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["owner_principal"] == "gateway-bearer" and rows[0]["state"] == "completed"


def client_environment(home: Path, gateway_url: str) -> dict[str, str]:
    """The environment a user sets to point each CLI at the gateway, with a private home.

    Outbound traffic other than to loopback goes to a dead proxy, so nothing leaves the machine.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LLM_GATEWAY_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_"))
    }
    env |= private_home(home) | {
        "PATH": os.pathsep.join([str(CLI_BIN), env.get("PATH", "")]),
        # Claude Code: the documented way to use a gateway.
        "ANTHROPIC_BASE_URL": gateway_url,
        "ANTHROPIC_API_KEY": CLIENT_KEY,
        # Gemini CLI: its documented base-URL variable, an API key, and (headless) trust.
        "GOOGLE_GEMINI_BASE_URL": gateway_url,
        "GEMINI_API_KEY": CLIENT_KEY,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        # Codex reads its key from the variable its provider entry names.
        "CODEX_HOME": str(home / ".codex"),
        "GATEWAY_API_KEY": CLIENT_KEY,
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
    }
    _write(home / ".gemini" / "settings.json", json.dumps(_GEMINI_SETTINGS))
    return env


# The Gemini CLI asks which sign-in to use on first start; an API key is the headless choice.
_GEMINI_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}


async def warm_mcp(gateway: GatewayRuntime) -> set[str]:
    """List the gateway's MCP tools once through the official client, as an earlier session
    would have: the tool names. Claude Code 2.1 and Codex 0.169 start a turn without the tools
    of an MCP server that has not answered within their own short wait, and a fresh gateway's
    first MCP request loads the SDK (0.7 s, seconds on a loaded machine) while its first list
    waits for the user's servers to start. Tests about relaying warm it first; the cold start
    is measured on its own (`test_codex_calls_the_gateway_through_the_stdio_relay`)."""
    from tests.mcp_wire import mcp_session

    async with mcp_session(gateway.mcp_url) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


def codex_config(gateway_url: str, *, model: str, mcp_url: str | None = None) -> str:
    """Codex's config.toml with a `[model_providers]` entry for the gateway, as its docs show,
    and optionally an MCP server (the gateway's own `/mcp`), required as docs/connect/codex.md
    says: Codex gives a server it may do without one second before the first turn."""
    text = f'''model = "{model}"
model_provider = "gateway"

[model_providers.gateway]
name = "llmgw-desktop"
base_url = "{gateway_url}/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
'''
    if mcp_url:
        text += f'''
[mcp_servers.llmgw]
url = "{mcp_url}"
required = true
'''
    return text


def opencode_config(gateway_url: str, model: str) -> str:
    """OpenCode's config with an OpenAI-compatible provider for the gateway, as its docs show."""
    config = {
        "provider": {
            "gateway": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "llmgw-desktop",
                "options": {"baseURL": f"{gateway_url}/v1", "apiKey": CLIENT_KEY},
                "models": {model: {"name": model}},
            }
        },
        "model": f"gateway/{model}",
        "small_model": f"gateway/{model}",
        "autoupdate": False,
        "share": "disabled",
    }
    return json.dumps(config)


def write_codex_config(home: Path, text: str) -> None:
    _write(home / ".codex" / "config.toml", text)


def write_opencode_config(home: Path, text: str) -> None:
    _write(home / ".config" / "opencode" / "opencode.json", text)


async def run_cli(
    binary: str,
    *args: str,
    env: Mapping[str, str],
    cwd: Path,
    timeout_s: float = CLI_TIMEOUT_S,
) -> CliRun:
    """Run the installed CLI to the end (stdin closed), bounded in time.

    Raises:
        TimeoutError: it did not finish in time (it is killed first).
    """
    code, out, err = await run_program(
        (find_cli(binary), *args), env=env, cwd=cwd, timeout_s=timeout_s
    )
    return CliRun((binary, *args), code, out, err)


def headless_args(cli: str, prompt: str, model: str | None = None) -> tuple[str, ...]:
    """The arguments that ask `cli` one `prompt` headless, on `model` where it takes one on
    its command line (Codex and OpenCode read theirs from their config file)."""
    if cli == "claude":
        return ("-p", prompt, *(("--model", model) if model else ()))
    if cli == "gemini":
        return (*(("-m", model) if model else ()), "-p", prompt)
    assert model is None, f"{cli} reads its model from its config file"
    if cli == "codex":
        return ("exec", "--skip-git-repo-check", prompt)
    assert cli == "opencode", cli
    return ("run", prompt)


async def say_hello(
    cli: str, model: str | None = None, *, env: Mapping[str, str], cwd: Path
) -> CliRun:
    """Ask `cli` headless to say hello (on `model`, as `headless_args`): the run, which must
    have ended well with the scripted upstream's answer."""
    run = await run_cli(cli, *headless_args(cli, "say hello", model), env=env, cwd=cwd)
    assert_answered(run)
    return run


async def run_shell_round_trip(
    upstream: ScriptedUpstream,
    cli: str,
    model: str | None = None,
    *,
    env: Mapping[str, str],
    cwd: Path,
) -> CliRun:
    """Run `cli` headless (on `model`, as `headless_args`) while the model asks its shell tool
    to run `SHELL_COMMAND`, then answers ALL-DONE: the run, which must have said so."""
    tool = SHELL_TOOLS[cli]
    upstream.script_tool_round_trip(tool.name, tool.arguments)
    args = (*tool.flags, *headless_args(cli, "run the command", model))
    run = await run_cli(cli, *args, env=env, cwd=cwd)
    assert_answered(run, "ALL-DONE")
    return run


async def run_program(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout_s: float
) -> tuple[int, str, str]:
    """Run a program to the end in its own session (stdin closed), bounded in time: its exit
    code (-1 if unknown), stdout and stderr.

    Raises:
        TimeoutError: it did not finish in time (it is killed first).
    """
    cwd.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    code = process.returncode if process.returncode is not None else -1
    return code, out.decode("utf-8", errors="replace"), err.decode("utf-8", errors="replace")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# The bearer token of a locked gateway (start-up wants at least 32 characters).
LOCK_TOKEN = "locked-gateway-token-0123456789-abcdefghij"


@dataclass(frozen=True)
class KeyedGateway:
    """A running gateway, open or locked, and the key a client is given for it: any key on an
    open gateway (it is not used), the gateway's token on a locked one."""

    runtime: GatewayRuntime
    key: str
    locked: bool

    @property
    def label(self) -> str:
        return "locked" if self.locked else "open"
