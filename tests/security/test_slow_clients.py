"""Finding 10: slow clients held connections forever.

A body trickled at a byte a second stayed open for as long as the client liked, and 200 such
connections were accepted. Now the request head and body have read deadlines and one address
may hold only so many connections. The tests set the limits small, then: a slowloris head, a
connection that never speaks, and a trickled body are closed near their deadline; connections
beyond the cap from one address are refused while another address, and the same client once
it lets go, still get in; and a streamed answer that lasts longer than every deadline is not
cut (only reading the request is timed).
"""

from __future__ import annotations

import asyncio
import time

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
    closed_within,
    open_raw,
    parse_answer,
    raw_request,
)
from tests.waiting import until

HEADER_TIMEOUT_MS = 600
BODY_TIMEOUT_MS = 900
CAP = 8
OVER_CAP = 12
# The deadlines are enforced by a timer that runs a few times per timeout: allow for it, and
# for a busy test machine, but stay far below "forever".
SLACK_S = 2.0
TRICKLE_EVERY_S = 0.1
TIMED = {"http.header_timeout_ms": HEADER_TIMEOUT_MS, "http.body_timeout_ms": BODY_TIMEOUT_MS}


def head(gateway: GatewayRuntime, request_line: str, *headers: str) -> bytes:
    lines = [request_line, f"Host: 127.0.0.1:{gateway.http.port}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def trickle(writer: asyncio.StreamWriter, data: bytes, seconds: float) -> bool:
    """Send `data` a byte at a time for up to `seconds`; False once the server has hung up."""
    deadline = time.monotonic() + seconds
    for byte in data:
        if time.monotonic() > deadline:
            break
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            return False
        await asyncio.sleep(TRICKLE_EVERY_S)
        if writer.transport.is_closing():
            return False
    return True


async def trickled_until_cut(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, timeout_ms: int
) -> tuple[bool, bytes, float]:
    """`data` trickled a byte at a time while the server has its `timeout_ms` (and some slack)
    to hang up: whether it did, what it answered meanwhile, and how many seconds that took.
    The connection is closed after."""
    started = time.monotonic()
    sender = asyncio.create_task(trickle(writer, data, 30))
    closed, received = await closed_within(reader, timeout_ms / 1000 + SLACK_S)
    elapsed = time.monotonic() - started
    sender.cancel()
    writer.close()
    return closed, received, elapsed


async def test_slowloris_head_is_closed(launch: Launch) -> None:
    gateway = await launch(TIMED)
    reader, writer = await open_raw(gateway)
    request = head(gateway, "GET /health HTTP/1.1", *(f"X-Pad-{n}: {'a' * 20}" for n in range(50)))
    closed, received, elapsed = await trickled_until_cut(reader, writer, request, HEADER_TIMEOUT_MS)
    assert closed, "a head trickled a byte at a time was never cut off"
    assert received == b""  # no answer to a request that never finished
    assert elapsed >= HEADER_TIMEOUT_MS / 1000 * 0.9
    # A client that sends its head at once is served on a fresh connection.
    assert (await raw_request(gateway, "GET", "/health", [])).status == 200


async def test_silent_connection_is_closed(launch: Launch) -> None:
    gateway = await launch(TIMED)
    reader, writer = await open_raw(gateway)
    closed, _ = await closed_within(reader, HEADER_TIMEOUT_MS / 1000 + SLACK_S)
    writer.close()
    assert closed, "a connection that never sent a byte stayed open"


async def test_trickled_body_is_closed(launch: Launch) -> None:
    gateway = await launch(TIMED)
    reader, writer = await open_raw(gateway)
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "' + b"a" * 500 + b'"}]}'
    writer.write(
        head(
            gateway,
            "POST /v1/chat/completions HTTP/1.1",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        )
    )
    await writer.drain()
    closed, received, elapsed = await trickled_until_cut(reader, writer, body, BODY_TIMEOUT_MS)
    assert closed, "a body trickled a byte at a time was never cut off"
    assert b"200 OK" not in received
    assert elapsed >= BODY_TIMEOUT_MS / 1000 * 0.9


async def test_connections_beyond_the_cap_are_refused(launch: Launch) -> None:
    # Long read deadlines here, so only the cap can close the idle connections.
    gateway = await launch(
        {"http.max_connections_per_address": CAP, "http.header_timeout_ms": 30_000}
    )
    held = [await open_raw(gateway) for _ in range(CAP)]
    refused = [await open_raw(gateway) for _ in range(OVER_CAP - CAP)]
    for reader, _ in refused:
        closed, received = await closed_within(reader, SLACK_S)
        assert closed, "a connection over the cap was kept open"
        answer = parse_answer(received)
        assert answer.status == 429
        assert answer.json()["error"]["code"] == "too_many_connections"
    for _, writer in refused:
        writer.close()
    # The held ones are still open and usable...
    reader, writer = held[0]
    writer.write(head(gateway, "GET /health HTTP/1.1"))
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), SLACK_S)
    assert b" 200 " in status_line
    # ...another address gets in while this one is at its cap...
    other = await raw_request(gateway, "GET", "/health", [], source="127.0.0.2")
    assert other.status == 200
    # ...and once the first client lets go of its connections, it gets in again.
    for _, writer in held:
        writer.close()
    await until(lambda: not gateway.connections._open, "the server noticed the closes")
    assert (await raw_request(gateway, "GET", "/health", [])).status == 200


async def test_long_streamed_answer_is_not_cut(
    launch: Launch, provider_keys: None, scripted_upstream: ScriptedUpstream
) -> None:
    gateway = await launch(TIMED)
    # The upstream stays silent for longer than both read deadlines together.
    wait_s = (HEADER_TIMEOUT_MS + BODY_TIMEOUT_MS) / 1000 + 1.0
    scripted_upstream.script(Reply.slow(wait_s))
    client = openai_client(gateway, "any")
    started = time.monotonic()
    async with client:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join(
            [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        )
    assert time.monotonic() - started >= wait_s
    assert text.startswith(DEFAULT_ANSWER)
    # An MCP event stream (GET) stays open past every deadline too. Its connection is opened
    # after the initialize: the first MCP request loads the MCP SDK (about a second on a busy
    # machine), and a connection idle that long before its request line is rightly closed by
    # the header deadline (600 ms here).
    init = await raw_request(
        gateway,
        "POST",
        gateway.settings.http.path,
        [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
        b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": '
        b'"2025-06-18", "capabilities": {}, "clientInfo": {"name": "slow-tests", "version": "0"}}}',
    )
    session = init.header("Mcp-Session-Id")
    assert init.status == 200 and session
    reader, writer = await open_raw(gateway)
    writer.write(
        head(
            gateway,
            f"GET {gateway.settings.http.path} HTTP/1.1",
            "Accept: text/event-stream",
            f"Mcp-Session-Id: {session}",
            "MCP-Protocol-Version: 2025-06-18",
        )
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), SLACK_S)
    assert b" 200 " in status_line
    closed, _ = await closed_within(reader, (HEADER_TIMEOUT_MS + BODY_TIMEOUT_MS) / 1000 + 1.0)
    writer.close()
    assert not closed, "a streamed answer was cut by a request-side deadline"
