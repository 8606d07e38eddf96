"""MCP round trip for a trivial tool over HTTP (both protocols) and stdio, and the flight
recorder's sustained write rate.

Usage: python bench/mcp_roundtrip.py [--calls 300] [--records 50000]

The gateway runs as its own process (`--headless`, or `mcp` for stdio), as it would for an
editor; the official MCP client calls `llm_process_health` (no provider, no disk) in a loop.
The recorder part starts and finishes records as fast as the loop allows while the recorder's
own background flush writes them, and reports rows written per second.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def summary(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    median = statistics.median(ms)
    print(f"  {label:<28} median {median:6.2f} ms  p95 {p95:6.2f} ms  ({len(ms)} calls)")


async def timed_calls(client: Client, calls: int) -> list[float]:
    for _ in range(10):  # warm up
        await client.call_tool("llm_process_health", {})
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool("llm_process_health", {})
        times.append(time.perf_counter() - started)
        assert not result.is_error
    return times


async def http_roundtrip(calls: int) -> None:
    with tempfile.TemporaryDirectory() as home:
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
            for mode in ("legacy", "2026-07-28"):
                async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
                    summary(
                        f"HTTP, protocol {client.protocol_version}",
                        await timed_calls(client, calls),
                    )
        finally:
            gateway.terminate()
            gateway.wait()


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    await http_roundtrip(args.calls)
    await stdio_roundtrip(args.calls)
    await recorder_rate(args.records)


if __name__ == "__main__":
    asyncio.run(main())
