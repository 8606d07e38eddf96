"""The stdio relay bounds each wait on a gateway that shows no sign of life (`gateway_watch.py`),
and only then: a stand-in gateway on loopback whose /mcp and /health can each be held, so a
test chooses between a stopped gateway (neither answers) and a long call on one that runs
(/health answers). The real processes, a SIGSTOPped gateway among them, are
tests/reliability/test_stdio_relay_gateway_frozen.py's.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from llmgw_desktop.transports.mcp.stdio_forward import GATEWAY_GONE, StdioForwarder
from tests.fakes.loopback import LoopbackApp
from tests.transports.mcp.relay_editor import Editor

SILENCE_S = 0.5
# Slack for a loaded machine beyond the bound, and the bound on every wait of a test.
LATE_BY_S = 3.0
WAIT_S = 30.0


class StandIn(LoopbackApp):
    """A gateway that answers while `running` is set; cleared, it is stopped: it accepts
    connections and answers nothing, /health included, until it is set again. A call answers
    after `call_s`, the tool's own time."""

    def __init__(self, call_s: float = 0.0) -> None:
        self.call_s = call_s
        self.running = asyncio.Event()
        self.running.set()
        self.health_asked = 0
        self.posted: list[dict[str, Any]] = []
        # The first `notifications/cancelled` the gateway was sent.
        self.told_cancelled: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/health", self.health)
        app.router.add_post("/mcp", self.mcp)

    async def health(self, request: web.Request) -> web.Response:
        await asyncio.wait_for(self.running.wait(), WAIT_S)
        self.health_asked += 1
        return web.json_response({"service": "llmgw-desktop"})

    async def mcp(self, request: web.Request) -> web.Response:
        await asyncio.wait_for(self.running.wait(), WAIT_S)
        message = await request.json()
        self.posted.append(message)
        if message.get("method") == "notifications/cancelled" and not self.told_cancelled.done():
            self.told_cancelled.set_result(message)
        if "id" not in message:
            return web.Response(status=202)
        await asyncio.sleep(self.call_s)  # the tool's own time
        result = {"content": [{"type": "text", "text": "done"}]}
        return web.json_response({"jsonrpc": "2.0", "id": message["id"], "result": result})


class Watching(Editor):
    """The editor's side, with a wait for the answer to one request."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    def write(self, data: bytes) -> None:
        super().write(data)
        self.arrived.set()

    async def answer(self, request_id: int) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_S):
            while True:
                for line in self.lines:
                    if line.get("id") == request_id:
                        return line
                self.arrived.clear()
                await self.arrived.wait()


def call(request_id: int) -> bytes:
    message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {}}
    return json.dumps(message).encode() + b"\n"


async def test_a_call_on_a_silent_gateway_is_answered_with_an_error_and_the_relay_carries_on() -> (
    None
):
    async with StandIn() as gateway:
        stdin, editor = asyncio.StreamReader(), Watching()
        relay = StdioForwarder(f"{gateway.base_url}/mcp", silence_s=SILENCE_S)
        running = asyncio.create_task(relay.run(stdin, editor))
        try:
            gateway.running.clear()  # stopped: it accepts connections and answers nothing
            began = time.monotonic()
            stdin.feed_data(call(1))
            frozen = await editor.answer(1)
            took = time.monotonic() - began
            assert frozen["error"]["code"] == GATEWAY_GONE, frozen
            said = frozen["error"]["message"]
            assert "not answering" in said and gateway.base_url in said, said
            assert "mcp.stdio_relay_silence_ms" in said, said
            assert SILENCE_S <= took < SILENCE_S + LATE_BY_S, took

            gateway.running.set()  # it runs again
            stdin.feed_data(call(2))
            assert (await editor.answer(2))["result"]["content"][0]["text"] == "done"
            # Told of the call given up, so it does not run it on after it woke.
            cancelled = await asyncio.wait_for(gateway.told_cancelled, WAIT_S)
            assert cancelled["params"]["requestId"] == 1
        finally:
            stdin.feed_eof()
            await asyncio.wait_for(running, WAIT_S)
        assert [line["id"] for line in editor.lines] == [1, 2]  # one answer each, no more


async def test_a_call_longer_than_the_bound_on_a_gateway_that_answers_is_relayed() -> None:
    async with StandIn(call_s=4 * SILENCE_S) as gateway:
        stdin, editor = asyncio.StreamReader(), Watching()
        relay = StdioForwarder(f"{gateway.base_url}/mcp", silence_s=SILENCE_S)
        running = asyncio.create_task(relay.run(stdin, editor))
        try:
            stdin.feed_data(call(1))
            answer = await editor.answer(1)
        finally:
            stdin.feed_eof()
            await asyncio.wait_for(running, WAIT_S)
        assert answer["result"]["content"][0]["text"] == "done", answer
        # The relay asked the gateway meanwhile: that, not luck, kept the call.
        assert relay.watch.probes >= 2 and gateway.health_asked >= 2


async def test_an_idle_relay_asks_the_gateway_nothing() -> None:
    async with StandIn() as gateway:
        stdin, editor = asyncio.StreamReader(), Watching()
        relay = StdioForwarder(f"{gateway.base_url}/mcp", silence_s=SILENCE_S)
        running = asyncio.create_task(relay.run(stdin, editor))
        try:
            stdin.feed_data(call(1))
            await editor.answer(1)
            asked = gateway.health_asked
            # Longer than several probe intervals with nothing waiting.
            await asyncio.sleep(2 * SILENCE_S)
            assert gateway.health_asked == asked
        finally:
            stdin.feed_eof()
            await asyncio.wait_for(running, WAIT_S)
