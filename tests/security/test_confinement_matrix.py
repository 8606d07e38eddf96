"""Every agent on every door for every caller has the powers its row of the confinement table
gives, and no more (issue 52).

Door: the MCP tool (`<agent>_request`), the HTTP bridge (`<agent>-cli/MODEL`), ACP over stdio
(`llmgw-desktop acp --agent`, the relay) and the ACP socket (`GET /acp`). Agent: each CLI and
each shipped ACP agent of the catalog (an ACP door runs a CLI's ACP form where one is shipped).
Caller: the local user, a gateway key in a workspace of each level, an OAuth client (in the
default, `edit`, level). The stdio relay proves the local user only (SECURITY 81), so it is run
as the local user. Every agent is the recording stand-in (`tests/fakes/recording_agent.py`)
under its binary's name: what the gateway started is exact; what each real agent then does with
it is tested with the real agents elsewhere (`test_remote_acp_agents.py`, `test_remote_power.py`).

What is asserted, from the table: a remote caller below `bypass` is refused an agent that cannot
be held (`remote_power_refused`, nothing started), and otherwise starts it with its row's flags,
environment and ACP session options, each permission request decided by the grant
(`permission_check.check_request`), what the grant allows put to the editor on the ACP doors.
The local user and a `bypass` workspace start it without the row, their requests put to the
person (the editor, or the desk, absent here). Every ACP agent the gateway can point calls its
models back with a connection key, from every door. A catalog agent without a row fails here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG
from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.connection_keys import CONNECTION_KEY_PREFIX
from llmgw_desktop.engine.auth.principals import INSTANCE_TOKEN_HEADER
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.calls.permission_check import check_request
from llmgw_desktop.engine.providers.acp.gateway_env import RoutePointing, pointed_environment
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk
from llmgw_desktop.engine.providers.base import Held
from llmgw_desktop.engine.providers.confinement import CONFINEMENT, cannot_confine, confined
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.acp.front_sessions import fronted_provider
from tests.fakes.recording_agent import battery
from tests.mcp_wire import mcp_session
from tests.security._oauth_support import code_flow, oauth_settings
from tests.transports.auth.conftest import TOKEN, start  # noqa: F401 - fixture

STAND_IN = Path(__file__).resolve().parents[1] / "fakes" / "recording_agent.py"
AGENTS = SHIPPED_CATALOG.ids
LEVELS = {"read-only": "ro", "edit": "ed", "commands": "cmd", "bypass": "by"}
CALLERS = ("local", *LEVELS, "oauth")
DOORS = ("mcp", "http", "acp-stdio", "acp-socket")
CASES = [(d, c) for d in DOORS for c in CALLERS if d != "acp-stdio" or c == "local"]
_SHIM = """#!{python}
import os, runpy, sys
os.environ["RECORDING_AGENT_LOG"] = {log!r}
os.environ["RECORDING_AGENT_NAME"] = {name!r}
runpy.run_path({stand_in!r}, run_name="__main__")
"""


@dataclass
class Matrix:
    gateway: GatewayRuntime
    root: Path
    log: Path
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def workspace(self, caller: str) -> str | None:
        if caller == "local":
            return None
        return LEVELS.get(caller, "ed")

    def cwd(self, caller: str) -> Path:
        return self.root / (self.workspace(caller) or "local")


@dataclass(frozen=True)
class Expected:
    """What one (door, agent, caller) may do, from the table."""

    provider: str
    refused: str = ""  # the error code of a call refused before anything starts
    held: Held | None = None
    flags: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def expected(door: str, caller: str, agent: str) -> Expected:
    provider = fronted_provider(SHIPPED_CATALOG, agent) if door.startswith("acp") else agent
    level = "edit" if caller == "oauth" else caller
    mode = "plan" if door == "http" else "default"  # the bridge runs its agent read-only
    if caller == "local" or level == "bypass":
        # Not held to a row: the adapter's own flags.
        return Expected(provider)
    if cannot_confine(provider):
        return Expected(provider, refused="remote_power_refused")
    held = confined(provider, mode)
    return Expected(provider, "", Held(level), held.flags, dict(held.env), dict(held.session_meta))


def asked(door: str, want: Expected, cwd: Path) -> dict[str, str]:
    """How the battery's requests are answered: by the grant first where there is one, then by
    the editor on the ACP doors (which allows) or the desk elsewhere (absent: refused)."""
    editor = door.startswith("acp")
    out = {}
    for call in battery(str(cwd)):
        ask = PermissionAsk(
            agent=want.provider,
            session_id="s",
            title=str(call["title"]),
            kind=str(call["kind"]),
            tool_call_id="c",
            detail="",
            options=(),
            locations=tuple(str(p["path"]) for p in call.get("locations", [])),  # type: ignore[attr-defined]
            raw_input=call.get("rawInput"),
        )
        allowed = editor if want.held is None else check_request(ask, want.held, cwd).allowed
        out[ask.title] = "allowed" if allowed else "rejected"
    return out


@pytest.fixture
async def matrix(start: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Matrix:  # noqa: F811
    """A locked gateway (bearer, OAuth) finding the stand-in under every agent's binary name,
    with one workspace per level. It holds an OpenAI key: Qwen Code is told a model that key
    answers, and is refused where none does (the stand-in never calls it)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-matrix-test-key")
    root, bin_dir, log = tmp_path / "ws", tmp_path / "bin", tmp_path / "spawned.jsonl"
    bin_dir.mkdir()
    for binary in {info.binaries[0] for info in SHIPPED_CATALOG}:
        shim = bin_dir / binary
        shim.write_text(
            _SHIM.format(python=sys.executable, log=str(log), name=binary, stand_in=str(STAND_IN))
        )
        shim.chmod(0o755)
    registry = {}
    for level, name in LEVELS.items():
        (root / name).mkdir(parents=True)
        (root / name / "notes.md").write_text("notes")
        registry[name] = {"path": str(root / name), "remote_level": level}
    (root / "local").mkdir()
    gateway = await start(
        {
            **oauth_settings(),
            "http.auth_token": TOKEN,
            "providers.cli_path": [str(bin_dir)],
            "providers.retry_attempts": 1,
            "providers.timeout_ms": 30_000,
            "workspaces.registry": registry,
        }
    )
    made = Matrix(gateway, root, log)
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="matrix"))
    token = (await code_flow(gateway)).json()["access_token"]
    made.headers = {
        "local": {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token},
        **{level: {"Authorization": f"Bearer {key.secret}"} for level in LEVELS},
        "oauth": {"Authorization": f"Bearer {token}"},
    }
    return made


async def _mcp(m: Matrix, caller: str, agent: str) -> str:
    """The call's error code ("" when it ran)."""
    arguments: dict[str, Any] = {"prompt": "say hello"}
    workspace = m.workspace(caller)
    arguments |= {"workspace": workspace} if workspace else {"workingDir": str(m.cwd(caller))}
    async with mcp_session(m.gateway.mcp_url, headers=m.headers[caller], timeout=60) as client:
        result = await client.call_tool(f"{agent}_request", arguments)
    body = result.structured_content or {}
    return str(body.get("error", {}).get("code", "")) if result.is_error else ""


async def _http(m: Matrix, caller: str, agent: str) -> str:
    bridge = SHIPPED_CATALOG.bridge_of(agent)
    model = f"{bridge.id}/{(bridge.models or ('default',))[0]}"
    headers = dict(m.headers[caller])
    if m.workspace(caller):
        headers["X-Workspace"] = str(m.workspace(caller))
    body = {"model": model, "messages": [{"role": "user", "content": "say hello"}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{m.gateway.base_url}/v1/chat/completions", json=body, headers=headers) as r,
    ):
        answer = await r.json(content_type=None)
    error = answer.get("error") if isinstance(answer, dict) else None
    return str(error.get("code", "")) if isinstance(error, dict) else ""


class Editor:
    """An editor on newline-delimited JSON-RPC that allows every permission request."""

    def __init__(self, write: Any, read: Any) -> None:
        self._write, self._read, self._id = write, read, 0

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        await self._write({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        while True:
            got = await self._read()
            if got.get("method") == "session/request_permission":
                answer = {"outcome": {"outcome": "selected", "optionId": "yes"}}
                await self._write({"jsonrpc": "2.0", "id": got["id"], "result": answer})
            elif got.get("id") == self._id and "method" not in got:
                return dict(got)

    async def turn(self, cwd: Path) -> str:
        await self.request("initialize", {"protocolVersion": 1, "clientInfo": {"name": "m"}})
        new = await self.request("session/new", {"cwd": str(cwd), "mcpServers": []})
        if "error" in new:
            return str(new["error"].get("data", {}).get("code", "error"))
        prompt = [{"type": "text", "text": "say hello"}]
        done = await self.request(
            "session/prompt", {"sessionId": new["result"]["sessionId"], "prompt": prompt}
        )
        error = done.get("error")
        return str((error.get("data") or {}).get("code", "error")) if error else ""


async def _socket(m: Matrix, caller: str, agent: str) -> str:
    url = f"{m.gateway.base_url}/acp?agent={agent}"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers=m.headers[caller]) as ws,
    ):
        pending: list[dict[str, Any]] = []

        async def write(message: dict[str, Any]) -> None:
            await ws.send_bytes(json.dumps(message).encode() + b"\n")

        async def read() -> dict[str, Any]:
            while not pending:
                message = await ws.receive(timeout=60)
                pending.extend(json.loads(line) for line in message.data.splitlines())
            return pending.pop(0)

        return await Editor(write, read).turn(m.cwd(caller))


async def _stdio(m: Matrix, caller: str, agent: str) -> str:
    relay = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "llmgw_desktop", "acp", "--agent", agent),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=m.cwd(caller),
    )
    assert relay.stdin is not None and relay.stdout is not None
    stdin, stdout = relay.stdin, relay.stdout

    async def write(message: dict[str, Any]) -> None:
        stdin.write(json.dumps(message).encode() + b"\n")
        await stdin.drain()

    async def read() -> dict[str, Any]:
        line = await asyncio.wait_for(stdout.readline(), 60)
        assert line, "the relay ended"
        return dict(json.loads(line))

    try:
        return await Editor(write, read).turn(m.cwd(caller))
    finally:
        stdin.close()
        await asyncio.wait_for(relay.wait(), 30)


DOOR_CALLS = {"mcp": _mcp, "http": _http, "acp-socket": _socket, "acp-stdio": _stdio}


def _mismatches(
    door: str, caller: str, agent: str, code: str, new: list[dict[str, Any]], m: Matrix
) -> list[str]:
    """What differs between the table's expectation and what the door started."""
    want = expected(door, caller, agent)
    where = f"{door} x {agent} x {caller}"
    if want.refused:
        if code == want.refused and not new:
            return []
        return [f"{where}: not refused as {want.refused} ({code}, {len(new)} spawned)"]
    if len(new) != 1:
        return [f"{where}: {len(new)} spawned ({code})"]
    spawn, problems = new[0], []
    argv, env = spawn["argv"], spawn["env"]
    n = len(want.flags)
    if n and not any(tuple(argv[i : i + n]) == want.flags for i in range(len(argv) - n + 1)):
        problems.append(f"{where}: flags {want.flags} not in {argv}")
    for name, value in want.env.items():
        if env.get(name) != value:
            problems.append(f"{where}: {name}={env.get(name)!r}")
    if want.held is None:
        row = (CONFINEMENT[want.provider].modes or {}).get("default", _NONE)
        for name, value in row.env.items():
            if env.get(name) == value:
                problems.append(f"{where}: the row's {name} on an unconfined run")
    if SHIPPED_CATALOG.info(want.provider).speaks_acp != bool(spawn.get("acp")):
        problems.append(f"{where}: started as {spawn['bin']} {argv}, not as its kind of agent")
    if spawn.get("acp"):
        if spawn.get("meta", {}) != want.meta:
            problems.append(f"{where}: session _meta {spawn.get('meta')} != {want.meta}")
        got, should = spawn.get("asked"), asked(door, want, m.cwd(caller))
        if got != should:
            problems.append(f"{where}: asked {got} != {should}")
        problems += _callback(where, want.provider, env)
    return problems


class _NoRow:
    env: dict[str, str] = {}  # noqa: RUF012


_NONE: Any = _NoRow()


def _callback(where: str, provider: str, env: dict[str, str]) -> list[str]:
    """A problem when an agent the gateway can point does not call back with a connection key."""
    pointed = pointed_environment(provider, {}, RoutePointing("http://gateway", "KEY"))
    names = [name for name, value in pointed.items() if value == "KEY"]
    return [
        f"{where}: {name} is not a connection key"
        for name in names
        if not env.get(name, "").startswith(CONNECTION_KEY_PREFIX)
    ]


def test_every_agent_of_the_catalog_has_a_row_and_every_row_an_agent() -> None:
    assert set(AGENTS) <= set(CONFINEMENT), set(AGENTS) - set(CONFINEMENT)
    assert set(CONFINEMENT) - set(AGENTS) == {"agy"}  # the Gemini adapter's other binary
    docs = (Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md").read_text()
    table = docs.split("## Confinement: one row per agent", 1)[1].split("\n## ", 1)[0]
    for agent in CONFINEMENT:
        assert f"\n| {agent} |" in table, f"docs/ARCHITECTURE.md has no row for {agent}"


@pytest.mark.parametrize(("door", "caller"), CASES)
async def test_each_agent_runs_with_the_powers_of_its_row(
    door: str, caller: str, matrix: Matrix
) -> None:
    problems: list[str] = []
    for agent in AGENTS:
        before = len(matrix.records())
        code = await DOOR_CALLS[door](matrix, caller, agent)
        new = matrix.records()[before:]
        problems += _mismatches(door, caller, agent, code, new, matrix)
    assert problems == [], "\n".join(problems)
