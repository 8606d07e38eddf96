"""What the attack tests of the same-dialect passthrough share: the gateway they attack, its
remote caller's requests (over aiohttp, or over a raw socket for the bytes aiohttp will not send),
the recorder's newest row, and the request bodies and answers they send.

The gateway is the `gateway` fixture here (`_gateway`), not the one of this directory's
conftest.py (a gateway with no token): a test module imports it with one `noqa: F401` line.
The upstream is `HostileUpstream`: it shows the exact header lines the gateway sent and answers
with whatever bytes a test writes. Requests that need odd bytes on the wire (duplicate names,
non-ASCII values, control characters) go over a raw socket (`raw_exchange`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.hostile_upstream import HostileUpstream, dechunk

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"
TRUSTED_HEADER = "X-Remote-User"
# Bounds, so that a test that goes wrong fails instead of hanging.
ANSWER_TIMEOUT_S = 20.0
ROW_TIMEOUT_S = 5.0

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "hi"}],
}
CHAT_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


MESSAGE_START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [],
            "usage": {"input_tokens": 50, "output_tokens": 1},
        },
    },
)
TEXT_DELTA = sse(
    "content_block_delta",
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
)


@pytest.fixture(name="gateway")
async def _gateway(start_gateway: GatewayFactory, hostile: HostileUpstream) -> GatewayRuntime:
    """The gateway these tests attack, in front of the hostile upstream: only a bearer token
    lets a caller in, and a trusted-principal header is set up (its user alice granted
    project p1, which the header list names)."""
    runtime: GatewayRuntime = await start_gateway(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": TRUSTED_HEADER,
            "projects.grants": {"p1": ["user:alice"]},
        },
    )
    return runtime


def port_of(gateway: GatewayRuntime) -> int:
    return int(gateway.base_url.rsplit(":", 1)[1])


class Exchange:
    """One answer read off a raw socket."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def text(self) -> str:
        lines = "".join(f"{k}: {v}\n" for k, v in self.headers)
        return f"{self.status}\n{lines}\n{self.body.decode('latin-1')}"


async def raw_exchange(
    gateway: GatewayRuntime,
    path: str,
    body: bytes,
    header_lines: list[bytes],
    *,
    length: bool = True,
) -> Exchange:
    """POST `body` with these exact header lines (plus Host, Content-Length and Connection:
    close); the answer after any 1xx."""
    port = port_of(gateway)
    head = [f"POST {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{port}".encode(), *header_lines]
    if length:
        head.append(f"Content-Length: {len(body)}".encode())
    head.append(b"Connection: close")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            data = await reader.read()
    finally:
        writer.close()
    while True:
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
        if status >= 200:
            break
        data = rest
    if any(k.lower() == "transfer-encoding" and "chunked" in v for k, v in headers):
        rest = dechunk(rest)
    return Exchange(status, headers, rest)


async def post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any] | bytes, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(ANSWER_TIMEOUT_S),
        session.post(
            gateway.base_url + path,
            data=data,
            headers={"Content-Type": "application/json", **headers},
        ) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def remote_post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any] | bytes, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """`post` as the remote caller: with the gateway's bearer token."""
    return await post(gateway, path, body, Authorization=f"Bearer {TOKEN}", **headers)


async def last_row(gateway: GatewayRuntime, *, settled: bool = True) -> dict[str, Any]:
    """The newest recorder row; with `settled`, once it has left the "started" state."""
    async with asyncio.timeout(ROW_TIMEOUT_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=1)
            if rows and (not settled or rows[0]["state"] != "started"):
                return rows[0]
            await asyncio.sleep(0.05)


def json_header_lines(headers: list[tuple[str, str]]) -> list[bytes]:
    return [f"{k}: {v}".encode() for k, v in [("Content-Type", "application/json"), *headers]]
