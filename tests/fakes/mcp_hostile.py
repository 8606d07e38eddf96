"""A hostile MCP server over stdio, for the upstream-server tests: plain JSON-RPC lines, no SDK.

`mute` reads every request and never answers one (not even `initialize`); `huge N` answers
`initialize` and lists N tools in one page, each with a 1.5 KB description (20,000 of them make
a list of about 40 MiB). `liar` lists a few tools and answers their calls badly or oddly:
`malformed` with a result whose content is not a list, `off_schema` with structured content its
own output schema refuses, `bad_error` with an error that has no integer code, `fine` well; `ask`
first sends the client a `ping` and `asks_roots` a `roots/list`, waits for the client's answer
(another request of the client's may come first), and answers with what the client said.
"""

from __future__ import annotations

import json
import sys
from typing import Any

LIAR_TOOLS = [
    {"name": "fine", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "malformed", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "bad_error", "inputSchema": {"type": "object", "properties": {}}},
    {
        "name": "off_schema",
        "inputSchema": {"type": "object", "properties": {}},
        "outputSchema": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
    },
    {"name": "ask", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "asks_roots", "inputSchema": {"type": "object", "properties": {}}},
]


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def text(words: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": words}]}


class Liar:
    """Answers tool calls badly, or asks the client something first."""

    def __init__(self) -> None:
        # The calls waiting for the client's answer to our request, by that request's id.
        self.asking: dict[str, Any] = {}
        self.asked = 0

    def call(self, request_id: Any, name: str) -> None:
        if name == "fine":
            send({"jsonrpc": "2.0", "id": request_id, "result": text("fine")})
        elif name == "malformed":
            send({"jsonrpc": "2.0", "id": request_id, "result": {"content": "not a list"}})
        elif name == "off_schema":
            result = {**text("n is not a number"), "structuredContent": {"n": "seven"}}
            send({"jsonrpc": "2.0", "id": request_id, "result": result})
        elif name == "bad_error":
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": "nope"}})
        elif name in ("ask", "asks_roots"):
            self.asked += 1
            mine = f"liar-{self.asked}"
            self.asking[mine] = request_id
            method = "ping" if name == "ask" else "roots/list"
            send({"jsonrpc": "2.0", "id": mine, "method": method})
        else:
            error = {"code": -32602, "message": f"no tool {name}"}
            send({"jsonrpc": "2.0", "id": request_id, "error": error})

    def answered(self, message: dict[str, Any]) -> None:
        """The client answered a request of ours: answer the call that asked it."""
        request_id = self.asking.pop(message["id"], None)
        if request_id is not None:
            said = message.get("result", message.get("error"))
            send({"jsonrpc": "2.0", "id": request_id, "result": text(f"the client said {said}")})


def main() -> None:
    mode = sys.argv[1]
    if mode == "mute":
        for _line in sys.stdin:
            pass
        return
    count = int(sys.argv[2]) if mode == "huge" else 0
    tools = (
        LIAR_TOOLS
        if mode == "liar"
        else [
            {
                "name": f"tool_{i}",
                "description": f"tool {i} " + "x" * 1500,
                "inputSchema": {"type": "object", "properties": {}},
            }
            for i in range(count)
        ]
    )
    liar = Liar()
    for line in sys.stdin:
        message = json.loads(line)
        if "id" not in message:
            continue  # a notification
        method = message.get("method")
        if method is None:
            liar.answered(message)  # the client's answer to a request of ours
            continue
        if method == "initialize":
            result = {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": mode, "version": "1"},
            }
        elif method == "tools/list":
            result = {"tools": tools}
        elif method == "ping":
            result = {}
        elif method == "tools/call" and mode == "liar":
            liar.call(message["id"], message["params"]["name"])
            continue
        else:
            answer = {"code": -32601, "message": f"no method {method}"}
            send({"jsonrpc": "2.0", "id": message["id"], "error": answer})
            continue
        send({"jsonrpc": "2.0", "id": message["id"], "result": result})


if __name__ == "__main__":
    main()
