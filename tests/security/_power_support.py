"""What the remote-power tests share: CLIs that record their argv, and callers of each kind.

The gateway runs the real vendor CLIs (pointed at the scripted upstream by
`tests/contract/offline.py`) through a recording shim: a small program under each CLI's name
that writes its command line and the environment variables confinement sets to a log, then
`exec`s the real program. So a test sees exactly what the gateway spawned, and the real CLI
still has to accept it. Mistral Vibe takes ~20 s a call (`test_mistral_vibe.py` runs it): its
shim runs the stand-in `tests/fakes/bin/vibe`, as the other tests do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.providers.cli_login import LOGIN_STATUS
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.offline import ACP_BIN, CLI_BIN, PY_CLI_BIN, find_cli, vibe_stand_in
from tests.fakes.upstream import ScriptedUpstream
from tests.mcp_wire import mcp_session
from tests.security._oauth_support import (
    Browser,
    MemoryStorage,
    static_client_info,
)
from tests.security._oauth_support import sdk_provider as provider_for
from tests.transports.auth.conftest import TOKEN, Start

FAKE_VIBE = Path(__file__).resolve().parents[1] / "fakes" / "bin" / "vibe"
BINARIES = {
    "claude": "claude",
    "codex": "codex",
    "gemini": "gemini",
    "grok": "grok",
    "copilot": "copilot",
    "opencode": "opencode",
    "mistral": "vibe",
}
PROVIDERS = tuple(BINARIES)
# The shipped ACP agents: (binary, the folder it is installed in, the argument that makes it
# speak ACP, or "" where the binary speaks nothing else). Their shims are the CLIs' where they
# share a binary (gemini, opencode).
ACP_AGENTS: dict[str, tuple[str, Path, str]] = {
    "qwen": ("qwen", ACP_BIN, "--acp"),
    "gemini-acp": ("gemini", CLI_BIN, "--acp"),
    "opencode-acp": ("opencode", CLI_BIN, "acp"),
    "claude-acp": ("claude-agent-acp", ACP_BIN, ""),
    "codex-acp": ("codex-acp", ACP_BIN, ""),
}
# What confinement may set in an agent's environment: the shim records these.
WATCHED_ENV = ("OPENCODE_PERMISSION", "OPENCODE_DISABLE_PROJECT_CONFIG")
MODELS = {"gemini": "gemini-2.5-flash", "copilot": "gpt-5.4", "codex": "gpt-5.5"}

# What the gateway starts a CLI with to learn about it, not to call it: its version, and
# whether it is logged in (`providers/cli_login.py`).
PROBES = [
    ["--version"],
    ["-v"],
    # (not Codex's or Vibe's: their files decide, and they are not started to ask)
    *(list(status.args) for status in LOGIN_STATUS.values() if status.args),
]

_SHIM = """#!{python}
# Records how the gateway started {name}, then becomes the real program.
import json, os, sys
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps({{
        "cli": {name!r},
        "argv": sys.argv[1:],
        "env": {{k: os.environ[k] for k in {watched!r} if k in os.environ}},
        "all_env": dict(os.environ),
    }}) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


@dataclass(frozen=True)
class Spawn:
    """One start of a CLI, as its shim saw it."""

    cli: str
    argv: list[str]
    env: dict[str, str]  # what confinement sets (WATCHED_ENV)
    all_env: dict[str, str]  # the whole environment the CLI started with


class RecordingClis:
    """A folder of shims the gateway finds before the real CLIs, and the log they write."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "recording-bin"
        self.log = root / "spawned.jsonl"
        self.bin.mkdir(parents=True)
        shims = {binary: CLI_BIN / binary for binary in BINARIES.values()}
        shims["grok"] = PY_CLI_BIN / "grok"  # xAI's, from the Python registry
        shims |= {binary: where / binary for binary, where, _ in ACP_AGENTS.values()}
        shims["vibe"] = FAKE_VIBE
        for binary, real in shims.items():
            shim = self.bin / binary
            shim.write_text(
                _SHIM.format(
                    python=sys.executable,
                    name=binary,
                    log=str(self.log),
                    watched=WATCHED_ENV,
                    real=str(real),
                )
            )
            shim.chmod(0o755)

    def runs(self, provider: str) -> list[Spawn]:
        """The calls (not version or login probes) the gateway started for `provider` (a CLI
        or an ACP agent), oldest first."""
        if not self.log.exists():
            return []
        spawns = [Spawn(**json.loads(line)) for line in self.log.read_text().splitlines()]
        calls = [s for s in spawns if s.argv not in PROBES]
        if provider in ACP_AGENTS:
            binary, _, speaks = ACP_AGENTS[provider]
            return [s for s in calls if s.cli == binary and (not speaks or speaks in s.argv)]
        acp = {speaks for binary, _, speaks in ACP_AGENTS.values() if binary == BINARIES[provider]}
        return [s for s in calls if s.cli == BINARIES[provider] and not acp.intersection(s.argv)]


class StartRecording(Protocol):
    """`await start_recording(settings, first_on_path=...)` (the fixture): a started gateway and
    the recording CLIs it runs."""

    async def __call__(
        self, settings: Mapping[str, Any] | None = None, *, first_on_path: Sequence[Path] = ()
    ) -> tuple[GatewayRuntime, RecordingClis]: ...


@pytest.fixture
def start_recording(
    start: Start,
    offline: Path,
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> StartRecording:
    """`await start_recording(settings, first_on_path=...)`: a gateway (`start`, with
    `settings`) that finds the recording shims first, after the folders in `first_on_path`;
    the real CLIs pointed at the scripted upstream (`offline`), Mistral Vibe's stand-in too (the
    quickest CLI to run a call end to end); one attempt per call unless `settings` say otherwise.
    Test modules import it with `start` and `offline`, the fixtures it needs."""

    async def run(
        settings: Mapping[str, Any] | None = None, *, first_on_path: Sequence[Path] = ()
    ) -> tuple[GatewayRuntime, RecordingClis]:
        vibe_stand_in(monkeypatch, tmp_path / "vibe", upstream.base_url)
        monkeypatch.setenv("LLMGW_TEST_PYTHON", sys.executable)
        clis = RecordingClis(tmp_path)
        gateway = await start(
            {
                "providers.retry_attempts": 1,
                **(settings or {}),
                "providers.cli_path": [*(str(p) for p in first_on_path), str(clis.bin)],
            }
        )
        return gateway, clis

    return run


@pytest.fixture
async def acp_power(
    start_recording: StartRecording,
    tmp_path: Path,
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[GatewayRuntime, RecordingClis, Path, dict[str, str]]:
    """A locked gateway running the recording agents, with one workspace (`web`, the default
    level) and a gateway key's headers."""
    web = tmp_path / "ws" / "web"
    web.mkdir(parents=True)
    (web / "notes.md").write_text("NOTES-INSIDE-THE-WORKSPACE")
    # Qwen Code speaks OpenAI's chat API from these; Gemini needs its folder trusted headless;
    # Claude Code refuses to run its agent as root without IS_SANDBOX (CI runs as root).
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream.base_url}/v1")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-5.4")
    monkeypatch.setenv("GEMINI_CLI_TRUST_WORKSPACE", "true")
    monkeypatch.setenv("IS_SANDBOX", "1")
    gateway, clis = await start_recording(
        {
            "http.auth_token": TOKEN,
            "providers.timeout_ms": 120_000,
            "providers.kill_grace_ms": 1000,
            "providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}},
            "workspaces.registry": {"web": str(web)},
        }
    )
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="remote-editor"))
    return gateway, clis, web, {"Authorization": f"Bearer {key.secret}"}


# The approval tests' gate: a call scoring this much is denied (the default; set explicitly so
# the tests' expectations do not move with it).
APPROVAL_THRESHOLD = 60


@pytest.fixture
async def approval_gateway(start_recording: StartRecording) -> tuple[GatewayRuntime, RecordingClis]:
    """The recording gateway with its approval gate at `APPROVAL_THRESHOLD` (test modules import
    it with the fixtures it needs: `start_recording`, `start` and `offline`)."""
    return await start_recording({"approval.threshold": APPROVAL_THRESHOLD})


def require(provider: str) -> None:
    """Skip (or fail in CI) where the real CLI or ACP agent is not installed; vibe is always the
    stand-in."""
    if provider in ACP_AGENTS:
        binary, where, _ = ACP_AGENTS[provider]
        find_cli(binary, where)
    elif provider != "mistral":
        find_cli(BINARIES[provider])


def has_flags(argv: list[str], *flags: str) -> bool:
    """Whether `flags` appear in `argv` in this order, next to each other."""
    n = len(flags)
    return any(tuple(argv[i : i + n]) == flags for i in range(len(argv) - n + 1))


@asynccontextmanager
async def oauth_mcp(gateway: GatewayRuntime) -> AsyncIterator[Client]:
    """An MCP session as the OAuth client (scope `mcp`): the `mcp` SDK's own OAuth flow."""
    provider: OAuthClientProvider = provider_for(
        gateway, Browser(), MemoryStorage(static_client_info())
    )
    async with mcp_session(gateway.mcp_url, auth=provider, timeout=120) as client:
        yield client


@asynccontextmanager
async def headers_mcp(gateway: GatewayRuntime, headers: dict[str, str]) -> AsyncIterator[Client]:
    """An MCP session sending `headers` (a bearer token, or the local instance token)."""
    async with mcp_session(gateway.mcp_url, headers=headers, timeout=120) as client:
        yield client


def local_headers(gateway: GatewayRuntime) -> dict[str, str]:
    """What makes a caller the local user: the gateway's instance token."""
    return {"X-Llmgw-Instance-Token": gateway.engine.auth.instance_token}


@asynccontextmanager
async def local_mcp(gateway: GatewayRuntime) -> AsyncIterator[Client]:
    """An MCP session as the local user (`local_headers`)."""
    async with headers_mcp(gateway, local_headers(gateway)) as client:
        yield client


async def request(client: Client, provider: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    """Call `<provider>_request`; (is_error, structured body)."""
    arguments.setdefault("prompt", "say hello")
    if provider in MODELS:
        arguments.setdefault("model", MODELS[provider])
    result = await client.call_tool(f"{provider}_request", arguments)
    assert result.structured_content is not None, result
    return bool(result.is_error), dict(result.structured_content)
