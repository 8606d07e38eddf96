"""MCP round trip for a trivial tool over HTTP (both protocols) and stdio, the flight
recorder's sustained write rate, and a tool of the user's own MCP server relayed by the gateway
against the same call made to that server directly.

Usage: python bench/mcp_roundtrip.py [--calls 300] [--records 50000]
                                     [--parts http,stdio,recorder,relay] [--baseline DIR]

The gateway runs as its own process (`--headless`, or `mcp` for stdio), as it would for an
editor; the official MCP client calls `llm_process_health` (no provider, no disk) in a loop.
The recorder part starts and finishes records as fast as the loop allows while the recorder's
own background flush writes them, and reports rows written per second.

The relay part uses the real `@modelcontextprotocol/server-everything` from `.mcp-servers/` (as
.ci/run installs it) over stdio, and its `echo` tool. Direct: the official client starts the
server itself. Relayed: a headless gateway has the server in its config.toml, and the same
client calls `everything__echo` through it, in both protocol eras and by both client paths:
on its /mcp (Streamable HTTP), and over stdio to `llmgw-desktop mcp` (the relay editors
launch, which forwards to /mcp), so each call crosses the edge, the access checks, the
policy, the recorder and the server's stdio. Direct, relayed, then direct again, so a machine
that got busier shows as a gap between the two direct runs. `--baseline DIR` (a checkout of an
earlier commit: `git worktree add --detach DIR COMMIT`, or `git archive COMMIT | tar -x -C DIR`)
relays through that tree's gateway and stdio relay too, in the same turns, so the two commits'
ratios come from one run on a machine whose load moves.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVERYTHING = ROOT / ".mcp-servers" / "node_modules" / ".bin" / "mcp-server-everything"
PARTS = ("http", "stdio", "recorder", "relay")

from mcp import Client, StdioServerParameters  # noqa: E402

from llmgw_desktop.engine.recorder import FlightRecorder  # noqa: E402
from llmgw_desktop.engine.store import Database  # noqa: E402


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


def summary(label: str, seconds: list[float]) -> float:
    """Print the median and p95 of `seconds` in ms; returns the median."""
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    median = statistics.median(ms)
    print(f"  {label:<28} median {median:6.2f} ms  p95 {p95:6.2f} ms  ({len(ms)} calls)")
    return median


async def timed_calls(
    client: Client, calls: int, tool: str = "llm_process_health", arguments: dict | None = None
) -> list[float]:
    for _ in range(10):  # warm up
        await client.call_tool(tool, arguments or {})
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool(tool, arguments or {})
        times.append(time.perf_counter() - started)
        assert not result.is_error, result
    return times


@contextmanager
def headless_gateway(config: str = "", tree: Path = ROOT) -> Iterator[tuple[int, dict[str, str]]]:
    """A headless gateway of checkout `tree` in its own process with `config` as its
    config.toml; its port and the environment that finds it (what `llmgw-desktop mcp` needs
    to relay to it)."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "config.toml").write_text(config, encoding="utf-8")
        port = free_port()
        env = env_for(home, port)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llmgw_desktop", "--headless"],
            env=env,
            cwd=tree,  # `-m` finds the package of the working directory first
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            yield port, env
        finally:
            gateway.terminate()
            gateway.wait()


async def http_roundtrip(calls: int) -> None:
    with headless_gateway() as (port, _):
        for mode in ("legacy", "2026-07-28"):
            async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
                summary(
                    f"HTTP, protocol {client.protocol_version}",
                    await timed_calls(client, calls),
                )


async def stdio_roundtrip(calls: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "llmgw_desktop", "mcp"],
            env=env_for(home, free_port()),
        )
        for mode in ("legacy", "2026-07-28"):
            async with Client(params, mode=mode) as client:
                summary(
                    f"stdio, protocol {client.protocol_version}", await timed_calls(client, calls)
                )


async def recorder_rate(records: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        db = Database(Path(home) / "bench.db")
        await db.open()
        recorder = FlightRecorder(db)
        flushing = asyncio.get_running_loop().create_task(recorder.run_forever())
        started = time.perf_counter()
        peak = 0
        for n in range(records):
            record = recorder.start(principal="local", provider="claude", tool="claude_request")
            recorder.finish(record, state="completed", input_tokens=n, cache_read_tokens=200)
            if n % 500 == 0:
                peak = max(peak, recorder.pending)
                await asyncio.sleep(0)  # let the flush run, as real traffic would
        await recorder.flush()
        elapsed = time.perf_counter() - started
        flushing.cancel()
        await asyncio.gather(flushing, return_exceptions=True)
        await db.close()
        print(
            f"  recorder: {records} records written in {elapsed:.2f} s = "
            f"{records / elapsed:,.0f} records/s (peak pending {peak})"
        )


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


# Calls per turn when the relay part interleaves its clients (each turn one block per client).
RELAY_BLOCK = 10


@dataclass
class RelayPath:
    """One way of calling the everything server's `echo`, and the processes that serve it."""

    label: str
    client: Any
    relays: list[psutil.Process]  # the stdio relay of this path (none for the others)
    servers: list[psutil.Process]  # the everything server(s) it reaches
    gateway: psutil.Process | None
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    def spent(self, me: psutil.Process) -> tuple[float, float, float, float]:
        """CPU seconds so far of this client, its relay, the gateway and the server(s)."""
        return (
            _cpu_s(me),
            sum(_cpu_s(r) for r in self.relays),
            _cpu_s(self.gateway) if self.gateway is not None else 0.0,
            sum(_cpu_s(s) for s in self.servers),
        )


async def relay_ratio(calls: int, baseline: Path | None = None) -> None:
    """A direct stdio call of the everything server's `echo` against the same call relayed by
    the gateway, in each protocol era and by each client path: the official client over
    Streamable HTTP to /mcp, and over stdio to `llmgw-desktop mcp` (the relay an editor
    launches, which forwards each message to /mcp on loopback). Every client is open at once
    and they take turns, RELAY_BLOCK calls each, so a machine whose load moves weighs on all
    alike; with the CPU each process spent per call (client, stdio relay, gateway, server),
    since the ratio of wall times hides whose work it is. With `baseline`, that checkout's
    gateway and relay are measured in the same turns."""
    if not EVERYTHING.exists():
        print(f"  relay: skipped, {EVERYTHING} is not installed (see .ci/mcp-servers)")
        return
    echo = {"message": "hello"}
    me = psutil.Process()
    config = f'[mcp.servers.everything]\ncommand = "{EVERYTHING}"\nargs = ["stdio"]\n'
    trees = [("", ROOT)] if baseline is None else [("baseline ", baseline), ("current ", ROOT)]
    async with AsyncExitStack() as stack:
        before = set(me.children())
        direct = await stack.enter_async_context(
            Client(StdioServerParameters(command=str(EVERYTHING), args=["stdio"]))
        )
        own = [p for p in me.children(recursive=True) if p not in before]
        paths = [RelayPath("direct (stdio)", direct, [], own, None)]
        for name, tree in trees:
            before = set(me.children())
            port, env = stack.enter_context(headless_gateway(config, tree))
            (gateway,) = [p for p in me.children() if p not in before]
            relay = StdioServerParameters(
                command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=env, cwd=tree
            )
            for way, target in (("/mcp", f"http://127.0.0.1:{port}/mcp"), ("stdio relay", relay)):
                for mode in ("legacy", "2026-07-28"):
                    before = set(me.children())
                    client = await stack.enter_async_context(Client(target, mode=mode))
                    await client.call_tool("everything__echo", echo)  # the server is started
                    relays = [p for p in me.children() if p not in before]
                    label = f"{name}relayed ({way}, {client.protocol_version})"
                    servers = gateway.children(recursive=True)
                    paths.append(RelayPath(label, client, relays, servers, gateway))
        for path in paths:  # warm up
            tool = "echo" if path.gateway is None else "everything__echo"
            for _ in range(RELAY_BLOCK):
                await path.client.call_tool(tool, echo)
        for turn in range(max(1, calls // RELAY_BLOCK)):
            order = paths[turn % len(paths) :] + paths[: turn % len(paths)]
            for path in order:
                await _relay_block(path, me, echo)
    direct_ms = statistics.median(paths[0].times) * 1000
    for path in paths:
        median = summary(path.label, path.times)
        done = len(path.times)
        client_ms, relay_ms, gateway_ms, server_ms = (c / done * 1000 for c in path.cpu)
        parts = [f"client {client_ms:.2f} ms"]
        if path.relays:
            parts.append(f"relay {relay_ms:.2f} ms")
        if path.gateway is not None:
            parts.append(f"gateway {gateway_ms:.2f} ms")
        parts.append(f"server {server_ms:.2f} ms")
        total = client_ms + relay_ms + gateway_ms + server_ms
        print(f"    CPU a call: {', '.join(parts)} (together {total:.2f} ms)")
        if path.gateway is not None:
            print(f"    ratio to direct {median / direct_ms:.2f}x (+{median - direct_ms:.2f} ms)")


async def _relay_block(path: RelayPath, me: psutil.Process, echo: dict[str, str]) -> None:
    tool = "echo" if path.gateway is None else "everything__echo"
    spent = path.spent(me)
    for _ in range(RELAY_BLOCK):
        started = time.perf_counter()
        result = await path.client.call_tool(tool, echo)
        path.times.append(time.perf_counter() - started)
        assert not result.is_error, result
    for n, (before, after) in enumerate(zip(spent, path.spent(me), strict=True)):
        path.cpu[n] += after - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--parts", default=",".join(PARTS), help="which parts, comma-separated")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also relay through this checkout's gateway (an earlier commit), in the same run",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        parser.error(f"--parts: unknown {sorted(parts - set(PARTS))}; known: {', '.join(PARTS)}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    if "http" in parts:
        await http_roundtrip(args.calls)
    if "stdio" in parts:
        await stdio_roundtrip(args.calls)
    if "recorder" in parts:
        await recorder_rate(args.records)
    if "relay" in parts:
        await relay_ratio(args.calls, args.baseline)


if __name__ == "__main__":
    asyncio.run(main())
