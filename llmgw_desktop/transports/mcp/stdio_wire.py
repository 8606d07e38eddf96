"""The stdio relay's wire: the editor's lines in and out, the gateway's replies read.

Kept apart from the relay's logic (`stdio_forward.py`): how a line of JSON-RPC is read and
written as it came, an event stream taken apart, a reply's error made short, a header value
encoded as the SDK encodes it. Like the relay, it imports neither the MCP SDK nor aiohttp.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import sys
from collections.abc import AsyncIterator
from typing import Any

from llmgw_desktop.engine.api import jsonio
from llmgw_desktop.transports.gateway.callers import clean_caller
from llmgw_desktop.transports.mcp.loopback_http import Reply

__all__ = [
    "as_line",
    "editor_messages",
    "editor_name",
    "encode_header_value",
    "excerpt",
    "loads",
    "responses_to",
    "sse_events",
    "stdio_streams",
]

log = logging.getLogger(__name__)

_HEADER_SAFE = re.compile(r"^[\x20-\x7E]*$")
_B64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def responses_to(body: bytes, request_id: Any) -> list[dict[str, Any]]:
    """The JSON-RPC responses to request `request_id` in `body` (none if it is not JSON-RPC)."""
    if request_id is None:
        return []
    try:
        parsed = json.loads(body)
    except ValueError:
        return []
    return [
        item
        for item in (parsed if isinstance(parsed, list) else [parsed])
        if isinstance(item, dict)
        and item.get("id") == request_id
        and ("result" in item or "error" in item)
    ]


def excerpt(body: bytes) -> str:
    """What an error reply said, short: its JSON envelope's message, else its first line."""
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        text = json.loads(text)["error"]["message"]
    return str(text).strip().split("\n", 1)[0][:200] or "no body"


def encode_header_value(value: str) -> str:
    """A value as the `Mcp-Name` header carries it: verbatim when plain printable ASCII, else
    wrapped in the `=?base64?...?=` sentinel (as the SDK's `encode_header_value`)."""
    if (
        _HEADER_SAFE.fullmatch(value)
        and value == value.strip()
        and not _B64_SENTINEL.fullmatch(value)
    ):
        return value
    return f"=?base64?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def editor_name(initialize: dict[str, Any]) -> str:
    """The `clientInfo` name of an editor's `initialize`, if it can travel in a header."""
    info = (initialize.get("params") or {}).get("clientInfo") or {}
    name = info.get("name") if isinstance(info, dict) else None
    cleaned = clean_caller(name) if isinstance(name, str) else ""
    # Header values travel as Latin-1: a name beyond ASCII stays in `initialize` alone.
    return cleaned if cleaned.isascii() else ""


def loads(data: bytes) -> Any:
    """JSON with orjson (several times the standard library's speed, on every message), or
    with the standard library where orjson refuses it (NaN) or reads a number other than
    written: an integer past 64 bits comes back a float, and an id must stay what it was.

    Raises:
        ValueError: it is not JSON.
    """
    try:
        parsed = jsonio.loads(data)
    except ValueError:
        return json.loads(data)
    items = parsed if isinstance(parsed, list) else [parsed]
    if any(isinstance(item, dict) and isinstance(item.get("id"), float) for item in items):
        return json.loads(data)
    return parsed


def as_line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


async def editor_messages(
    reader: asyncio.StreamReader,
) -> AsyncIterator[tuple[dict[str, Any], bytes]]:
    """Each JSON object the editor writes, with its JSON text (as UTF-8) to post as it is."""
    while line := await reader.readline():
        raw = line.strip()
        if not raw:
            continue
        try:
            message = loads(raw)
        except ValueError:
            # Not UTF-8 (or not JSON): read as before, the text made valid first.
            raw = line.decode("utf-8", errors="replace").strip().encode()
            try:
                message = json.loads(raw)
            except ValueError:
                log.warning("ignoring a line that is not JSON on stdin")
                continue
        if isinstance(message, dict):
            yield message, raw


async def sse_events(reply: Reply) -> AsyncIterator[tuple[Any, bytes]]:
    """The JSON payloads of an event stream's `data:` fields, each with its JSON text."""
    data: list[str] = []
    async for raw in reply.lines():
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif not line and data:
            payload = "\n".join(data)
            data = []
            with contextlib.suppress(ValueError):
                yield json.loads(payload), payload.encode()


async def stdio_streams() -> tuple[asyncio.StreamReader, Any]:
    """asyncio reader and writer over this process's stdin and stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout.buffer
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer
