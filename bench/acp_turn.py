"""The gateway's added latency per ACP turn: an editor talking to an agent directly against the
same editor going through `llmgw-desktop acp --agent NAME`, in one run, alternated and repeated.

Usage: python bench/acp_turn.py [--turns 20] [--rounds 5]

The agent is the stand-in `tests/fakes/fake_acp_agent.py` (`answer`: two chunks, at once), so
what is measured is the gateway and the agent's start, not a model. The editor is a plain
newline-delimited JSON-RPC client timing each `session/prompt` to its answer. Three ways, in
turn within each round:

- direct, one agent: the editor starts the agent once and sends every prompt to it (what an
  editor does without the gateway);
- direct, an agent per turn: the editor starts the agent, initializes and opens a session for
  each prompt (what the gateway does for each turn, without the gateway);
- gateway: the editor starts `llmgw-desktop acp --agent bench`, which relays to a headless
  gateway in its own process; each prompt is a job that starts the agent.

The first way against the third is the added latency an editor sees; the second against the
third is the gateway's own share of it (the job, the recorder row, the relay and the socket).

Every agent runs in its own process group and the group is killed once its answers are read:
the stand-in starts a child that sleeps (to show that a group is killed), and that child holds
the agent's stdout open, so waiting for the pipe to close (`communicate()`) would wait for it.
That is why the first version of this bench hung in its first pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAKE = ROOT / "tests" / "fakes" / "fake_acp_agent.py"
READ_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(home: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
    env.update(
        LLM_GATEWAY_CONFIG=f"{home}/config.toml",
        LLM_GATEWAY_DATA_DIR=f"{home}/data",
        LLM_GATEWAY_LOG_DIR=f"{home}/log",
        LLM_GATEWAY_HTTP_PORT=str(port),
    )
    return env


@contextmanager
def headless_gateway() -> Iterator[dict[str, str]]:
    """A headless gateway whose `bench` agent is the stand-in; the environment that finds it."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "config.toml").write_text(
            f'[providers.acp.bench]\ncommand = "{sys.executable}"\n'
            f'args = ["{FAKE}", "answer"]\n\n[providers]\nretry_attempts = 1\n',
            encoding="utf-8",
        )
        port = free_port()
        env = env_for(home, port)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llmgw_desktop", "--headless"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(400):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            yield env
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)


class Editor:
    """An editor's end of one ACP agent process (in its own process group)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._id = 0

    @classmethod
    async def launch(cls, argv: list[str], env: dict[str, str] | None = None) -> Editor:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        return cls(process)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self._id += 1
        line = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        self.process.stdin.write(json.dumps(line).encode() + b"\n")
        await self.process.stdin.drain()
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), READ_TIMEOUT_S)
            if not raw:
                raise ConnectionError(f"the agent ended before answering {method}")
            message = json.loads(raw)
            if message.get("id") == self._id and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    async def open_session(self, cwd: str) -> str:
        await self.request("initialize", {"protocolVersion": 1, "clientInfo": {"name": "bench"}})
        return str((await self.request("session/new", {"cwd": cwd, "mcpServers": []}))["sessionId"])

    async def prompt(self, session: str, text: str) -> float:
        """Seconds from sending the prompt to its answer."""
        started = time.perf_counter()
        prompt = [{"type": "text", "text": text}]
        await self.request("session/prompt", {"sessionId": session, "prompt": prompt})
        return time.perf_counter() - started

    async def close(self) -> None:
        """Close its input, then kill its whole group: a child it left may hold the pipes."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()


AGENT = [sys.executable, str(FAKE), "answer"]


async def direct_one_agent(turns: int, cwd: str) -> list[float]:
    editor = await Editor.launch(AGENT)
    try:
        session = await editor.open_session(cwd)
        return [await editor.prompt(session, f"turn {n}") for n in range(turns)]
    finally:
        await editor.close()


async def direct_agent_per_turn(turns: int, cwd: str) -> list[float]:
    times = []
    for n in range(turns):
        started = time.perf_counter()
        editor = await Editor.launch(AGENT)
        try:
            session = await editor.open_session(cwd)
            await editor.prompt(session, f"turn {n}")
        finally:
            times.append(time.perf_counter() - started)
            await editor.close()
    return times


async def through_gateway(turns: int, cwd: str, env: dict[str, str]) -> list[float]:
    argv = [sys.executable, "-m", "llmgw_desktop", "acp", "--agent", "bench"]
    editor = await Editor.launch(argv, env)
    try:
        session = await editor.open_session(cwd)
        return [await editor.prompt(session, f"turn {n}") for n in range(turns)]
    finally:
        await editor.close()


def summary(label: str, seconds: list[float]) -> float:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    median = statistics.median(ms)
    print(f"  {label:<28} median {median:7.1f} ms  p95 {p95:7.1f} ms  ({len(ms)} turns)")
    return median


async def main(turns: int, rounds: int) -> None:
    with headless_gateway() as env, tempfile.TemporaryDirectory() as cwd:
        await through_gateway(2, cwd, env)  # warm up: the ACP SDK loads at the first editor
        results: dict[str, list[float]] = {"one": [], "per_turn": [], "gateway": []}
        for number in range(rounds):
            # Alternate the order, so a machine that got busier does not favour one way.
            ways = ["one", "per_turn", "gateway"]
            if number % 2:
                ways.reverse()
            for way in ways:
                if way == "one":
                    results[way] += await direct_one_agent(turns, cwd)
                elif way == "per_turn":
                    results[way] += await direct_agent_per_turn(turns, cwd)
                else:
                    results[way] += await through_gateway(turns, cwd, env)
        load = os.getloadavg()
        print(f"ACP turn, stand-in agent, {rounds} rounds x {turns} turns (load {load[0]:.1f})")
        one = summary("direct, one agent", results["one"])
        per_turn = summary("direct, an agent per turn", results["per_turn"])
        gateway = summary("through the gateway", results["gateway"])
        print(f"  added per turn against one agent:       {gateway - one:7.1f} ms")
        print(f"  gateway's own against an agent per turn: {gateway - per_turn:7.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.rounds))
