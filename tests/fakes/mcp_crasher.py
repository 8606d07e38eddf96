"""A small MCP server made with the Python SDK's own MCPServer, for the upstream-server tests.

`crash` ends this process in the middle of the call (as a server that segfaults or is killed
by the OOM killer would); `pid` names the process, so a test can see a restart or an orphan;
`slow` reports progress twice; `grow` adds a tool and says its list changed; `wait` waits
until it is cancelled, and `cancelled` says which `wait` calls were (so a test can see a
client's cancellation reach this server). Run with no argument for stdio, or `http PORT` for
Streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer(name="crasher")


@server.tool(description="Say which process answers.")
def pid() -> str:
    return str(os.getpid())


@server.tool(description="Add two numbers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="End this server's process in the middle of the call.")
def crash() -> str:
    sys.stderr.write("crasher: going down on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="Report progress twice, then answer.")
async def slow(ctx: Context) -> str:
    await ctx.report_progress(1, 2, "half way")
    await ctx.report_progress(2, 2, "done")
    return "finished"


# The labels of `wait` calls that ended cancelled, in order.
CANCELLED: list[str] = []
# How long `wait` waits at most (a test cancels it long before).
WAIT_LIMIT_S = 120.0


@server.tool(
    description="Say it started (progress 0), then wait until cancelled (at most two minutes)."
)
async def wait(label: str, ctx: Context) -> str:
    await ctx.report_progress(0, 1, "waiting")
    try:
        await asyncio.wait_for(asyncio.Event().wait(), WAIT_LIMIT_S)
    except asyncio.CancelledError:
        CANCELLED.append(label)
        raise
    return "waited"


@server.tool(description="The labels of the wait calls that were cancelled.")
def cancelled() -> str:
    return ",".join(CANCELLED)


@server.tool(description="Add a tool named NAME and tell the client the tool list changed.")
async def grow(name: str, ctx: Context) -> str:
    server.add_tool(lambda: name, name=name, description="A tool added by grow.")
    await ctx.request_context.session.send_tool_list_changed()
    return f"added {name}"


@server.prompt(name="greeting", description="A greeting for NAME.")
def greeting(name: str) -> str:
    return f"Say hello to {name}."


@server.resource("note://crasher/readme", name="readme", mime_type="text/plain")
def readme() -> str:
    return "the crasher's readme"


@server.resource("note://crasher/item/{item}", name="item", mime_type="text/plain")
def item(item: str) -> str:
    return f"item {item}"


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
