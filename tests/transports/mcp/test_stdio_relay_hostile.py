"""The stdio relay against a hostile server on loopback: every bad reply ends in a JSON-RPC
error for the editor's request, bounded in time and memory, never a hang or a lost request."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from llmgw_desktop.transports.mcp.stdio_forward import GATEWAY_GONE, StdioForwarder
from tests.fakes.loopback import answering_with
from tests.transports.mcp.relay_editor import Editor

OK_JSON = b'{"jsonrpc":"2.0","id":1,"result":{}}'

HOSTILE = {
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: -5\r\n\r\n" + OK_JSON,
    "length not a number": b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n" + OK_JSON,
    "negative chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n",
    "chunk size not hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "chunk cut short": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfff\r\nab",
    "header flood": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 10_000 + b"\r\n",
    "one huge header": b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * (2 * 1024 * 1024) + b"\r\n\r\n",
    "redirect elsewhere": b"HTTP/1.1 302 Found\r\nLocation: http://example.com/mcp\r\n"
    b"Content-Length: 0\r\n\r\n",
    "not http": b"SSH-2.0-OpenSSH_9.6\r\n",
    "nothing": b"",
    "status not a number": b"HTTP/1.1 abc OK\r\n\r\n",
    "body not json": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
}


async def relay_against(raw: bytes) -> list[dict[str, Any]]:
    stdin = asyncio.StreamReader()
    stdin.feed_data(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode())
    stdin.feed_data(b"\n")
    stdin.feed_eof()
    editor = Editor()
    async with answering_with(raw) as port:
        await asyncio.wait_for(
            StdioForwarder(f"http://127.0.0.1:{port}/mcp").run(stdin, editor), 10
        )
    return editor.lines


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
async def test_a_hostile_reply_is_an_error_for_the_editor(raw: bytes) -> None:
    (answer,) = await relay_against(raw)
    assert answer["id"] == 1 and answer["error"]["code"] == GATEWAY_GONE, answer


async def test_a_good_reply_is_relayed() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
    assert await relay_against(raw % (len(OK_JSON), OK_JSON)) == [json.loads(OK_JSON)]


async def test_the_auth_edges_refusal_is_a_json_rpc_error_naming_it() -> None:
    # A 401 envelope is not a JSON-RPC message: relayed as it was, the editor never got an
    # answer to its request.
    body = b'{"error": {"message": "a bearer token is required", "type": "auth"}}'
    raw = b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
    raw += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    (answer,) = await relay_against(raw)
    assert answer["id"] == 1 and answer["error"]["code"] == GATEWAY_GONE
    assert "HTTP 401: a bearer token is required" in answer["error"]["message"]


async def test_the_mcp_endpoints_own_error_for_the_request_goes_through() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad version"}}'
    raw = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
    raw += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    assert await relay_against(raw) == [json.loads(body)]
