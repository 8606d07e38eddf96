"""Helpers for the edge attack tests (local-user boundary, lockout, trusted header, slow
clients, content types, token strength): a raw HTTP/1.1 client that sends exactly the bytes
it is given (duplicate headers, no Content-Type, a body one byte at a time), and the gateway
fixtures the tests share.

tests/security has no conftest on purpose, so the fixtures live here: a test module imports
the fixture functions (`_launch` and friends, one `noqa: F401` line) and asks for them by their
fixture names (`launch`, `scripted_upstream`, `provider_keys`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.gateways import gateway_starter
from tests.transports.gateway.conftest import point_providers_at
from tests.transports.gateway.hostile_upstream import dechunk

__all__ = [
    "Launch",
    "RawAnswer",
    "closed_within",
    "open_raw",
    "parse_answer",
    "raw_request",
    "rebound_request",
]

RAW_TIMEOUT_S = 10.0
Launch = Callable[..., Awaitable[GatewayRuntime]]


@pytest.fixture(name="launch")
async def _launch(loaded: LoadedSettings) -> AsyncIterator[Launch]:
    """Start a real gateway with settings overrides (by dotted key) on a free port;
    every one started is stopped after the test."""
    async with gateway_starter(loaded) as launch:
        yield launch


@pytest.fixture(name="scripted_upstream")
async def _scripted_upstream() -> AsyncIterator[ScriptedUpstream]:
    """The scripted fake LLM API (tests/fakes/upstream)."""
    async with ScriptedUpstream() as up:
        yield up


@pytest.fixture(name="provider_keys")
def _provider_keys(scripted_upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """API keys and base URLs pointing the gateway's providers at the scripted upstream (set
    before `launch` builds the engine, which reads them)."""
    point_providers_at(scripted_upstream.base_url, monkeypatch)


@dataclass
class RawAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


async def open_raw(
    gateway: GatewayRuntime, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A plain TCP connection to the gateway, from `source` (any 127.x.y.z on Linux)."""
    return await asyncio.open_connection("127.0.0.1", gateway.http.port, local_addr=(source, 0))


async def held_body(
    gateway: GatewayRuntime, path: str, body: bytes, headers: list[tuple[str, str]]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection POSTing `body` to `path` and stopping halfway: the gateway's handler waits
    for the rest for as long as the connection stays open (close the writer to let go)."""
    reader, writer = await open_raw(gateway)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{gateway.http.port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def raw_request(
    gateway: GatewayRuntime,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    source: str = "127.0.0.1",
    host: str = "",
) -> RawAnswer:
    """Send one request exactly as given (the Host header, `host` or the gateway's address,
    and Content-Length are added, no other header is) and read the whole answer; the
    connection is closed after it."""
    reader, writer = await open_raw(gateway, source)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{gateway.http.port}'}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        # A header's bytes that are not UTF-8 are given as surrogates (as aiohttp reads them).
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), RAW_TIMEOUT_S)
    finally:
        writer.close()
    return parse_answer(raw)


async def rebound_request(
    gateway: GatewayRuntime,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
) -> RawAnswer:
    """`raw_request` as a DNS-rebinding page's browser sends it: to this machine's address,
    under the attacker's name (`Host: rebind.attacker.example`)."""
    return await raw_request(
        gateway, method, path, headers, body, host=f"rebind.attacker.example:{gateway.http.port}"
    )


def parse_answer(raw: bytes) -> RawAnswer:
    """A status, headers and (de-chunked) body from a complete HTTP/1.1 answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in header_lines if ": " in line]
    answer = RawAnswer(int(status_line.split()[1]), [(k, v) for k, v in headers], body)
    if (answer.header("Transfer-Encoding") or "").lower() == "chunked":
        answer.body = dechunk(body)
    return answer


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bool, bytes]:
    """Read until the server closes the connection or `seconds` pass: (closed, bytes read)."""
    deadline = time.monotonic() + seconds
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(4096), left)
        except TimeoutError:
            return False, received
        except ConnectionError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received
