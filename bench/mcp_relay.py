"""A tool call relayed through the gateway to one of the user's MCP servers, against the same
call made to that server directly, in one run.

Usage: python bench/mcp_relay.py [--calls 300]

The server is the real `@modelcontextprotocol/server-everything` from `.mcp-servers/` (as
.ci/run installs it), over stdio, and the tool its `echo`. Direct: the official MCP client
starts the server itself. Relayed: a headless gateway in its own process has the server in its
config.toml, and the same client calls `everything__echo` on the gateway's /mcp over HTTP
(2025-11-25), so each call crosses the edge, the access checks, the recorder and the server's
stdio. Direct, relayed, then direct again, so a machine that got busier shows as a gap between
the two direct runs.
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
EVERYTHING = ROOT / ".mcp-servers" / "node_modules" / ".bin" / "mcp-server-everything"

from mcp import Client, StdioServerParameters  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def timed(client: Client, tool: str, calls: int) -> float:
    """The median milliseconds of `calls` calls of `tool` after a warm-up."""
    for _ in range(10):
        await client.call_tool(tool, {"message": "warm"})
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool(tool, {"message": "hello"})
        times.append(time.perf_counter() - started)
        assert not result.is_error, result
    return statistics.median(times) * 1000


async def direct(calls: int) -> float:
    async with Client(StdioServerParameters(command=str(EVERYTHING), args=["stdio"])) as client:
        return await timed(client, "echo", calls)


async def relayed(calls: int) -> float:
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        Path(home, "config.toml").write_text(
            f'[mcp.servers.everything]\ncommand = "{EVERYTHING}"\nargs = ["stdio"]\n',
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY_")}
        env.update(
            LLM_GATEWAY_CONFIG=f"{home}/config.toml",
            LLM_GATEWAY_DATA_DIR=f"{home}/data",
            LLM_GATEWAY_LOG_DIR=f"{home}/log",
            LLM_GATEWAY_HTTP_PORT=str(port),
        )
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llmgw_desktop", "--headless"],
            env=env,
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
            async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as client:
                return await timed(client, "everything__echo", calls)
        finally:
            gateway.terminate()
            gateway.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    calls = parser.parse_args().calls
    first = await direct(calls)
    through = await relayed(calls)
    second = await direct(calls)
    base = (first + second) / 2
    print(f"  direct (stdio)          median {first:6.2f} ms, again {second:6.2f} ms")
    print(f"  relayed (gateway /mcp)  median {through:6.2f} ms")
    print(f"  ratio relayed / direct  {through / base:.2f}x (+{through - base:.2f} ms a call)")


if __name__ == "__main__":
    asyncio.run(main())
