"""The edges of one answer (issue 24, item 6): a failed request's row says what the client got,
a whole upstream answer has a size cap, and a client leaving mid-stream is a normal end.

A real gateway on loopback and the scripted fake upstream; the official openai client where a
client's view matters, a raw socket where the client must leave at a chosen moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import openai
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.loopback import LoopbackApp
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.logged_errors import errors_logged
from tests.sdk_clients import openai_client
from tests.transports.gateway import conftest as gateway_fixtures
from tests.transports.gateway.conftest import GatewayFactory

provider_env = gateway_fixtures.provider_env
start_gateway = gateway_fixtures.start_gateway
gateway = gateway_fixtures.gateway

HI = [{"role": "user", "content": "hi"}]
CAP = 64 * 1024


async def stored_row(gateway: GatewayRuntime, request_id: str) -> dict:
    await gateway.engine.recorder.flush()
    rows = await gateway.engine.recorder.recent(limit=20)
    (row,) = [r for r in rows if r["id"] == request_id]
    return row


async def test_a_failed_request_is_recorded_with_the_status_the_client_got(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(*[Reply.cut()] * 4)
    async with openai_client(gateway) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "all_routes_failed"  # type: ignore[index]
    row = await stored_row(gateway, caught.value.response.headers["x-gateway-request-id"])
    assert (row["state"], row["http_status"], row["error_code"]) == (
        "failed",
        502,
        "all_routes_failed",
    )


async def test_a_whole_answer_over_the_cap_is_a_502_naming_it(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway = await start_gateway({"gateway.max_answer_bytes": CAP})
    upstream.script(Reply.ok("word " * (CAP // 2), verbatim=True))
    async with openai_client(gateway) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="gpt-4o", messages=HI)
        assert caught.value.status_code == 502
        assert "gateway.max_answer_bytes" in caught.value.message
        assert str(CAP) in caught.value.message
        # Under the cap, the same gateway answers as usual.
        upstream.script(Reply.ok("word " * (CAP // 8), verbatim=True))
        reply = await client.chat.completions.create(model="gpt-4o", messages=HI)
    assert reply.choices[0].message.content == "word " * (CAP // 8)


async def test_a_client_leaving_mid_stream_is_one_debug_line(
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with HeldStream() as held:
        monkeypatch.setenv("OPENAI_BASE_URL", held.base_url + "/v1")
        gateway = await start_gateway()
        # After the start, which sets the app's own log levels.
        caplog.set_level(logging.DEBUG, logger="llmgw_desktop")
        host, port = gateway.base_url.removeprefix("http://").split(":")
        for n in range(LEAVES):
            reader, writer = await asyncio.open_connection(host, int(port))
            body = b'{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}'
            writer.write(
                b"POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\n"
                + f"Host: {host}:{port}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"word 0"), 10)
            assert head.startswith(b"HTTP/1.1 200"), head
            # The client stops reading; the upstream sends the rest, more than the sockets
            # hold, so the gateway is waiting to write when the client goes.
            writer.transport.pause_reading()
            held.go_on.set()
            await held.wait_stalled()
            writer.transport.abort()  # gone mid-answer, without a goodbye
            await wait_rows_ended(gateway, n + 1)
            held.go_on.clear()
    errors = errors_logged(caplog.records)
    assert errors == [], [r.getMessage() for r in errors]
    left = [r for r in caplog.records if "the client left mid-answer" in r.getMessage()]
    assert all(r.levelno == logging.DEBUG for r in left)  # when the write saw it (not a cancel)


class HeldStream(LoopbackApp):
    """An OpenAI-chat upstream whose stream sends one piece, waits for `go_on`, then sends
    the rest: the client can leave at a known moment (the scripted fake sends at once)."""

    def __init__(self) -> None:
        self.go_on = asyncio.Event()
        self._transport: asyncio.BaseTransport | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)

    async def wait_stalled(self) -> None:
        """Until the gateway (and the client behind it) stops taking what is sent: the
        upstream's send buffer holds more than its high-water mark."""
        async with asyncio.timeout(10):
            while True:
                transport = self._transport
                stalled = isinstance(transport, asyncio.WriteTransport) and (
                    transport.get_write_buffer_size() > STALLED_BYTES
                )
                if stalled:
                    return
                await asyncio.sleep(0.01)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self._transport = request.transport
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the gateway hung up: fine
            for n in range(STREAM_PIECES):
                if n == 1:
                    await asyncio.wait_for(self.go_on.wait(), 10)
                delta = {"content": f"word {n} " + ("" if n == 0 else PAD)}
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "gpt-4o",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        return response


STREAM_PIECES = 400
PAD = "x" * 65_536
STALLED_BYTES = 32_768
LEAVES = 12


async def wait_rows_ended(gateway: GatewayRuntime, count: int) -> None:
    async with asyncio.timeout(20):
        while True:
            await gateway.engine.recorder.flush()
            rows = await gateway.engine.recorder.recent(limit=50)
            if len([r for r in rows if r["state"] != "started"]) >= count:
                return
            await asyncio.sleep(0.05)
