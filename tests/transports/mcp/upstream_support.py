"""What the upstream-server tests share: the real servers they start, a gateway starter, the
official client as the local user, plain-HTTP sessions of both protocol eras (so a test sees
what the wire carries), a server whose stdin is copied to a file, and the recorder's rows for
one server."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.ports import free_port

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

JSON_AND_EVENTS = {"Accept": "application/json, text/event-stream"}
MODERN = "2026-07-28"


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


# The reference server's echo tool, as a `tools/call`'s params.
ECHO = {"name": "everything__echo", "arguments": {"message": "hi"}}
# What two rows of the same call must share (their ids, times and durations differ).
ROW_FIELDS = ("provider", "tool", "caller", "transport", "state", "error_code", "route")


def kinds_of_row(recorded: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    """The distinct `ROW_FIELDS` of `recorded`: one where the rows record the same call."""
    return {tuple(str(r[f]) for f in ROW_FIELDS) for r in recorded}


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


def jsonrpc(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


async def _reply(reply: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]]:
    """The reply's Content-Type and the JSON-RPC response it carries (the last event of a
    stream)."""
    kind, text = reply.headers["Content-Type"], await reply.text()
    if kind.startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        return kind, json.loads(data[-1])
    return kind, json.loads(text)


class RawSession:
    """A 2025-era MCP session over plain HTTP, as the local user."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.headers: dict[str, str] = dict(JSON_AND_EVENTS)

    async def open(self, client: str) -> None:
        params = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": client, "version": "1"},
        }
        async with self.http.post(self.url, json=jsonrpc(0, "initialize", params)) as reply:
            assert reply.status == 200
            self.headers["Mcp-Session-Id"] = reply.headers["Mcp-Session-Id"]
            # As the official clients do: read the result, then hang up without waiting for
            # the event stream's end (the gateway's handler is then cancelled).
            async for line in reply.content:
                if line.startswith(b"data:"):
                    break
            reply.close()
        self.headers["MCP-Protocol-Version"] = "2025-11-25"
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        async with self.http.post(self.url, json=initialized, headers=self.headers) as reply:
            assert reply.status == 202

    async def post(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The reply's Content-Type and the JSON-RPC response it carries."""
        async with self.http.post(self.url, json=message, headers=self.headers) as reply:
            return await _reply(reply)


class ModernClient:
    """2026-07-28 requests over plain HTTP, as the local user: each carries its envelope
    (`_meta`) and the routing headers that era requires."""

    def __init__(self, http: aiohttp.ClientSession, url: str, client: str) -> None:
        self.http, self.url, self.client = http, url, client

    def message(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": self.client, "version": "1"},
            **params.get("_meta", {}),
        }
        return jsonrpc(request_id, method, {**params, "_meta": meta})

    def headers(self, message: dict[str, Any]) -> dict[str, str]:
        headers = {**JSON_AND_EVENTS, "MCP-Protocol-Version": MODERN}
        headers["Mcp-Method"] = message["method"]
        name = message["params"].get("name")
        if isinstance(name, str):
            headers["Mcp-Name"] = name
        return headers

    async def post(
        self, message: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, Any]]:
        """The reply's status, Content-Type and the JSON-RPC response it carries."""
        sent = headers if headers is not None else self.headers(message)
        async with self.http.post(self.url, json=message, headers=sent) as reply:
            kind, answer = await _reply(reply)
            return reply.status, kind, answer


def teed(server: dict[str, Any], log: Path) -> dict[str, Any]:
    """`server` (a stdio server's config) with what the gateway writes to its stdin copied
    into `log` (by `tee`), so a test can read what reached it."""
    tee = shutil.which("tee")
    assert tee is not None, "tee (coreutils) is needed to watch a server's stdin"
    argv = " ".join(shlex.quote(part) for part in (server["command"], *server.get("args", [])))
    pipeline = f"{shlex.quote(tee)} {shlex.quote(str(log))} | {argv}"
    return {**server, "command": "sh", "args": ["-c", pipeline]}


def sent(log: Path) -> list[dict[str, Any]]:
    """The JSON-RPC messages the gateway has written to the server so far."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
