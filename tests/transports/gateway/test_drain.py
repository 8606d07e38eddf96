"""The drain a SIGTERM starts (`shell/drain.py`), in process on a real runtime: a stream in
flight finishes whole while the gateway is not ready and refuses new connections, a
connection the OS had accepted before listening ended is served, and the grace bounds the
wait (then the stop ends what is left as a quit does, its row closed).

The process-level drain (SIGTERM, exit 0, two replicas on PostgreSQL) is
`tests/e2e/test_drain.py`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import aiohttp
import pytest

from llmgw_desktop.shell.drain import drain
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

CHAT = "/v1/chat/completions"
STREAM_BODY = {
    "model": "gpt-4o",
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}
WAIT_S = 10.0


async def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _text_of(sse: bytes) -> str:
    """The text deltas of an OpenAI Chat stream, joined."""
    text = []
    for line in sse.decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices", []):
                text.append(choice.get("delta", {}).get("content") or "")
    return "".join(text)


async def test_a_stream_in_flight_finishes_whole_while_the_gateway_drains(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway()
    upstream.stream_gate = asyncio.Event()  # half the answer goes out, then it waits
    upstream.script(Reply.ok("the whole answer arrives", verbatim=True))
    url = runtime.base_url + CHAT
    async with aiohttp.ClientSession() as http, http.post(url, json=STREAM_BODY) as streaming:
        assert streaming.status == 200
        first = await streaming.content.readline()
        assert first.startswith(b"data: ")
        began = asyncio.get_running_loop().create_task(
            drain(runtime, 30.0, cut_short=asyncio.Event())
        )
        await _wait_for(lambda: runtime.engine.lifecycle.draining, "draining")
        assert runtime.engine.readiness() == {"ready": False, "status": "draining"}
        assert runtime.engine.health()["status"] == "draining"
        assert _refused(runtime.http.port), "a new connection must be refused while draining"
        assert not began.done(), "the drain must wait for the stream"
        upstream.stream_gate.set()
        rest = await streaming.read()
    assert _text_of(first + rest) == "the whole answer arrives"
    assert b"data: [DONE]" in rest
    assert await asyncio.wait_for(began, WAIT_S) is True


async def test_a_connection_waiting_in_the_backlog_as_listening_ends_is_served(
    start_gateway: GatewayFactory,
) -> None:
    """Closing a listening socket resets the connections the OS accepted for it and nobody
    took yet; the drain takes them first."""
    runtime: GatewayRuntime = await start_gateway()
    # Connected by the kernel, not yet taken by the loop: nothing awaits in between.
    client = socket.create_connection(("127.0.0.1", runtime.http.port), timeout=5)
    await runtime.http.stop_accepting()
    runtime.connections.begin_drain()
    client.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    client.setblocking(False)
    loop = asyncio.get_running_loop()
    answer = await asyncio.wait_for(loop.sock_recv(client, 4096), WAIT_S)
    client.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer
    # Served during a drain: the connection closes once answered, so no new work comes on it.
    assert b"Connection: close" in answer or b"connection: close" in answer.lower()


async def test_the_grace_bounds_the_drain_and_the_stop_ends_what_is_left(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway()
    upstream.script(Reply.slow(60))
    url = runtime.base_url + CHAT

    async def stream() -> None:
        async with aiohttp.ClientSession() as http, http.post(url, json=STREAM_BODY) as answer:
            await answer.read()

    client = asyncio.get_running_loop().create_task(stream())
    await _wait_for(lambda: upstream.llm_requests, "the upstream was asked")
    began = time.monotonic()
    assert await drain(runtime, 0.5, cut_short=asyncio.Event()) is False
    assert time.monotonic() - began < 3.0
    await runtime.stop()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(client, WAIT_S)


async def test_a_second_signal_cuts_the_drain_short(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway()
    upstream.script(Reply.slow(60))
    url = runtime.base_url + CHAT

    async def stream() -> None:
        async with aiohttp.ClientSession() as http, http.post(url, json=STREAM_BODY) as answer:
            await answer.read()

    client = asyncio.get_running_loop().create_task(stream())
    await _wait_for(lambda: upstream.llm_requests, "the upstream was asked")
    again = asyncio.Event()
    draining = asyncio.get_running_loop().create_task(drain(runtime, 60.0, again))
    await _wait_for(lambda: runtime.engine.lifecycle.draining, "draining")
    again.set()
    assert await asyncio.wait_for(draining, 2.0) is False
    await runtime.stop()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(client, WAIT_S)
