"""A hostile MCP server over stdio, for the upstream-server tests: plain JSON-RPC lines, no SDK.

`mute` reads every request and never answers one (not even `initialize`); `huge N` answers
`initialize` and lists N tools in one page, each with a 1.5 KB description (20,000 of them make
a list of about 40 MiB).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    mode = sys.argv[1]
    if mode == "mute":
        for _line in sys.stdin:
            pass
        return
    count = int(sys.argv[2])
    tools = [
        {
            "name": f"tool_{i}",
            "description": f"tool {i} " + "x" * 1500,
            "inputSchema": {"type": "object", "properties": {}},
        }
        for i in range(count)
    ]
    for line in sys.stdin:
        message = json.loads(line)
        if "id" not in message:
            continue  # a notification
        method = message.get("method")
        if method == "initialize":
            result = {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "huge", "version": "1"},
            }
        elif method == "tools/list":
            result = {"tools": tools}
        elif method == "ping":
            result = {}
        else:
            answer = {"code": -32601, "message": f"no method {method}"}
            reply = {"jsonrpc": "2.0", "id": message["id"], "error": answer}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
            continue
        sys.stdout.write(
            json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\n"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
