"""What the upstream-server tests share: the real servers they start, a gateway starter, the
official client as the local user, and the recorder's rows for one server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.conftest import free_port
from tests.gateways import gateway_starter

ROOT = Path(__file__).resolve().parents[3]
SERVERS_BIN = ROOT / ".mcp-servers" / "node_modules" / ".bin"
EVERYTHING = SERVERS_BIN / "mcp-server-everything"
FILESYSTEM = SERVERS_BIN / "mcp-server-filesystem"
# A small server made with the Python SDK's own MCPServer: a tool that ends its own process
# mid-call, one that names its process, one that reports progress, one that adds a tool, one
# that waits to be cancelled; a prompt and resources (tests/fakes/mcp_crasher.py).
CRASHER = ROOT / "tests" / "fakes" / "mcp_crasher.py"
# An OAuth-protected server made with the SDK's server-side auth (tests/fakes/mcp_oauth_server.py).
OAUTH_SERVER = ROOT / "tests" / "fakes" / "mcp_oauth_server.py"

Start = Callable[..., Awaitable[GatewayRuntime]]


def require_servers() -> None:
    if not EVERYTHING.exists() or not FILESYSTEM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the MCP servers are not installed in {SERVERS_BIN} (.ci/run does it)")
        pytest.skip(f"the MCP servers are not installed in {SERVERS_BIN} (see .ci/mcp-servers)")


@asynccontextmanager
async def starting(loaded: LoadedSettings) -> AsyncIterator[Start]:
    """`gateway_starter`, once the npm servers are known to be installed."""
    require_servers()
    async with gateway_starter(loaded) as start_gateway:
        yield start_gateway


def everything(**policy: Any) -> dict[str, Any]:
    return {"command": str(EVERYTHING), "args": ["stdio"], **policy}


def crasher(**policy: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(CRASHER)], **policy}


@asynccontextmanager
async def local_mcp(gateway: GatewayRuntime, **client: Any) -> AsyncIterator[Client]:
    """An MCP session as the local user (loopback, nothing configured); `client` goes to the
    SDK's `Client` (a message handler, say)."""
    async with (
        httpx2.AsyncClient(timeout=120) as http,
        Client(
            streamable_http_client(gateway.mcp_url, http_client=http), mode="legacy", **client
        ) as session,
    ):
        yield session


async def rows(gateway: GatewayRuntime, server: str) -> list[dict[str, Any]]:
    """The recorder's rows of one server's relayed uses, newest first."""
    await gateway.engine.recorder.flush()
    recent = await gateway.engine.recorder.recent(limit=50)
    return [r for r in recent if r["provider"] == f"mcp:{server}"]


@contextmanager
def served_over_http(*args: str) -> Iterator[str]:
    """`python args... PORT` serving MCP on a free loopback port; yields its /mcp URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, *args, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(server, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.kill()
        server.wait(timeout=10)


@contextmanager
def oauth_protected_server() -> Iterator[str]:
    """The OAuth-protected server on a free loopback port; yields its /mcp URL."""
    with served_over_http(str(OAUTH_SERVER)) as url:
        yield url


def wait_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    """Wait (bounded: 400 tries of 50 ms) until `proc` accepts connections on `port`; each
    wait is on the process itself, so a server that dies is reported at once."""
    for _ in range(400):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                return
        except OSError:
            pass
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise AssertionError(f"the server exited: {stderr}")
    raise AssertionError("the server did not start listening")
