"""Finding 17 (issue 26, item 7): a request body without a length grew without bound.

A body declared too long was refused at the edge, but one sent chunked (no Content-Length)
to `/mcp` was read whole before the MCP SDK saw it: 200 MiB raised the gateway's memory to
677 MiB. The dialect routes stopped at `http.max_body_bytes` but answered in the native
envelope, not the one their clients parse. Now every route stops reading at the cap and answers
413 in its own dialect, naming the setting.

"While reading, not after" is tested without measuring memory: the body is sent chunked past the
cap and never finished; a gateway that read to the end before judging would never answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.sdk_clients import claude_client
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
    open_raw,
    parse_answer,
    raw_request,
)

CAP = 256 * 1024
PIECE = 64 * 1024
ANSWER_TIMEOUT_S = 10.0
SETTING = "http.max_body_bytes"


def anthropic_message(body: Any) -> str:
    assert body["type"] == "error", body
    return str(body["error"]["message"])


def gemini_message(body: Any) -> str:
    assert body["error"]["code"] == 413, body
    return str(body["error"]["message"])


def openai_message(body: Any) -> str:
    assert body["error"]["code"] == "body_too_large", body
    return str(body["error"]["message"])


# Path, and how its clients read an error's message (each dialect's own envelope).
ROUTES = {
    "/v1/chat/completions": openai_message,
    "/v1/responses": openai_message,
    "/v1/messages": anthropic_message,
    "/v1beta/models/gemini-2.5-flash:generateContent": gemini_message,
    "/mcp": openai_message,  # the gateway's native envelope, as every MCP edge refusal
}


async def unfinished_chunked_post(gateway: GatewayRuntime, path: str) -> bytes:
    """POST a chunked body past the cap and never end it; the answer, or b"" on a timeout."""
    reader, writer = await open_raw(gateway)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{gateway.http.port}",
        "Content-Type: application/json",
        "Accept: application/json, text/event-stream",
        "Transfer-Encoding: chunked",
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    piece = f"{PIECE:x}\r\n".encode() + b" " * PIECE + b"\r\n"
    received = b""
    try:
        for _ in range(2 * CAP // PIECE):
            writer.write(piece)
            await writer.drain()
        # Never the last chunk: only a gateway that judges while reading can answer now.
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            while b"\r\n\r\n" not in received or not received.endswith(b"}"):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                received += chunk
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
    return received


@pytest.mark.parametrize("path", list(ROUTES))
async def test_unending_chunked_body_is_refused_at_the_cap(launch: Launch, path: str) -> None:
    gateway = await launch({"http.max_body_bytes": CAP})
    raw = await unfinished_chunked_post(gateway, path)
    assert raw, f"{path}: no answer while the body was still coming"
    answer = parse_answer(raw)
    assert answer.status == 413, raw[:300]
    message = ROUTES[path](json.loads(answer.body))
    assert SETTING in message and str(CAP) in message, message


@pytest.mark.parametrize("path", list(ROUTES))
async def test_declared_long_body_is_refused_in_the_route_dialect(
    launch: Launch, path: str
) -> None:
    gateway = await launch({"http.max_body_bytes": CAP})
    body = b"{" + b" " * CAP + b"}"
    answer = await raw_request(gateway, "POST", path, [("Content-Type", "application/json")], body)
    assert answer.status == 413
    message = ROUTES[path](answer.json())
    assert SETTING in message and str(CAP) in message, message


async def test_body_under_the_cap_is_served(launch: Launch, provider_keys: None) -> None:
    gateway = await launch({"http.max_body_bytes": CAP})
    client = claude_client(gateway)
    text = "a" * (CAP // 2)
    answer = await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": text}]
    )
    assert answer.content
