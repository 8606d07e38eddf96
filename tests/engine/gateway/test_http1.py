"""The upstream HTTP/1.1 client against real loopback servers: aiohttp for well-behaved
answers, raw `asyncio.start_server` scripts for servers that misbehave."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import re
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from llmgw_desktop.engine.gateway.http_client import http1, http1_response
from llmgw_desktop.engine.gateway.http_client.http1 import ConnectError, Http1Client
from llmgw_desktop.engine.gateway.http_client.http1_response import Http1Response, ResponseBroken
from tests import waiting
from tests.fakes.loopback import close_server
from tests.ports import free_port

WAIT_S = 5.0  # upper bound for anything that should happen at once
PATTERN = bytes(range(256))


# -- servers --------------------------------------------------------------------------------


@dataclass
class WebServer:
    """An aiohttp app on loopback; `peers` is the client port of each request, in order."""

    base_url: str
    peers: list[int] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    state = WebServer("")

    def note_peer(request: web.Request) -> None:
        assert request.transport is not None
        state.peers.append(request.transport.get_extra_info("peername")[1])

    async def echo(request: web.Request) -> web.Response:
        note_peer(request)
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "body": body.decode(),
                "host": request.headers.get("Host"),
                "path_qs": request.path_qs,
                "x_test": request.headers.get("X-Test"),
                "user_agent": request.headers.get("User-Agent"),
            }
        )

    async def stream(request: web.Request) -> web.StreamResponse:
        # Pieces separated by the gate, so each arrives as its own read.
        note_peer(request)
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            await response.write(b"first")
            await state.gate.wait()
            await response.write(b"second")
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up on the body, as some tests mean it to
        return response

    async def encoded(request: web.Request) -> web.Response:
        note_peer(request)
        data = b"compressed hello " * 100
        coding = request.match_info["coding"]
        body = gzip.compress(data) if coding == "gzip" else zlib.compress(data)
        return web.Response(body=body, headers={"Content-Encoding": coding})

    async def gzip_stream(request: web.Request) -> web.StreamResponse:
        note_peer(request)
        response = web.StreamResponse(headers={"Content-Encoding": "gzip"})
        await response.prepare(request)
        packed = gzip.compress(b"streamed and gzipped " * 500)
        for start in range(0, len(packed), 100):
            await response.write(packed[start : start + 100])
        await response.write_eof()
        return response

    async def big(request: web.Request) -> web.StreamResponse:
        note_peer(request)
        size = int(request.query["size"])
        response = web.StreamResponse()
        await response.prepare(request)
        body = PATTERN * (size // len(PATTERN))
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/stream", stream)
    app.router.add_get("/encoded/{coding}", encoded)
    app.router.add_get("/gzip-stream", gzip_stream)
    app.router.add_get("/big", big)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    state.gate.set()
    await runner.cleanup()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class RawServer:
    """A loopback server running `handler(reader, writer, connection_index)` per connection."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.connections = 0
        self.url = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        port = self._server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await close_server(self._server, self._tasks)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        index, self.connections = self.connections, self.connections + 1
        try:
            await self.handler(reader, writer, index)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # stopped by __aexit__; ending quietly keeps asyncio from logging it
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head (its body is read and dropped); None once the client hung up."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
    if length and int(length.group(1)):
        await reader.readexactly(int(length.group(1)))
    return head


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def wait_for_eof(reader: asyncio.StreamReader, closed: asyncio.Event) -> None:
    """Set `closed` once the client closes its end."""
    try:
        while await reader.read(65536):
            pass
    finally:
        closed.set()


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset instead of an orderly FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# -- client helpers -------------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[Http1Client]:
    http = Http1Client(connect_timeout_s=WAIT_S)
    yield http
    await http.close()


async def get(client: Http1Client, url: str) -> Http1Response:
    return await client.request("GET", url, headers={}, head_timeout_s=WAIT_S)


async def fetch(client: Http1Client, url: str) -> tuple[Http1Response, bytes]:
    response = await get(client, url)
    try:
        return response, await response.read(timeout_s=WAIT_S)
    finally:
        response.release()


def pooled(client: Http1Client) -> list[http1._Connection]:
    """The client's idle connections that are still open."""
    return [c for idle in client._idle.values() for c in idle if not c.closed]


# Polled as every test waits (`tests/waiting.py`), within this file's bound.
eventually = functools.partial(waiting.until, timeout_s=WAIT_S, step_s=0.005)


# -- requests and bodies --------------------------------------------------------------------


async def test_get_returns_json_body_with_content_length(
    server: WebServer, client: Http1Client
) -> None:
    response, body = await fetch(client, server.url("/echo"))
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.length == len(body)
    answer = json.loads(body)
    assert answer["method"] == "GET"
    assert answer["user_agent"] == http1.USER_AGENT


async def test_post_sends_body_and_headers(server: WebServer, client: Http1Client) -> None:
    response = await client.request(
        "POST",
        server.url("/echo"),
        headers={"Content-Type": "application/json", "X-Test": "yes"},
        body=b'{"q": 1}',
        head_timeout_s=WAIT_S,
    )
    answer = json.loads(await response.read(timeout_s=WAIT_S))
    response.release()
    assert answer["method"] == "POST"
    assert answer["body"] == '{"q": 1}'
    assert answer["x_test"] == "yes"


async def test_host_header_and_query_string_are_sent(
    server: WebServer, client: Http1Client
) -> None:
    _, body = await fetch(client, server.url("/echo?alt=sse&x=a%20b"))
    answer = json.loads(body)
    assert answer["host"] == server.base_url.removeprefix("http://")
    assert answer["path_qs"] == "/echo?alt=sse&x=a%20b"


async def test_ipv6_literal_host_header_keeps_brackets(client: Http1Client) -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        head = await read_request(reader)
        assert head is not None
        heads.append(head)
        writer.write(ok())
        await reader.read()

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    async with RawServer(handler, host="::1") as raw:
        _, body = await fetch(client, raw.url + "/v1/models/m:run?alt=sse")
    assert body == b"ok"
    port = raw.url.rpartition(":")[2]
    assert heads[0].startswith(b"GET /v1/models/m:run?alt=sse HTTP/1.1\r\n")
    assert f"\r\nHost: [::1]:{port}\r\n".encode() in heads[0]


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_compressed_body_is_decoded(
    server: WebServer, client: Http1Client, coding: str
) -> None:
    response, body = await fetch(client, server.url(f"/encoded/{coding}"))
    assert response.headers["content-encoding"] == coding
    assert body == b"compressed hello " * 100


async def test_chunked_gzip_stream_is_decoded(server: WebServer, client: Http1Client) -> None:
    _, body = await fetch(client, server.url("/gzip-stream"))
    assert body == b"streamed and gzipped " * 500


async def test_pieces_that_arrived_together_are_read_at_once() -> None:
    # A stream's events written back to back reach the reader in one read, so they pass the
    # reader's layers (frames, masking, the relay, the write to the client) once, not each.
    response = Http1Response(_NoConnection())
    response.start(keep_alive=False)
    for piece in (b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"):
        response.feed(piece)
    assert await response.readany(WAIT_S) == b"data: 1\n\ndata: 2\n\ndata: 3\n\n"
    response.feed(b"data: 4\n\n")
    response.finish()
    assert await response.readany(WAIT_S) == b"data: 4\n\n"
    assert await response.readany(WAIT_S) == b""


async def test_chunks_of_one_read_reach_the_reader_as_one_piece_before_it_ends(
    client: Http1Client,
) -> None:
    # The connection hands a read's body chunks over together: a chunked answer whose events
    # and end came in one read is read whole, in order, and pooled once complete.
    chunks = (b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n")
    wire = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + wire)

    async with RawServer(handler) as raw:
        response = await get(client, raw.url + "/")
        assert response.complete  # the head, the chunks and the end came in one read
        assert await response.readany(WAIT_S) == b"".join(chunks)
        assert await response.readany(WAIT_S) == b""
        response.release()
        assert len(pooled(client)) == 1
        _, again = await fetch(client, raw.url + "/")
    assert again == b"".join(chunks)
    assert raw.connections == 1


async def test_chunks_before_a_malformed_one_are_read_before_the_break(
    client: Http1Client,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        writer.write(head + b"5\r\nfirst\r\nzz\r\n")
        await reader.read()

    async with RawServer(handler) as raw:
        response = await get(client, raw.url + "/")
        assert await response.readany(WAIT_S) == b"first"
        with pytest.raises(ResponseBroken):
            await response.readany(WAIT_S)
    assert pooled(client) == []


def test_a_head_written_is_remembered_and_a_line_break_is_refused_each_time() -> None:
    http1._head.cache_clear()
    headers = {"authorization": "Bearer sk-0123456789"}
    first = http1._request_bytes("POST", "/v1/x", "h", headers, b"{}", None)
    assert http1._request_bytes("POST", "/v1/x", "h", headers, b"{}", None) == first
    # Another body: the same head (its length is not part of it), and its own length sent.
    longer = http1._request_bytes("POST", "/v1/x", "h", headers, b"{ }", None)
    assert http1._head.cache_info().currsize == 1
    assert b"\r\nContent-Length: 3\r\n\r\n{ }" in longer
    evil = {"authorization": "Bearer sk-0123456789\nX-Evil: 1"}
    for _ in range(2):  # refused again once its check is remembered
        for injected in ("/v1/x HTTP/1.1\r\nX-Evil: 1", "/v1/x\x00"):
            with pytest.raises(ValueError, match="control characters"):
                http1._request_bytes("POST", injected, "h", headers, b"", None)
        with pytest.raises(ValueError, match="control characters"):
            http1._request_bytes("POST", "/v1/x", "h", evil, b"", None)
    # A tab in a value is allowed, as before.
    http1._request_bytes("POST", "/v1/x", "h", {"x-a": "a\tb"}, b"", None)
    # The memory is bounded; a head pushed out is checked again, and still refused.
    for n in range(http1.HEADS_CHECKED_KEPT + 5):
        http1._request_bytes("POST", f"/v1/{n}", "h", headers, b"", None)
    assert http1._head.cache_info().currsize == http1.HEADS_CHECKED_KEPT
    with pytest.raises(ValueError, match="control characters"):
        http1._request_bytes("POST", "/v1/x", "h", evil, b"", None)


class _NoConnection:
    """A response's connection that is never used (the test feeds the response itself)."""

    transport = None
    closed = True
    response = None

    def close(self) -> None:
        pass

    def put_back(self) -> None:
        pass


async def test_chunked_stream_yields_pieces_then_empty(
    server: WebServer, client: Http1Client
) -> None:
    response = await get(client, server.url("/stream"))
    assert response.chunked
    assert await response.readany(WAIT_S) == b"first"
    server.gate.set()
    assert await response.readany(WAIT_S) == b"second"
    assert await response.readany(WAIT_S) == b""
    assert await response.readany(WAIT_S) == b""
    response.release()
    assert len(pooled(client)) == 1


async def test_body_without_length_ends_when_server_closes(client: Http1Client) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
        await writer.drain()
        writer.write(b"part two")

    async with RawServer(handler) as raw:
        response, body = await fetch(client, raw.url + "/")
    assert response.length is None
    assert body == b"part one, part two"
    assert pooled(client) == []


async def test_reset_cuts_body_without_length_short(client: Http1Client) -> None:
    piece_read = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one")
        await writer.drain()
        await piece_read.wait()
        reset_connection(writer)

    async with RawServer(handler) as raw:
        response = await get(client, raw.url + "/")
        assert await response.readany(WAIT_S) == b"part one"
        piece_read.set()
        with pytest.raises(ResponseBroken):
            await response.readany(WAIT_S)


@pytest.mark.parametrize("status", [204, 304])
async def test_bodiless_status_completes_and_connection_is_reused(
    client: Http1Client, status: int
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader) is not None:
            writer.write(b"HTTP/1.1 %d Nothing\r\nETag: x\r\n\r\n" % status)

    async with RawServer(handler) as raw:
        first, body = await fetch(client, raw.url + "/")
        second, _ = await fetch(client, raw.url + "/")
    assert (first.status, body, second.status) == (status, b"", status)
    assert raw.connections == 1


async def test_interim_100_continue_is_skipped(client: Http1Client) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        await writer.drain()
        writer.write(ok(b"final"))
        while await read_request(reader) is not None:
            writer.write(ok(b"again"))

    async with RawServer(handler) as raw:
        response, body = await fetch(client, raw.url + "/")
        _, again = await fetch(client, raw.url + "/")
    assert (response.status, body, again) == (200, b"final", b"again")
    assert "link" not in response.headers
    assert raw.connections == 1


async def test_repeated_headers_are_joined(client: Http1Client) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(ok(extra=b"X-A: 1\r\nX-A: 2\r\n"))
        await reader.read()

    async with RawServer(handler) as raw:
        response, _ = await fetch(client, raw.url + "/")
    assert response.headers["x-a"] == "1, 2"


# -- keep-alive pool ------------------------------------------------------------------------


async def test_second_request_reuses_the_connection(server: WebServer, client: Http1Client) -> None:
    await fetch(client, server.url("/echo"))
    await fetch(client, server.url("/echo"))
    assert len(server.peers) == 2
    assert server.peers[0] == server.peers[1]


async def test_connection_idle_longer_than_idle_keep_is_not_reused(
    server: WebServer, client: Http1Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http1, "IDLE_KEEP_S", 0.01)
    await fetch(client, server.url("/echo"))
    await asyncio.sleep(0.03)
    await fetch(client, server.url("/echo"))
    assert server.peers[0] != server.peers[1]


async def test_close_closes_idle_connections(client: Http1Client) -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(ok())
        await wait_for_eof(reader, closed)

    async with RawServer(handler) as raw:
        await fetch(client, raw.url + "/")
        assert len(pooled(client)) == 1
        await client.close()
        async with asyncio.timeout(WAIT_S):
            await closed.wait()
    assert pooled(client) == []


@pytest.mark.parametrize("when", ["after_answer", "on_next_request"])
async def test_idle_connection_dropped_by_server_is_resent_once(
    client: Http1Client, when: str
) -> None:
    requests = 0

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        nonlocal requests
        if index == 0:
            await read_request(reader)
            requests += 1
            writer.write(ok(b"one"))
            await writer.drain()
            if when == "on_next_request":
                await read_request(reader)
                requests += 1
            return  # closes without answering
        while await read_request(reader) is not None:
            requests += 1
            writer.write(ok(b"two"))

    async with RawServer(handler) as raw:
        _, first = await fetch(client, raw.url + "/")
        _, second = await fetch(client, raw.url + "/")
    assert (first, second) == (b"one", b"two")
    assert raw.connections == 2
    assert requests == (3 if when == "on_next_request" else 2)


async def test_no_resend_once_part_of_the_answer_arrived(client: Http1Client) -> None:
    requests = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        nonlocal requests
        await read_request(reader)
        requests += 1
        writer.write(ok())
        await read_request(reader)
        requests += 1
        writer.write(b"HTTP/1.1 200")  # then hangs up mid status line
        await writer.drain()

    async with RawServer(handler) as raw:
        await fetch(client, raw.url + "/")
        with pytest.raises(ResponseBroken):
            await get(client, raw.url + "/")
    assert (raw.connections, requests) == (1, 2)


async def test_resend_that_times_out_closes_its_connection(client: Http1Client) -> None:
    second_closed = asyncio.Event()

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        await read_request(reader)
        if index == 0:
            writer.write(ok())
            await read_request(reader)
            return  # drops the reused connection without answering
        await wait_for_eof(reader, second_closed)  # never answers the resend

    async with RawServer(handler) as raw:
        await fetch(client, raw.url + "/")
        with pytest.raises(TimeoutError):
            await client.request("GET", raw.url + "/", headers={}, head_timeout_s=0.05)
        async with asyncio.timeout(WAIT_S):
            await second_closed.wait()
    assert raw.connections == 2
    assert pooled(client) == []


@pytest.mark.parametrize("same_write", [True, False])
async def test_unrequested_bytes_retire_the_connection(
    client: Http1Client, same_write: bool
) -> None:
    sent = asyncio.Event()
    ours: list[int] = []  # the connections this test's client made, by their order

    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        # Counted by what they ask: a CI run once counted 11 connections here, nine of them
        # another test's, whose free port this server had been given meanwhile.
        head = await read_request(reader)
        if head is None or not head.startswith(b"GET /stray-bytes "):
            return
        ours.append(index)
        if len(ours) > 1:
            writer.write(ok(b"new connection"))
            while await read_request(reader) is not None:
                writer.write(ok(b"new connection"))
            return
        stray = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"
        if same_write:
            writer.write(ok() + stray)
        else:
            writer.write(ok())
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(stray)
        await writer.drain()
        sent.set()
        while await read_request(reader) is not None:
            writer.write(ok(b"stale connection"))

    async with RawServer(handler) as raw:
        _, body = await fetch(client, raw.url + "/stray-bytes")
        assert body == b"ok"
        (connection,) = [c for idle in client._idle.values() for c in idle]
        async with asyncio.timeout(WAIT_S):
            await sent.wait()
        await eventually(lambda: connection.closed)
        response, body = await fetch(client, raw.url + "/stray-bytes")
    assert (response.status, body) == (200, b"new connection")
    assert len(ours) == 2


async def test_early_answer_while_body_is_written_does_not_pool_connection(
    client: Http1Client,
) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        if index == 0:
            await reader.readuntil(b"\r\n\r\n")  # the head only; the body is never read
            writer.write(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
            await asyncio.Event().wait()
        while await read_request(reader) is not None:
            writer.write(ok())

    async with RawServer(handler) as raw:
        response = await client.request(
            "POST", raw.url + "/", headers={}, body=b"x" * (16 << 20), head_timeout_s=WAIT_S
        )
        assert response.status == 413
        assert await response.read(timeout_s=WAIT_S) == b""
        assert pooled(client) == []
        _, body = await fetch(client, raw.url + "/")
    assert body == b"ok"
    assert raw.connections == 2


# -- failures -------------------------------------------------------------------------------


async def test_refused_connection_raises_connect_error(client: Http1Client) -> None:
    port = free_port()  # nothing listens there, and no other test is given it
    with pytest.raises(ConnectError):
        await get(client, f"http://127.0.0.1:{port}/")


async def test_head_timeout_raises_and_closes_connection(client: Http1Client) -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        await wait_for_eof(reader, closed)

    async with RawServer(handler) as raw:
        with pytest.raises(TimeoutError):
            await client.request("GET", raw.url + "/", headers={}, head_timeout_s=0.05)
        async with asyncio.timeout(WAIT_S):
            await closed.wait()
    assert pooled(client) == []


async def test_read_timeout_between_chunks_retires_connection(
    server: WebServer, client: Http1Client
) -> None:
    response = await get(client, server.url("/stream"))
    assert await response.readany(WAIT_S) == b"first"
    with pytest.raises(TimeoutError):
        await response.readany(0.05)
    server.gate.set()
    with pytest.raises(ResponseBroken):
        await response.readany(WAIT_S)  # fails instead of waiting forever
    response.release()
    await fetch(client, server.url("/echo"))
    assert server.peers[0] != server.peers[1]


async def test_whole_body_read_timeout_retires_connection(
    server: WebServer, client: Http1Client
) -> None:
    response = await get(client, server.url("/stream"))
    with pytest.raises(TimeoutError):
        await response.read(timeout_s=0.05)
    server.gate.set()
    response.release()
    await fetch(client, server.url("/echo"))
    assert server.peers[0] != server.peers[1]


@pytest.mark.parametrize("chunked", [True, False])
async def test_break_mid_body_raises_and_connection_is_not_reused(
    client: Http1Client, chunked: bool
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        if chunked:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
        await writer.drain()

    async with RawServer(handler) as raw:
        response = await get(client, raw.url + "/")
        assert await response.readany(WAIT_S) == b"hello"
        with pytest.raises(ResponseBroken):
            await response.readany(WAIT_S)
        response.release()
        response = await get(client, raw.url + "/")
        with pytest.raises(ResponseBroken):
            await response.read(timeout_s=WAIT_S)
        response.release()
    assert raw.connections == 2
    assert pooled(client) == []


async def test_malformed_response_raises_response_broken(client: Http1Client) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"SPDY/9 what\r\n\r\n")
        await reader.read()

    async with RawServer(handler) as raw:
        with pytest.raises(ResponseBroken):
            await get(client, raw.url + "/")
    assert pooled(client) == []


async def test_early_release_closes_half_read_connection(
    server: WebServer, client: Http1Client
) -> None:
    response = await get(client, server.url("/stream"))
    assert await response.readany(WAIT_S) == b"first"
    response.release()
    server.gate.set()
    with pytest.raises(ResponseBroken):
        await response.readany(WAIT_S)
    await fetch(client, server.url("/echo"))
    assert server.peers[0] != server.peers[1]


async def test_cancelled_readany_leaves_no_half_read_connection_in_pool(
    server: WebServer, client: Http1Client
) -> None:
    response = await get(client, server.url("/stream"))
    assert await response.readany(WAIT_S) == b"first"
    pending = asyncio.create_task(response.readany())
    await asyncio.sleep(0)
    assert response._waiter is not None
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    server.gate.set()
    with pytest.raises(ResponseBroken):
        await response.readany(WAIT_S)
    response.release()
    assert pooled(client) == []
    await fetch(client, server.url("/echo"))
    assert server.peers[0] != server.peers[1]


async def test_cancelled_request_closes_its_connection(client: Http1Client) -> None:
    closed = asyncio.Event()
    asked = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        asked.set()
        await wait_for_eof(reader, closed)

    async with RawServer(handler) as raw:
        pending = asyncio.create_task(get(client, raw.url + "/"))
        async with asyncio.timeout(WAIT_S):
            await asked.wait()
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        async with asyncio.timeout(WAIT_S):
            await closed.wait()
    assert pooled(client) == []


# -- backpressure ---------------------------------------------------------------------------


async def test_large_body_read_slowly_pauses_then_resumes_intact(
    server: WebServer, client: Http1Client
) -> None:
    size = 4 * http1_response.HIGH_WATER
    response = await get(client, server.url(f"/big?size={size}"))
    await eventually(lambda: response._paused)  # nothing read yet: the upstream is held back
    assert response._buffered <= http1_response.HIGH_WATER + 256 * 1024
    body = await response.read(timeout_s=WAIT_S)
    assert body == PATTERN * (size // len(PATTERN))
    assert not response._paused
    response.release()
    await fetch(client, server.url("/echo"))
    assert server.peers[0] == server.peers[1]


async def test_connection_paused_as_its_answer_completes_is_pooled_reading(
    server: WebServer, client: Http1Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole small answer arrives in one read that both pauses and completes it.
    monkeypatch.setattr(http1_response, "HIGH_WATER", 10)
    monkeypatch.setattr(http1_response, "LOW_WATER", 5)
    response = await get(client, server.url("/echo"))
    assert response.complete
    response.release()  # the caller did not even read the body
    second = await get(client, server.url("/echo"))
    assert json.loads(await second.read(timeout_s=WAIT_S))["method"] == "GET"
    second.release()
    assert server.peers[0] == server.peers[1]
