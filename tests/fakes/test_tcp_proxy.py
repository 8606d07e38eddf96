"""The faulty TCP proxy does to a connection what each fault says (an echo server behind it)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from tests.fakes.tcp_proxy import Fault, FaultyProxy, faulty_proxy

TIMEOUT_S = 5.0
DELAY_S = 0.3


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultyProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with faulty_proxy(port, delay_s=DELAY_S) as found:
            yield found
    finally:
        server.close()
        await server.wait_closed()


async def _connect(proxy: FaultyProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy.port), TIMEOUT_S)


async def _echoed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, timeout_s: float
) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(data)), timeout_s)


async def _set(proxy: FaultyProxy, fault: Fault) -> None:
    await asyncio.to_thread(proxy.set, fault)


async def test_pass_carries_bytes_both_ways(proxy: FaultyProxy) -> None:
    reader, writer = await _connect(proxy)
    assert await _echoed(reader, writer, b"hello", TIMEOUT_S) == b"hello"
    writer.close()


async def test_reset_resets_open_connections_and_each_new_one(proxy: FaultyProxy) -> None:
    reader, writer = await _connect(proxy)
    await _echoed(reader, writer, b"x", TIMEOUT_S)
    await _set(proxy, Fault.RESET)
    with pytest.raises(ConnectionResetError):
        await _echoed(reader, writer, b"y", TIMEOUT_S)
    # Accepted, then reset: the reset may come before the connect is seen to complete.
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await _echoed(*await _connect(proxy), b"z", TIMEOUT_S)


async def test_refuse_stops_listening_until_it_passes_again(proxy: FaultyProxy) -> None:
    await _set(proxy, Fault.REFUSE)
    with pytest.raises(ConnectionRefusedError):
        await _connect(proxy)
    await _set(proxy, Fault.PASS)
    reader, writer = await _connect(proxy)
    assert await _echoed(reader, writer, b"back", TIMEOUT_S) == b"back"
    writer.close()


async def test_a_black_hole_holds_bytes_silently_and_delivers_them_on_the_heal(
    proxy: FaultyProxy,
) -> None:
    reader, writer = await _connect(proxy)
    await _echoed(reader, writer, b"a", TIMEOUT_S)
    await _set(proxy, Fault.BLACKHOLE)
    late = await _connect(proxy)  # the connect itself succeeds: nothing says no
    with pytest.raises(TimeoutError):
        await _echoed(reader, writer, b"held", 0.5)
    await _set(proxy, Fault.PASS)
    assert await asyncio.wait_for(reader.readexactly(4), TIMEOUT_S) == b"held"
    assert await _echoed(*late, b"new", TIMEOUT_S) == b"new"
    writer.close()
    late[1].close()


async def test_slow_delays_each_way(proxy: FaultyProxy) -> None:
    reader, writer = await _connect(proxy)
    await _set(proxy, Fault.SLOW)
    began = time.monotonic()
    assert await _echoed(reader, writer, b"slow", TIMEOUT_S) == b"slow"
    assert time.monotonic() - began >= 2 * DELAY_S
    writer.close()
