"""The drain a SIGTERM starts (`shell/drain.py`), in process on a real runtime: a stream in
flight finishes whole while the gateway is not ready and refuses new connections, a
connection the OS had accepted before listening ended is served, one a client opens as
listening ends is refused and never reset once its request is sent, and the grace bounds the
wait (then the stop ends what is left as a quit does, its row closed).

The process-level drain (SIGTERM, exit 0, two replicas on PostgreSQL) is
`tests/e2e/test_drain.py`.
"""

from __future__ import annotations

import asyncio
import errno
import json
import select
import socket
import sys
import time

import aiohttp
import pytest

from llmgw_desktop.shell.drain import drain
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports import http_server
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

CHAT = "/v1/chat/completions"
STREAM_BODY = {
    "model": "gpt-4o",
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}
WAIT_S = 10.0
# Elsewhere a listening socket cannot stop beginning handshakes before it closes, and a
# connection completed as it closes may be reset (`transports/http_server.py`).
LINUX_ONLY = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="only Linux lets a socket refuse new handshakes"
)


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
        await _wait_for(lambda: not runtime.http.listening, "listening ended")
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


def _chat_request() -> bytes:
    """A whole POST of a chat, as a proxy sends it on a connection of its own."""
    body = json.dumps({**STREAM_BODY, "stream": False}).encode()
    return (
        b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@LINUX_ONLY
@pytest.mark.parametrize("turns", range(4))
async def test_a_request_sent_just_before_the_drain_is_answered_whichever_loop_turn_it_begins(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, turns: int
) -> None:
    """Between the kernel completing a connection and the guard knowing it, the loop takes a
    few turns: the connection waits in the backlog, then the loop accepts it, then builds its
    transport in a task of its own (asyncio's loop), then calls `connection_made`. A drain may
    begin at any of them; asyncio's loop drops a connection whose transport it builds after
    its server closed (Python 3.11's `Server._attach`), so one turn was lost."""
    runtime: GatewayRuntime = await start_gateway()
    upstream.default = Reply.ok("answered", verbatim=True)
    client = socket.create_connection(("127.0.0.1", runtime.http.port), timeout=WAIT_S)
    client.sendall(_chat_request())
    for _ in range(turns):
        await asyncio.sleep(0)
    assert not runtime.connections._open, "the guard knew it already"
    assert await drain(runtime, WAIT_S, cut_short=asyncio.Event()) is True
    answered = asyncio.get_running_loop().run_in_executor(None, client.recv, 65536)
    await runtime.stop()
    answer = await asyncio.wait_for(answered, WAIT_S)
    client.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer


class _LateClient:
    """A client (as nginx is) that connects and sends its POST at once, at the worst moment:
    after the drain took the last connection waiting in the backlog, before the listening
    socket closes. The kernel still completes handshakes then, and closing the socket resets
    the connections it completed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.sent = False

    def connect_and_send(self) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        # On loopback a handshake the kernel takes is over within microseconds.
        _, writable, _ = select.select([], [sock], [], 0.05)
        if writable and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            sock.sendall(_chat_request())
            self.sent = True
        self.sock = sock

    def outcome(self) -> str:
        """`answered <status line>`, `refused` (a proxy sends the request elsewhere), or how the
        request already sent was lost."""
        assert self.sock is not None
        sock = self.sock
        if not self.sent:  # still connecting: the kernel did not take it
            select.select([], [sock], [], WAIT_S)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sock.close()
            return "refused" if error == errno.ECONNREFUSED else f"connected later ({error})"
        sock.setblocking(True)
        sock.settimeout(WAIT_S)
        try:
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError as exc:
            return f"lost: {type(exc).__name__}"
        finally:
            sock.close()
        status = answer.partition(b"\r\n")[0]
        return f"answered {status!r}" if answer else "lost: closed unanswered"


@LINUX_ONLY
async def test_a_request_sent_as_listening_ends_is_answered_or_refused_never_reset(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy passes a POST to the next replica only when its connection was refused; once
    the request is sent, a reset is a 502 for the caller. The connection is put precisely in
    the window (between the drain's last accept and the close) by wrapping the drain's
    accept pass."""
    runtime: GatewayRuntime = await start_gateway()
    upstream.default = Reply.ok("answered", verbatim=True)
    client = _LateClient(runtime.http.port)
    take_waiting = http_server._accept_waiting

    def then_a_client_connects(sock: socket.socket) -> list[socket.socket]:
        taken = take_waiting(sock)
        if client.sock is None:
            client.connect_and_send()
        return taken

    monkeypatch.setattr(http_server, "_accept_waiting", then_a_client_connects)
    assert await drain(runtime, WAIT_S, cut_short=asyncio.Event()) is True
    outcome = asyncio.get_running_loop().run_in_executor(None, client.outcome)
    await runtime.stop()
    assert await asyncio.wait_for(outcome, WAIT_S) in {"refused", "answered b'HTTP/1.1 200 OK'"}


async def test_the_grace_bounds_the_drain_and_the_stop_ends_what_is_left(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway()
    upstream.script(Reply.slow(60))
    url = runtime.base_url + CHAT

    async def stream() -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as http, http.post(url, json=STREAM_BODY) as answer:
            return answer.status, await answer.read()

    client = asyncio.get_running_loop().create_task(stream())
    await _wait_for(lambda: upstream.llm_requests, "the upstream was asked")
    began = time.monotonic()
    assert await drain(runtime, 0.5, cut_short=asyncio.Event()) is False
    assert time.monotonic() - began < 3.0
    await runtime.stop()
    # Its answer had not begun: told the gateway is stopping, not cut off.
    status, body = await asyncio.wait_for(client, WAIT_S)
    assert (status, json.loads(body)["error"]["code"]) == (503, "gateway_stopping"), body


async def test_a_second_signal_cuts_the_drain_short(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    runtime: GatewayRuntime = await start_gateway()
    upstream.script(Reply.slow(60))
    url = runtime.base_url + CHAT

    async def stream() -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as http, http.post(url, json=STREAM_BODY) as answer:
            return answer.status, await answer.read()

    client = asyncio.get_running_loop().create_task(stream())
    await _wait_for(lambda: upstream.llm_requests, "the upstream was asked")
    again = asyncio.Event()
    draining = asyncio.get_running_loop().create_task(drain(runtime, 60.0, again))
    await _wait_for(lambda: runtime.engine.lifecycle.draining, "draining")
    again.set()
    assert await asyncio.wait_for(draining, 2.0) is False
    await runtime.stop()
    # Its answer had not begun: told the gateway is stopping, not cut off.
    status, body = await asyncio.wait_for(client, WAIT_S)
    assert (status, json.loads(body)["error"]["code"]) == (503, "gateway_stopping"), body
