"""The relay opens the server-to-client event stream once the handshake is done, and what the
server sends there reaches the editor.

The server is a stand-in on loopback: our own MCP server sends nothing on that stream (its tools
never notify or ask the client), so only a stand-in can show the relay carries it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from llmgw_desktop.transports.mcp.stdio_forward import StdioForwarder
from tests.transports.mcp.relay_editor import Editor
from tests.waiting import until

SESSION = "a1b2c3"
PUSHED = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}


async def test_the_event_stream_opens_after_initialized_and_reaches_the_editor() -> None:
    seen: list[str] = []
    pushed = asyncio.Event()
    done = asyncio.Event()

    async def mcp(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            seen.append(f"GET {request.headers.get('Mcp-Session-Id')}")
            stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await stream.prepare(request)
            await stream.write(f"data: {json.dumps(PUSHED)}\n\n".encode())
            pushed.set()
            await asyncio.wait_for(done.wait(), 30)  # held open, as a real stream is
            return stream
        if request.method == "DELETE":
            seen.append("DELETE")
            return web.Response(status=200)
        message = await request.json()
        seen.append(f"POST {message['method']}")
        if "id" not in message:
            return web.Response(status=202)
        result = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {}}
        return web.json_response(
            {"jsonrpc": "2.0", "id": message["id"], "result": result},
            headers={"Mcp-Session-Id": SESSION},
        )

    runner, stdin, editor, relay = await _relay_to(mcp)
    try:
        await asyncio.wait_for(pushed.wait(), 10)
        # The pushed event is written a moment after it is sent.
        await until(lambda: PUSHED in editor.lines, "the pushed event written to the editor")
        stdin.feed_eof()  # the editor quits: the relay ends its stream and the session
        await asyncio.wait_for(relay, 10)
    finally:
        done.set()
        await runner.cleanup()
    assert seen[:3] == ["POST initialize", "POST notifications/initialized", f"GET {SESSION}"]
    assert seen[-1] == "DELETE"
    assert PUSHED in editor.lines


async def test_a_stream_opened_again_tells_the_editor_the_lists_it_may_have_missed() -> None:
    """The gateway's first stream is cut; a change it announced before the second opened was
    lost (no stream held it). Once the stream is open again the editor hears that the tools
    may have changed (the one list this server declares `listChanged` for), and it heard
    nothing of the kind when the stream first opened."""
    opens: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]
    done = asyncio.Event()
    capabilities = {"tools": {"listChanged": True}, "prompts": {}, "logging": {}}

    async def mcp(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            opened = sum(event.is_set() for event in opens)
            stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await stream.prepare(request)
            opens[min(opened, 1)].set()
            if opened == 0:
                return stream  # cut at once: what the gateway says meanwhile is lost
            await asyncio.wait_for(done.wait(), 30)
            return stream
        if request.method == "DELETE":
            return web.Response(status=200)
        message = await request.json()
        if "id" not in message:
            return web.Response(status=202)
        result = {"protocolVersion": "2025-06-18", "capabilities": capabilities, "serverInfo": {}}
        return web.json_response(
            {"jsonrpc": "2.0", "id": message["id"], "result": result},
            headers={"Mcp-Session-Id": SESSION},
        )

    runner, stdin, editor, relay = await _relay_to(mcp)
    try:
        await asyncio.wait_for(opens[0].wait(), 10)
        assert PUSHED not in editor.lines  # the first open tells nothing
        await asyncio.wait_for(opens[1].wait(), 10)
        # Written a moment after the stream's headers came.
        await until(lambda: PUSHED in editor.lines, "the editor told the tools may have changed")
        stdin.feed_eof()
        await asyncio.wait_for(relay, 10)
    finally:
        done.set()
        await runner.cleanup()
    told = [line for line in editor.lines if "id" not in line]
    assert told == [PUSHED], editor.lines


async def _relay_to(
    mcp: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> tuple[web.AppRunner, asyncio.StreamReader, Editor, asyncio.Task[None]]:
    """The stand-in `mcp` served on loopback, and a relay to it whose editor has said
    `initialize` and `notifications/initialized`: the runner (cleaned up by the test), the
    editor's stdin, what it reads, and the relay's task."""
    app = web.Application()
    app.router.add_route("*", "/mcp", mcp)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stdin = asyncio.StreamReader()
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ):
        stdin.feed_data(json.dumps(message).encode() + b"\n")
    editor = Editor()
    relay = asyncio.get_running_loop().create_task(
        StdioForwarder(f"http://127.0.0.1:{port}/mcp").run(stdin, editor)
    )
    return runner, stdin, editor, relay
