"""Forward an editor's stdio MCP connection to the running gateway's Streamable HTTP endpoint.

When the desktop app already runs, `llmgw-desktop mcp` does not start a second engine: it relays
JSON-RPC messages between stdin/stdout and the app's `/mcp`, so the editor's jobs show in the
app and share its store. The relay speaks both protocol eras: for the 2025 handshake it carries
the `Mcp-Session-Id` and protocol version the app negotiated and keeps the server-to-client
event stream open; for 2026-07-28 requests it adds the routing headers the spec requires
(`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) from each message's own envelope. Requests
run concurrently, so a long tool call does not hold up the others.

The editor's own `initialize` (its `clientInfo`) is what reaches the app, so the app records
the editor's name (`claude-code`, `cursor`, ...), never the relay's. The relay also sends that
name as `X-Caller` on every later request: a gateway serving MCP without sessions
(`mcp.stateless`) keeps no `initialize` to read it from. An editor that quits
while answers are on their way is a normal end, said in one line: the answers are dropped,
and every task the relay started is awaited or has its failure logged, never left for the
garbage collector to report.

It imports neither the MCP SDK nor aiohttp (`loopback_http` is its HTTP client): editors spawn
it on every start, and those imports alone took over a second before `initialize` was answered.
`tests/test_startup_imports.py` keeps it that way.
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
from llmgw_desktop.transports.gateway.callers import CALLER_HEADER, clean_caller
from llmgw_desktop.transports.mcp import loopback_http
from llmgw_desktop.transports.mcp.loopback_http import Reply

__all__ = ["StdioForwarder"]

log = logging.getLogger(__name__)

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
EVENT_STREAM_RETRY_S = 1.0
EVENT_STREAM_RETRIES = 30
GATEWAY_GONE = -32000
# The MCP SDK's own values (mcp_types.PROTOCOL_VERSION_META_KEY, mcp.shared.inbound's
# NAME_BEARING_METHODS and header encoding), copied so the relay need not import the SDK;
# tests/transports/mcp/test_stdio_relay_light.py checks they still agree with it.
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
NAME_BEARING_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_HEADER_SAFE = re.compile(r"^[\x20-\x7E]*$")
_B64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


class StdioForwarder:
    """Relays one stdio connection to `url` until stdin closes."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self._base_headers = headers or {}
        self._session_id: str | None = None
        self._version: str | None = None
        self._editor_name = ""  # from the editor's `initialize`, sent as X-Caller
        self._write_lock = asyncio.Lock()
        self._out: asyncio.StreamWriter | None = None
        self._initialized = asyncio.Event()  # the handshake is done: the event stream may open
        self._editor_gone = False
        # Requests go on kept connections (loopback_http); the event stream has its own.
        self._http = loopback_http.KeptConnections(url)

    async def run(self, reader: asyncio.StreamReader, writer: Any) -> None:
        """Relay until `reader` reaches end of input; `writer` has `write()` and `drain()`."""
        self._out = writer
        try:
            # Every task the relay starts lives in these two groups and ends with `run`.
            async with asyncio.TaskGroup() as streams:
                listening = streams.create_task(self._listen_once_initialized())
                async with asyncio.TaskGroup() as relays:
                    async for message, raw in _messages(reader):
                        relays.create_task(self._relay(message, raw))
                # Every message has been answered; the event stream ends with the editor.
                listening.cancel()
        except ExceptionGroup as failed:
            # Only reading stdin can fail here (the tasks log their own failures): raise
            # its error itself, as the relay did before it used task groups.
            raise failed.exceptions[0] from None
        try:
            if self._session_id is not None:
                with contextlib.suppress(OSError):
                    async with self._http.request("DELETE", headers=self._headers()) as reply:
                        await reply.read()
        finally:
            await self._http.close()

    async def _relay(self, message: dict[str, Any], raw: bytes) -> None:
        """Relay one message; a failure is logged here, so the other messages carry on."""
        try:
            await self._send(message, raw)
        except Exception:
            log.exception("relaying a message failed")

    async def _listen_once_initialized(self) -> None:
        """The event stream, opened after the handshake; its failure is logged here."""
        await self._initialized.wait()
        try:
            await self._listen()
        except Exception:
            log.exception("relaying the event stream failed")

    def _headers(self, message: dict[str, Any] | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **self._base_headers,
        }
        meta = ((message or {}).get("params") or {}).get("_meta") or {}
        modern = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
        if isinstance(modern, str) and message is not None:
            headers[VERSION_HEADER] = modern
            headers["Mcp-Method"] = str(message.get("method", ""))
            field = NAME_BEARING_METHODS.get(str(message.get("method")))
            value = (message.get("params") or {}).get(field) if field else None
            if isinstance(value, str):
                headers["Mcp-Name"] = _encode_header_value(value)
            return headers
        if self._editor_name:
            headers[CALLER_HEADER] = self._editor_name
        if self._session_id is not None:
            headers[SESSION_HEADER] = self._session_id
        if self._version is not None:
            headers[VERSION_HEADER] = self._version
        return headers

    async def _send(self, message: dict[str, Any], body: bytes) -> None:
        """Post `message` (whose JSON, as the editor wrote it, is `body`) and deliver what the
        gateway answers."""
        is_request = "method" in message and "id" in message
        if message.get("method") == "initialize":
            self._editor_name = _editor_name(message)
        answered = False
        try:
            async with self._http.request(
                "POST", headers=self._headers(message), body=body
            ) as reply:
                session = reply.header(SESSION_HEADER)
                if session and self._session_id is None:
                    self._session_id = session
                if reply.status == 202:
                    # An accepted notification; after `notifications/initialized` the
                    # handshake is done and the event stream may open.
                    if message.get("method") == "notifications/initialized":
                        self._initialized.set()
                    return
                kind = reply.header("Content-Type") or ""
                if kind.startswith("text/event-stream"):
                    async for event, data in _sse_events(reply):
                        delivered = await self._deliver(event, message.get("id"), data)
                        answered = delivered or answered
                else:
                    answer = await reply.read()
                    if not 200 <= reply.status < 300:
                        # The MCP endpoint's own JSON-RPC error for this request goes through;
                        # anything else (the auth edge's envelope, a redirect, a proxy's page)
                        # becomes a JSON-RPC error, never that body.
                        mine = _responses_to(answer, message.get("id"))
                        if not mine:
                            raise OSError(f"HTTP {reply.status}: {_excerpt(answer)}")
                        answered = await self._deliver(mine, message.get("id"))
                    elif answer:
                        answered = await self._deliver(
                            _loads(answer), message.get("id"), answer.strip()
                        )
        except (OSError, ValueError) as exc:
            log.warning("relay to %s failed: %s", self.url, exc)
            if is_request:
                await self._fail(message["id"], f"the llmgw-desktop gateway did not answer ({exc})")
            return
        if is_request and not answered:
            # Every request gets an answer: without one the editor waits for it forever.
            log.warning("the gateway's reply to %s held no answer", message.get("method"))
            await self._fail(message["id"], "the llmgw-desktop gateway's reply held no answer")
            return
        if message.get("method") == "notifications/initialized":
            self._initialized.set()

    async def _deliver(self, message: Any, request_id: Any = None, raw: bytes = b"") -> bool:
        """Write each JSON-RPC message of `message` to the editor; whether one of them is the
        response to request `request_id`. `raw`, the JSON `message` was read from, is written
        as it came when it is one message on one line (the gateway's are), rather than written
        out again."""
        answered = False
        whole = raw if isinstance(message, dict) and raw and b"\n" not in raw else b""
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict):
                result = item.get("result")
                if isinstance(result, dict) and "protocolVersion" in result and "id" in item:
                    self._version = str(result["protocolVersion"])
                if request_id is not None and item.get("id") == request_id:
                    answered = answered or "result" in item or "error" in item
                await self._write(item, whole)
        return answered

    async def _fail(self, request_id: Any, text: str) -> None:
        await self._write(
            {"jsonrpc": "2.0", "id": request_id, "error": {"code": GATEWAY_GONE, "message": text}}
        )

    async def _listen(self) -> None:
        """The 2025-era server-to-client stream (notifications, server requests)."""
        for _ in range(EVENT_STREAM_RETRIES):
            if self._editor_gone:
                return
            try:
                headers = self._headers()
                headers["Accept"] = "text/event-stream"
                async with loopback_http.request("GET", self.url, headers=headers) as reply:
                    if reply.status in (404, 405):
                        return  # no session, or the server offers no stream
                    async for event, data in _sse_events(reply):
                        await self._deliver(event, raw=data)
            except (OSError, ValueError):
                pass
            await asyncio.sleep(EVENT_STREAM_RETRY_S)

    async def _write(self, message: dict[str, Any], raw: bytes = b"") -> None:
        assert self._out is not None
        if self._editor_gone:
            return
        line = raw + b"\n" if raw else _line(message)
        async with self._write_lock:
            try:
                self._out.write(line)
                await self._out.drain()
            except ConnectionError as exc:  # the editor closed our stdout: it has quit
                if not self._editor_gone:
                    log.info("the editor closed the connection (%s); dropping its answers", exc)
                self._editor_gone = True


def _responses_to(body: bytes, request_id: Any) -> list[dict[str, Any]]:
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


def _excerpt(body: bytes) -> str:
    """What an error reply said, short: its JSON envelope's message, else its first line."""
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        text = json.loads(text)["error"]["message"]
    return str(text).strip().split("\n", 1)[0][:200] or "no body"


def _encode_header_value(value: str) -> str:
    """A value as the `Mcp-Name` header carries it: verbatim when plain printable ASCII, else
    wrapped in the `=?base64?...?=` sentinel (as the SDK's `encode_header_value`)."""
    if (
        _HEADER_SAFE.fullmatch(value)
        and value == value.strip()
        and not _B64_SENTINEL.fullmatch(value)
    ):
        return value
    return f"=?base64?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def _editor_name(initialize: dict[str, Any]) -> str:
    """The `clientInfo` name of an editor's `initialize`, if it can travel in a header."""
    info = (initialize.get("params") or {}).get("clientInfo") or {}
    name = info.get("name") if isinstance(info, dict) else None
    cleaned = clean_caller(name) if isinstance(name, str) else ""
    # Header values travel as Latin-1: a name beyond ASCII stays in `initialize` alone.
    return cleaned if cleaned.isascii() else ""


def _loads(data: bytes) -> Any:
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


def _line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


async def _messages(reader: asyncio.StreamReader) -> AsyncIterator[tuple[dict[str, Any], bytes]]:
    """Each JSON object the editor writes, with its JSON text (as UTF-8) to post as it is."""
    while line := await reader.readline():
        raw = line.strip()
        if not raw:
            continue
        try:
            message = _loads(raw)
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


async def _sse_events(reply: Reply) -> AsyncIterator[tuple[Any, bytes]]:
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
