"""MCP round trip for a trivial tool over HTTP (both protocols) and stdio, the flight
recorder's sustained write rate, and a tool of the user's own MCP server relayed by the gateway
against the same call made to that server directly.

Usage: python bench/mcp_roundtrip.py [--calls 300] [--records 50000]
                                     [--parts http,stdio,recorder,relay]

The gateway runs as its own process (`--headless`, or `mcp` for stdio), as it would for an
editor; the official MCP client calls `llm_process_health` (no provider, no disk) in a loop.
The recorder part starts and finishes records as fast as the loop allows while the recorder's
own background flush writes them, and reports rows written per second.

The relay part uses the real `@modelcontextprotocol/server-everything` from `.mcp-servers/` (as
.ci/run installs it) over stdio, and its `echo` tool. Direct: the official client starts the
server itself. Relayed: a headless gateway has the server in its config.toml, and the same
client calls `everything__echo` on its /mcp (HTTP, 2025-11-25), so each call crosses the edge,
the access checks, the policy, the recorder and the server's stdio. Direct, relayed, then
direct again, so a machine that got busier shows as a gap between the two direct runs.
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
from contextlib import contextmanager
from pathlib import Path

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
def headless_gateway(config: str = "") -> Iterator[int]:
    """A headless gateway in its own process with `config` as its config.toml; its port."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "config.toml").write_text(config, encoding="utf-8")
        port = free_port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llmgw_desktop", "--headless"],
            env=env_for(home, port),
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
            yield port
        finally:
            gateway.terminate()
            gateway.wait()


async def http_roundtrip(calls: int) -> None:
    with headless_gateway() as port:
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


async def relay_ratio(calls: int) -> None:
    """Direct, relayed in each protocol era, then direct again; with the CPU each process
    spent per call (this client's, the gateway's, the server's), since the ratio of wall
    times hides whose work it is."""
    echo = {"message": "hello"}
    me = psutil.Process()

    async def direct() -> float:
        server = StdioServerParameters(command=str(EVERYTHING), args=["stdio"])
        async with Client(server) as client:
            before = _cpu_s(me)
            median = summary("direct (stdio)", await timed_calls(client, calls, "echo", echo))
            print(f"    client CPU {(_cpu_s(me) - before) / (calls + 10) * 1000:.2f} ms a call")
            return median

    if not EVERYTHING.exists():
        print(f"  relay: skipped, {EVERYTHING} is not installed (see .ci/mcp-servers)")
        return
    first = await direct()
    config = f'[mcp.servers.everything]\ncommand = "{EVERYTHING}"\nargs = ["stdio"]\n'
    through: dict[str, float] = {}
    with headless_gateway(config) as port:
        gateway = next(
            p for p in psutil.Process().children() if "--headless" in " ".join(p.cmdline())
        )
        for mode in ("legacy", "2026-07-28"):
            async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
                await client.call_tool("everything__echo", echo)  # the server is started
                servers = gateway.children(recursive=True)
                spent = (_cpu_s(me), _cpu_s(gateway), sum(_cpu_s(s) for s in servers))
                through[mode] = summary(
                    f"relayed (/mcp, {client.protocol_version})",
                    await timed_calls(client, calls, "everything__echo", echo),
                )
                after = (_cpu_s(me), _cpu_s(gateway), sum(_cpu_s(s) for s in servers))
                client_ms, gateway_ms, server_ms = (
                    (b - a) / (calls + 10) * 1000 for a, b in zip(spent, after, strict=True)
                )
                print(
                    f"    CPU a call: client {client_ms:.2f} ms, gateway {gateway_ms:.2f} ms, "
                    f"server {server_ms:.2f} ms"
                )
    second = await direct()
    base = (first + second) / 2
    for mode, median in through.items():
        print(
            f"  ratio relayed ({mode}) / direct {median / base:.2f}x "
            f"(+{median - base:.2f} ms a call)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--parts", default=",".join(PARTS), help="which parts, comma-separated")
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
        await relay_ratio(args.calls)


if __name__ == "__main__":
    asyncio.run(main())
