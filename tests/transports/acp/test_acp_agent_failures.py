"""Failure paths through `llmgw-desktop acp --agent`, replaying what the official TypeScript
editor sends (`tests/fixtures/acp/editor-sends.ndjson`, recorded by `test_acp_agent_front.py`)
against agents that misbehave (the stand-in `tests/fakes/fake_acp_agent.py` under names of their
own): one that crashes mid-turn, one that never answers `initialize`, one that floods updates,
and an editor that vanishes mid-turn; and malformed JSON-RPC from the editor. Each time the
editor gets a clear JSON-RPC error (or the relay just ends), no process of the agent is left,
and the turn's row is ended."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter

FAKE = Path(__file__).resolve().parents[2] / "fakes" / "fake_acp_agent.py"
SENT = Path(__file__).resolve().parents[2] / "fixtures" / "acp" / "editor-sends.ndjson"
BEHAVIOURS = ("crash", "no-init", "flood", "hang")


@pytest.fixture(autouse=True)
async def relays() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Every relay a test started, killed and reaped at its end whatever happened."""
    started: ClassVar[list[asyncio.subprocess.Process]] = []
    Relay.started = started
    yield started
    for process in started:
        if process.returncode is None:
            process.kill()
        await process.wait()


@pytest.fixture
async def gateway(
    loaded: LoadedSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatewayRuntime]:
    monkeypatch.setenv("FAKE_ACP_PIDS", str(tmp_path / "pids"))
    agents = {
        name: {"command": sys.executable, "args": [str(FAKE), name], "env": ["FAKE_ACP_PIDS"]}
        for name in BEHAVIOURS
    }
    async with gateway_starter(loaded) as start:
        yield await start(
            {
                "providers.acp": agents,
                "providers.retry_attempts": 1,
                "providers.timeout_ms": 4000,  # an agent gets this long to answer initialize
                "providers.max_output_bytes": 300_000,
            }
        )


def _editor_lines(cwd: Path) -> list[dict[str, Any]]:
    """What the TypeScript editor sent first: initialize, session/new, the first prompt."""
    text = SENT.read_text(encoding="utf-8").replace("{cwd}", str(cwd))
    return [json.loads(line) for line in text.splitlines()][:3]


class Relay:
    """`llmgw-desktop acp --agent NAME` as an editor launches it."""

    started: ClassVar[list[asyncio.subprocess.Process]] = []

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.started.append(process)

    @classmethod
    async def start(cls, agent: str, cwd: Path) -> Relay:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "llmgw_desktop", "acp", "--agent", agent),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
        )
        return cls(process)

    async def send(self, message: dict[str, Any] | str) -> None:
        assert self.process.stdin is not None
        line = message if isinstance(message, str) else json.dumps(message)
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def answer_to(self, ident: Any) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), 60)
            assert line, "the relay ended without answering"
            message = json.loads(line)
            if message.get("id") == ident and "method" not in message:
                return dict(message)

    async def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return await asyncio.wait_for(self.process.wait(), 30)

    async def prompt(self, cwd: Path) -> dict[str, Any]:
        """The editor's first three messages; the answer to its prompt."""
        initialize, new, prompt = _editor_lines(cwd)
        await self.send(initialize)
        await self.answer_to(initialize["id"])
        await self.send(new)
        session = (await self.answer_to(new["id"]))["result"]["sessionId"]
        prompt["params"]["sessionId"] = session
        await self.send(prompt)
        return await self.answer_to(prompt["id"])


def _left(pids_file: Path) -> list[int]:
    """The agent's processes (and their children) still running."""
    pids = [int(p) for p in pids_file.read_text().split()] if pids_file.exists() else []
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


async def _row(gateway: GatewayRuntime, provider: str) -> dict[str, Any]:
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=20)
    return next(r for r in rows if r["provider"] == provider)


@pytest.mark.parametrize(
    ("agent", "said", "code"),
    [
        ("crash", "the agent stopped mid-turn", "provider_error"),
        ("no-init", "did not answer initialize", "timeout"),
        ("flood", "more than the output limit", "output_overflow"),
    ],
)
async def test_a_failing_agent_is_a_clear_error_nothing_left_and_an_ended_row(
    gateway: GatewayRuntime, tmp_path: Path, agent: str, said: str, code: str
) -> None:
    relay = await Relay.start(agent, tmp_path)
    answer = await relay.prompt(tmp_path)
    assert answer["error"]["code"] == -32000, answer
    assert said in answer["error"]["message"], answer
    assert answer["error"]["data"]["code"] == code, answer
    assert await relay.close() == 0
    assert _left(tmp_path / "pids") == []
    row = await _row(gateway, agent)
    assert (row["state"], row["error_code"], row["caller"]) == ("failed", code, "zed")


async def test_an_editor_that_vanishes_mid_turn_stops_the_agent_and_ends_the_row(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    relay = await Relay.start("hang", tmp_path)
    initialize, new, prompt = _editor_lines(tmp_path)
    await relay.send(initialize)
    await relay.answer_to(initialize["id"])
    await relay.send(new)
    prompt["params"]["sessionId"] = (await relay.answer_to(new["id"]))["result"]["sessionId"]
    await relay.send(prompt)
    async with asyncio.timeout(30):
        while not _left(tmp_path / "pids"):  # noqa: ASYNC110 - the agent reports by file
            await asyncio.sleep(0.05)
    os.kill(relay.process.pid, signal.SIGKILL)  # the editor and its relay are gone
    await relay.process.wait()
    async with asyncio.timeout(30):
        while _left(tmp_path / "pids") or (await _row(gateway, "hang"))["state"] == "started":  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    row = await _row(gateway, "hang")
    assert row["state"] == "canceled", (row["error_code"], row)


async def test_malformed_json_rpc_from_the_editor_gets_json_rpc_errors_and_the_agent_goes_on(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    relay = await Relay.start("hang", tmp_path)
    await relay.send("this is not json")
    first = await relay.answer_to(None)
    assert first["error"]["code"] == -32700 and "not JSON" in first["error"]["message"]
    await relay.send('{"id": 7, "method": "initialize"}')
    assert (await relay.answer_to(7))["error"]["code"] == -32600
    initialize = _editor_lines(tmp_path)[0]
    await relay.send(initialize)
    assert (await relay.answer_to(initialize["id"]))["result"]["protocolVersion"] == 1
    assert await relay.close() == 0


async def test_an_unknown_agent_is_named_to_the_editor(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    relay = await Relay.start("nobody", tmp_path)
    initialize = _editor_lines(tmp_path)[0]
    await relay.send(initialize)
    answer = await relay.answer_to(initialize["id"])
    assert "no agent 'nobody'" in answer["error"]["message"]
    assert await relay.close() == 1
