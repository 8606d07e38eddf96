"""The cap on connections per origin: requests beyond it wait for one, never open more."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable

import pytest

from llmgw_desktop.engine.gateway.http_client.http1 import ConnectError, Http1Client, PoolTimeout
from llmgw_desktop.engine.gateway.http_client.http1_response import Http1Response
from tests.fakes.loopback import close_server
from tests.ports import free_port
from tests.waiting import until as waited_until

WAIT_S = 5.0
CAP = 3


class CountingServer:
    """A loopback server counting the TCP connections it has open at once.

    Counted in the protocol callbacks (connection made, end of stream from the client), so the
    count is the sockets' own, not a handler's that notices a hang-up late. Each request gets a
    200 with a chunked body: the first chunk at once, the rest once `finish` is set. A request
    arriving while `hold` is clear gets nothing until it is set.
    """

    def __init__(self) -> None:
        self.open_now = 0
        self.most_open = 0
        self.connections = 0
        self.requests = 0
        self.hold = asyncio.Event()
        self.hold.set()
        self.finish = asyncio.Event()
        self.finish.set()
        self.changed = asyncio.Condition()
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> CountingServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Counted(self), "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await close_server(self._server, self._tasks)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S), self.changed:
            await self.changed.wait_for(predicate)

    def note(self, *, opened: int = 0, requests: int = 0) -> None:
        self.open_now += opened
        self.connections += max(opened, 0)
        self.most_open = max(self.most_open, self.open_now)
        self.requests += requests
        self._tasks.add(asyncio.ensure_future(self._notify()))

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def answer(self, transport: asyncio.Transport) -> None:
        self.note(requests=1)
        self._tasks.add(asyncio.ensure_future(self._answer(transport)))

    async def _answer(self, transport: asyncio.Transport) -> None:
        await self.hold.wait()
        if not transport.is_closing():
            transport.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await self.finish.wait()
        if not transport.is_closing():
            transport.write(b"4\r\nlast\r\n0\r\n\r\n")


class _Counted(asyncio.Protocol):
    def __init__(self, server: CountingServer) -> None:
        self.server = server
        self.buffer = b""
        self.counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.counted = True
        self.server.note(opened=1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # GETs only: no bodies to skip
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.server.answer(self.transport)

    def eof_received(self) -> bool:
        self._gone()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone()

    def _gone(self) -> None:
        if self.counted:
            self.counted = False
            self.server.note(opened=-1)


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    async with CountingServer() as running:
        yield running


def capped(cap: int = CAP, connect_timeout_s: float = WAIT_S) -> Http1Client:
    return Http1Client(connect_timeout_s=connect_timeout_s, max_connections_per_host=cap)


async def fetch(client: Http1Client, url: str) -> bytes:
    response = await client.request("GET", url, headers={}, head_timeout_s=WAIT_S)
    try:
        return await response.read(timeout_s=WAIT_S)
    finally:
        response.release()


async def started(client: Http1Client, url: str) -> Http1Response:
    """A response whose head is in and whose body is still coming."""
    response = await client.request("GET", url, headers={}, head_timeout_s=WAIT_S)
    assert await response.readany(timeout_s=WAIT_S) == b"first"
    return response


def waiting(client: Http1Client) -> int:
    return sum(len(pool.waiters) for pool in client._pools.values())


# Client-side state has no event to wait on: the loop runs until it holds.
until = functools.partial(waited_until, timeout_s=WAIT_S, step_s=0)


async def test_more_requests_than_the_cap_never_open_more_connections(
    server: CountingServer,
) -> None:
    client = capped()
    server.hold.clear()
    try:
        calls = [asyncio.ensure_future(fetch(client, server.url)) for _ in range(10)]
        await server.wait_until(lambda: server.requests == CAP)
        await until(lambda: waiting(client) == 10 - CAP)
        assert server.open_now == CAP
        server.hold.set()
        bodies = await asyncio.gather(*calls)
    finally:
        await client.close()
    assert bodies == [b"firstlast"] * 10
    assert server.most_open == CAP
    assert server.connections == CAP  # the waiting requests reused the released connections


async def test_a_stream_holds_its_connection_until_released(server: CountingServer) -> None:
    client = capped(cap=1)
    server.finish.clear()
    try:
        stream = await started(client, server.url)
        second = asyncio.ensure_future(fetch(client, server.url))
        await until(lambda: waiting(client) == 1)
        assert server.requests == 1
        server.finish.set()
        assert await stream.read(timeout_s=WAIT_S) == b"last"
        stream.release()
        assert await second == b"firstlast"
    finally:
        await client.close()
    assert server.connections == 1 and server.most_open == 1


async def test_an_abandoned_stream_frees_its_slot_for_a_new_connection(
    server: CountingServer,
) -> None:
    client = capped(cap=1)
    server.finish.clear()
    try:
        stream = await started(client, server.url)
        second = asyncio.ensure_future(started(client, server.url))
        await until(lambda: waiting(client) == 1)
        stream.release()  # half read: the connection is closed, not pooled
        await server.wait_until(lambda: server.requests == 2)
        (await second).release()
    finally:
        await client.close()
    assert server.connections == 2 and server.most_open == 1


async def test_waiting_longer_than_the_connect_timeout_is_a_pool_timeout(
    server: CountingServer,
) -> None:
    client = capped(cap=1, connect_timeout_s=0.2)
    server.finish.clear()
    try:
        stream = await started(client, server.url)
        with pytest.raises(PoolTimeout, match=r"all 1 connections to http://127\.0\.0\.1:\d+"):
            await fetch(client, server.url)
        assert waiting(client) == 0
        server.finish.set()
        assert await stream.read(timeout_s=WAIT_S) == b"last"
        stream.release()
        assert await fetch(client, server.url) == b"firstlast"  # the slot is usable again
    finally:
        await client.close()
    assert server.connections == 1


async def test_a_cancelled_waiter_does_not_swallow_the_next_turn(server: CountingServer) -> None:
    client = capped(cap=1)
    server.finish.clear()
    try:
        stream = await started(client, server.url)
        leaving = asyncio.ensure_future(fetch(client, server.url))
        staying = asyncio.ensure_future(fetch(client, server.url))
        await until(lambda: waiting(client) == 2)
        leaving.cancel()
        server.finish.set()
        await stream.read(timeout_s=WAIT_S)
        stream.release()
        assert await staying == b"firstlast"
        assert leaving.cancelled()
    finally:
        await client.close()


async def test_the_cap_is_per_origin() -> None:
    client = capped(cap=1)
    async with CountingServer() as first, CountingServer() as second:
        first.finish.clear()
        try:
            stream = await started(client, first.url)
            assert await fetch(client, second.url) == b"firstlast"
            first.finish.set()
            stream.release()
        finally:
            await client.close()


async def test_a_failed_connection_gives_its_slot_back() -> None:
    client = capped(cap=1, connect_timeout_s=WAIT_S)
    url = f"http://127.0.0.1:{free_port()}/"
    try:
        for _ in range(3):  # a leaked slot would turn the later ones into PoolTimeout
            with pytest.raises(ConnectError):
                await fetch(client, url)
    finally:
        await client.close()
