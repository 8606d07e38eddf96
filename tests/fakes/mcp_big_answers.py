"""A real MCP server (the Python SDK's `MCPServer`) over Streamable HTTP whose tools answer
with text of a chosen size: `sized(megabytes)`. Run as `python mcp_big_answers.py json|sse
PORT`: `json` answers each call as one JSON body (`json_response`), `sse` as an event stream.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer


def build() -> MCPServer:
    server = MCPServer(name="big-answers")

    @server.tool(description="Text of `megabytes` MiB.")
    def sized(megabytes: float) -> str:
        return "x" * int(megabytes * 1024 * 1024)

    return server


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    build().run(
        "streamable-http",
        host="127.0.0.1",
        port=port,
        json_response=mode == "json",
    )
