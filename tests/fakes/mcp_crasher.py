"""A small MCP server made with the Python SDK's own MCPServer, for the upstream-server tests.

`crash` ends this process in the middle of the call (as a server that segfaults or is killed
by the OOM killer would); `pid` names the process, so a test can see a restart or an orphan;
`slow` reports progress twice. Run with no argument for stdio, or `http PORT` for Streamable
HTTP on 127.0.0.1.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
