"""The stdio relay's own copies of MCP values, and its small HTTP client's body reading and
kept connections (issue 42: one connection per message cost both ends a connection's setup).

The relay copies three things from the MCP SDK so it need not import it (seconds of start-up);
these tests fail when the SDK changes them. The relay itself is tested end to end against a
running gateway in test_mcp_stdio.py.
"""

from __future__ import annotations

import asyncio

import pytest
from mcp.shared import inbound
from mcp_types import PROTOCOL_VERSION_META_KEY

from llmgw_desktop.transports.mcp import stdio_wire
from llmgw_desktop.transports.mcp.loopback_http import HttpProtocolError, KeptConnections, Reply


def test_the_relays_copies_agree_with_the_sdk() -> None:
    assert stdio_wire.PROTOCOL_VERSION_META_KEY == PROTOCOL_VERSION_META_KEY
    assert dict(stdio_wire.NAME_BEARING_METHODS) == dict(inbound.NAME_BEARING_METHODS)


@pytest.mark.parametrize(
    "value", ["search", " padded ", "naïve", "line\nbreak", "=?base64?abc?=", "", "a" * 300]
)
def test_the_relay_encodes_mcp_name_as_the_sdk_does(value: str) -> None:
    assert stdio_wire.encode_header_value(value) == inbound.encode_header_value(value)


def reply(raw: bytes, headers: dict[str, str]) -> Reply:
    reader = asyncio.StreamReader()
    reader.feed_data(raw)
    reader.feed_eof()
    return Reply(200, headers, reader)


async def test_a_chunked_event_stream_arrives_event_by_event() -> None:
    parts = [b'data: {"a"', b":1}\n\ndata:", b" 2\n\n"]  # events split across chunks
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
    got = [e async for e in stdio_wire.sse_events(reply(body, {"transfer-encoding": "chunked"}))]
    assert got == [({"a": 1}, b'{"a":1}'), (2, b"2")]


async def test_a_body_of_known_length_is_read_whole() -> None:
    assert await reply(b'{"ok":1}', {"content-length": "8"}).read() == b'{"ok":1}'


async def test_a_reply_cut_short_is_a_protocol_error_not_a_hang() -> None:
    with pytest.raises(HttpProtocolError):
        await reply(b"ab", {"content-length": "10"}).read()


@pytest.mark.parametrize("piece", [1, 3, 7, 64, 4096])
async def test_events_come_whole_however_the_body_is_cut(piece: int) -> None:
    """A read-to-close event stream fed in pieces of any size gives back exactly its events
    (CRLF line ends, a comment, a long event found without rescanning it)."""
    long = "x" * 10_000
    body = b': ping\n\ndata: {"one":1}\n\ndata: "' + long.encode() + b'"\r\n\r\n'
    reader = asyncio.StreamReader()
    for start in range(0, len(body), piece):
        reader.feed_data(body[start : start + piece])
    reader.feed_eof()
    events = Reply(status=200, headers={}, _reader=reader)
    got = [event async for event, _ in stdio_wire.sse_events(events)]
    assert got == [{"one": 1}, long]


OK_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


async def serve_requests(
    answers: int, *, close_after: bool = False, reply: bytes = OK_REPLY
) -> tuple[asyncio.Server, list[int]]:
    """A loopback server that answers up to `answers` requests a connection (then closes it,
    or at once after each with `close_after`); the list counts the requests each connection
    carried."""
    carried: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        carried.append(0)
        for _ in range(answers):
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            carried[-1] += 1
            writer.write(reply)
            await writer.drain()
            if close_after:
                break
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0), carried


async def post_three(url: str) -> tuple[list[bytes], KeptConnections]:
    kept = KeptConnections(url)
    bodies = []
    for n in range(3):
        async with kept.request("POST", headers={}, body=b'{"n":%d}' % n) as answer:
            bodies.append(await answer.read())
    await kept.close()
    return bodies, kept


async def test_requests_one_after_another_share_one_kept_connection() -> None:
    server, carried = await serve_requests(10)
    async with server:
        port = server.sockets[0].getsockname()[1]
        bodies, kept = await post_three(f"http://127.0.0.1:{port}/mcp")
    assert bodies == [b"{}"] * 3
    assert kept.opened == 1 and carried == [3]


async def test_a_kept_connection_the_server_closed_is_replaced_and_the_request_sent_again() -> None:
    server, carried = await serve_requests(10, close_after=True)
    async with server:
        port = server.sockets[0].getsockname()[1]
        bodies, kept = await post_three(f"http://127.0.0.1:{port}/mcp")
    assert bodies == [b"{}"] * 3  # none lost, none an error
    assert kept.opened == 3 and carried == [1, 1, 1]


async def test_a_reply_saying_close_does_not_leave_its_connection_kept() -> None:
    closing = OK_REPLY.replace(b"Content-Length: 2", b"Connection: close\r\nContent-Length: 2")
    server, _ = await serve_requests(10, reply=closing)
    async with server:
        port = server.sockets[0].getsockname()[1]
        bodies, kept = await post_three(f"http://127.0.0.1:{port}/mcp")
    assert bodies == [b"{}"] * 3 and kept.opened == 3


async def test_what_orjson_refuses_is_still_relayed_as_the_editor_wrote_it() -> None:
    """Editor lines are read with orjson (issue 42), and with the standard library where it
    refuses them: an integer past 64 bits, NaN, and a line that is not UTF-8 arrive as before;
    a line that is not JSON is skipped."""
    lines = [
        b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
        b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}',
        b'{"jsonrpc":"2.0","id":2,"method":"x","params":{"n":NaN}}',
        b'{"jsonrpc":"2.0","id":3,"method":"caf\xe9"}',
        b"not json",
        b"",
    ]
    reader = asyncio.StreamReader()
    reader.feed_data(b"\n".join(lines) + b"\n")
    reader.feed_eof()
    read = [(message, raw) async for message, raw in stdio_wire.messages(reader)]
    assert [message["id"] for message, _ in read] == [1, 123456789012345678901234567890, 2, 3]
    assert [raw for _, raw in read[:3]] == lines[:3]
    assert (
        read[3][0]["method"] == "caf\ufffd"
        and read[3][1] == '{"jsonrpc":"2.0","id":3,"method":"caf\ufffd"}'.encode()
    )
