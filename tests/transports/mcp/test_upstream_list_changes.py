"""An upstream server's changed list reaches our own connected clients, and a client's
cancellation reaches the upstream server. A real server (the Python SDK's own MCPServer,
tests/fakes/mcp_crasher.py) over stdio, a real gateway, and the official `mcp` client, on /mcp
and through the stdio relay (`llmgw-desktop mcp`) to a running gateway."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
from mcp import Client, StdioServerParameters

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from tests.child_python import run_ours
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.transports.mcp.upstream_support import (
    CRASHER,
    Start,
    crasher,
    local_mcp,
    require_servers,
    rows,
)

# How long a notification or a cancelled call may take to arrive (bounded; never a sleep).
ARRIVAL_S = 30.0
# How many times a test asks the server whether a cancel reached it (each a round trip).
CHECKS = 500


async def _names(client: Client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


async def test_an_upstream_tool_list_change_is_told_to_each_connected_client(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    heard: list[Any] = []
    changed = asyncio.Event()

    async def hear(message: Any) -> None:
        heard.append(message)
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changed.set()

    async with local_mcp(gateway, message_handler=hear) as watcher, local_mcp(gateway) as actor:
        tools = watcher.server_capabilities.tools
        assert tools is not None and tools.list_changed, watcher.server_capabilities
        before = {t.name for t in (await watcher.list_tools()).tools}
        grown = await actor.call_tool("crasher__grow", {"name": "sprout"})
        await asyncio.wait_for(changed.wait(), ARRIVAL_S)
        withheld = {t.name for t in (await watcher.list_tools()).tools}
        # A tool added after the server's tools were pinned waits for a person (SECURITY 98);
        # approved at the desk, every connected client is told again.
        changed.clear()
        assert await gateway.engine.upstream_mcp.approve_tools(OPERATOR, "crasher") == ["sprout"]
        await asyncio.wait_for(changed.wait(), ARRIVAL_S)
        after = {t.name for t in (await watcher.list_tools()).tools}
        sprouted = await watcher.call_tool("crasher__sprout", {})
    assert not grown.is_error, grown
    assert "crasher__sprout" not in before and "crasher__sprout" not in withheld
    assert "crasher__sprout" in after, after
    assert not sprouted.is_error and sprouted.content[0].text == "sprout", sprouted


async def test_a_cancelled_call_is_cancelled_upstream_and_recorded_as_canceled(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    began = anyio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        began.set()  # the server has the call: a cancel now has something to reach

    async with local_mcp(gateway) as client:
        async with anyio.create_task_group() as group:

            async def wait() -> None:
                await client.call_tool(
                    "crasher__wait", {"label": "first"}, progress_callback=progress
                )

            group.start_soon(wait)
            with anyio.fail_after(ARRIVAL_S):
                await began.wait()
            group.cancel_scope.cancel()  # the SDK's client sends notifications/cancelled
        # The same session stays open: what ends the upstream call is the cancel alone.
        seen = ""
        for _ in range(CHECKS):
            seen = (await client.call_tool("crasher__cancelled", {})).content[0].text
            if "first" in seen:
                break
    assert seen == "first", "the server never saw the call cancelled"
    states = [(r["tool"], r["state"]) for r in await rows(gateway, "crasher")]
    assert ("crasher__wait", "canceled") in states, states


async def test_through_the_stdio_relay_an_editor_gets_prompts_resources_and_list_changes(
    tmp_path: Path,
) -> None:
    require_servers()
    home, port = tmp_path / "gw", free_port()
    home.mkdir()
    (home / "config.toml").write_text(
        f"[mcp.servers.crasher]\ncommand = {sys.executable!r}\nargs = [{str(CRASHER)!r}]\n",
        encoding="utf-8",
    )
    running = gp.start(["--headless"], gp.child_env(home, port))
    gp.wait_ready(running, port)
    changed = asyncio.Event()

    async def hear(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changed.set()

    relay = StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=gp.child_env(home, port)
    )
    try:
        async with Client(relay, mode="legacy", message_handler=hear) as editor:
            prompts = {p.name for p in (await editor.list_prompts()).prompts}
            readme = await editor.read_resource("crasher+note://crasher/readme")
            async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as other:
                await other.call_tool("crasher__grow", {"name": "sprout"})
            await asyncio.wait_for(changed.wait(), ARRIVAL_S)
            # Added after the server's tools were pinned: offered once approved (SECURITY 98).
            approved, _, said = await run_ours(
                "mcp-servers", "approve", "crasher", env=gp.child_env(home, port)
            )
            assert approved == 0, said
            async with asyncio.timeout(ARRIVAL_S):  # the app reads the pins within a second
                while "crasher__sprout" not in (tools := await _names(editor)):  # noqa: ASYNC110 - a file
                    await asyncio.sleep(0.2)
    finally:
        code, _, err = gp.stop(running)
    assert code == 0, err
    assert "crasher__greeting" in prompts, prompts
    assert readme.contents[0].text == "the crasher's readme", readme
    assert "crasher__sprout" in tools, tools
    assert "relaying stdio MCP" in gp.read_log(home)
