"""A tiny stdio MCP server (two tools) for a CLI's config when its requests are recorded.

Plain JSON-RPC over stdio, answering as the SDK's `MCPServer` does for the same two tools (the
schemas are byte for byte what it lists), and starting in milliseconds. With the SDK-based server
Codex's recorded request sometimes lacked these tools on a loaded machine. The cause is not
pinned: Codex waited 12 s for a server slow to start and 3 s for a slow tools/list in tests here.
This server has not missed since.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
CAPABILITIES = {
    "prompts": {"listChanged": False},
    "resources": {"listChanged": False, "subscribe": False},
    "tools": {"listChanged": False},
}


def _schema(title: str, properties: dict[str, str]) -> dict[str, Any]:
    return {
        "properties": {
            name: {"title": name.capitalize(), "type": kind} for name, kind in properties.items()
        },
        "required": list(properties),
        "type": "object",
        "title": title,
    }


TOOLS = [
    {
        "description": "Say the text back.",
        "inputSchema": _schema("echoArguments", {"text": "string"}),
        "name": "echo",
        "outputSchema": _schema("echoOutput", {"result": "string"}),
    },
    {
        "description": "Add two numbers.",
        "inputSchema": _schema("addArguments", {"a": "integer", "b": "integer"}),
        "name": "add",
        "outputSchema": _schema("addOutput", {"result": "integer"}),
    },
]


def _call(params: dict[str, Any]) -> dict[str, Any]:
    name, arguments = params.get("name"), params.get("arguments") or {}
    if name == "echo":
        value: Any = str(arguments.get("text", ""))
    elif name == "add":
        value = int(arguments.get("a", 0)) + int(arguments.get("b", 0))
    else:
        return {"content": [{"type": "text", "text": f"Unknown tool: {name}"}], "isError": True}
    return {
        "content": [{"type": "text", "text": str(value)}],
        "structuredContent": {"result": value},
        "isError": False,
    }


def answer(message: dict[str, Any]) -> dict[str, Any] | None:
    """The response to one JSON-RPC message (None for a notification)."""
    if "id" not in message:
        return None
    method, params = message.get("method"), message.get("params") or {}
    if method == "initialize":
        asked = params.get("protocolVersion")
        result: dict[str, Any] = {
            "capabilities": CAPABILITIES,
            "protocolVersion": asked if asked in VERSIONS else VERSIONS[-1],
            "serverInfo": {"name": "echo", "version": ""},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        result = _call(params)
    elif method in ("resources/list", "resources/templates/list", "prompts/list"):
        key = {"resources/templates/list": "resourceTemplates"}.get(method, method.split("/")[0])
        result = {key: []}
    else:
        error = {"code": -32601, "message": f"Method not found: {method}"}
        return {"jsonrpc": "2.0", "id": message["id"], "error": error}
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


def main() -> None:
    # `--start-after SECONDS`: a server slow to start (as one fetched by npx or uvx on its first
    # run), silent until then.
    if sys.argv[1:2] == ["--start-after"]:
        time.sleep(float(sys.argv[2]))
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        reply = answer(message) if isinstance(message, dict) else None
        if reply is not None:
            sys.stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
