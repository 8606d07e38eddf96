"""The stdio relay's own copies of MCP values, and its small HTTP client's body reading.

The relay copies three things from the MCP SDK so it need not import it (seconds of start-up);
these tests fail when the SDK changes them. The relay itself is tested end to end against a
running gateway in test_mcp_stdio.py.
"""

from __future__ import annotations

import asyncio

import pytest
from mcp.shared import inbound
from mcp_types import PROTOCOL_VERSION_META_KEY

from llmgw_desktop.transports.mcp import stdio_forward
from llmgw_desktop.transports.mcp.loopback_http import HttpProtocolError, Reply


def test_the_relays_copies_agree_with_the_sdk() -> None:
    assert stdio_forward.PROTOCOL_VERSION_META_KEY == PROTOCOL_VERSION_META_KEY
    assert dict(stdio_forward.NAME_BEARING_METHODS) == dict(inbound.NAME_BEARING_METHODS)


@pytest.mark.parametrize(
    "value", ["search", " padded ", "naïve", "line\nbreak", "=?base64?abc?=", "", "a" * 300]
)
def test_the_relay_encodes_mcp_name_as_the_sdk_does(value: str) -> None:
    assert stdio_forward._encode_header_value(value) == inbound.encode_header_value(value)


def reply(raw: bytes, headers: dict[str, str]) -> Reply:
    reader = asyncio.StreamReader()
    reader.feed_data(raw)
    reader.feed_eof()
    return Reply(200, headers, reader)


async def test_a_chunked_event_stream_arrives_line_by_line() -> None:
    parts = [b"data: {", b"}\n\ndata:", b" 1\n"]  # lines split across chunks
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
    lines = [line async for line in reply(body, {"transfer-encoding": "chunked"}).lines()]
    assert lines == [b"data: {}\n", b"\n", b"data: 1\n"]


async def test_a_body_of_known_length_is_read_whole() -> None:
    assert await reply(b'{"ok":1}', {"content-length": "8"}).read() == b'{"ok":1}'


async def test_a_reply_cut_short_is_a_protocol_error_not_a_hang() -> None:
    with pytest.raises(HttpProtocolError):
        await reply(b"ab", {"content-length": "10"}).read()


@pytest.mark.parametrize("piece", [1, 3, 7, 64, 4096])
async def test_lines_come_whole_however_the_body_is_cut(piece: int) -> None:
    """A read-to-close body fed in pieces of any size gives back exactly its lines, each with
    its ending, and a last line without one; a long line is found without rescanning it."""
    body = b"data: one\n\ndata: " + b"x" * 10_000 + b"\r\n" + b"tail without an end"
    reader = asyncio.StreamReader()
    for start in range(0, len(body), piece):
        reader.feed_data(body[start : start + piece])
    reader.feed_eof()
    reply = Reply(status=200, headers={}, _reader=reader)
    assert [line async for line in reply.lines()] == body.splitlines(keepends=True)
