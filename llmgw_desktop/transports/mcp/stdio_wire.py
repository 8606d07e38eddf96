"""What the stdio relay reads and writes (`stdio_forward.py`): the editor's JSON-RPC lines on
stdin and stdout, the gateway's event streams, and the headers a 2026-era request carries.

Pure functions over bytes and streams, apart from `opened_stdio` and `opened_reader`, which open
this process's own; none imports the MCP SDK (see `stdio_forward.py` for why). `read_line` is the
one place an editor's line is held to the stdio door's cap, whichever path serves the door (this
relay, or the SDK's server in process: `stdio_in_process.py`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import logging
import os
import re
import stat
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, BinaryIO, cast

from llmgw_desktop.engine.api import SseParser, jsonio
from llmgw_desktop.transports.line_caps import MCP_EVENT_BYTES, LineTooLong
from llmgw_desktop.transports.mcp.loopback_http import Reply

__all__ = [
    "NAME_BEARING_METHODS",
    "PROTOCOL_VERSION_META_KEY",
    "ThreadFedReader",
    "encode_header_value",
    "excerpt",
    "line",
    "loads",
    "messages",
    "modern_version",
    "opened_reader",
    "opened_stdio",
    "read_line",
    "responses_to",
    "sse_events",
]

# How long an ending relay waits for a slow reader to take what its stdout still holds.
STDOUT_FLUSH_S = 5.0

log = logging.getLogger(__name__)

# The largest event the gateway's stream may send the relay (a tool's answer, an embedded
# file): as large as a message line the editor may write it (the stdio door's line cap).
MAX_EVENT_BYTES = MCP_EVENT_BYTES

# The MCP SDK's own values (mcp_types.PROTOCOL_VERSION_META_KEY, mcp.shared.inbound's
# NAME_BEARING_METHODS and header encoding), copied so the relay need not import the SDK;
# tests/transports/mcp/test_stdio_relay_light.py checks they still agree with it.
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
NAME_BEARING_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_HEADER_SAFE = re.compile(r"^[\x20-\x7E]*$")
_B64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def modern_version(message: dict[str, Any]) -> str | None:
    """The 2026-era protocol version a message carries in its envelope (None: a 2025 one)."""
    meta = (message.get("params") or {}).get("_meta") or {}
    modern = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
    return modern if isinstance(modern, str) else None


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


def line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """The editor's next line (b"" at the end of input), read from a reader `opened_reader` made:
    its limit is the door's cap, so no more than that is held before the line is refused.

    Raises:
        LineTooLong: the line passed the cap; what followed it is not read.
    """
    try:
        return await reader.readline()
    except ValueError:  # asyncio's word for a line past the reader's limit
        raise LineTooLong(MAX_EVENT_BYTES) from None


async def messages(reader: asyncio.StreamReader) -> AsyncIterator[tuple[dict[str, Any], bytes]]:
    """Each JSON object the editor writes, with its JSON text (as UTF-8) to post as it is.

    Raises:
        LineTooLong: a line passed the stdio door's cap.
    """
    while line := await read_line(reader):
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
    """The JSON payloads of an event stream's `data:` fields, each with its JSON text, read
    with the gateway's one SSE parser (an event past `MAX_EVENT_BYTES` ends the stream).

    Raises:
        SseTooLarge: one event grew past `MAX_EVENT_BYTES`.
        HttpProtocolError: the reply ended before its body did.
    """
    parser = SseParser(MAX_EVENT_BYTES)
    async for chunk in reply.chunks():
        for _event, payload in parser.feed(chunk):
            with contextlib.suppress(ValueError):
                yield json.loads(payload), payload.encode()


@contextlib.asynccontextmanager
async def opened_stdio() -> AsyncIterator[tuple[asyncio.StreamReader, Any]]:
    """asyncio reader and writer over this process's stdin and stdout, while this lasts: pipes,
    as an editor gives them, or files (`llmgw-desktop mcp < requests.jsonl > answers.jsonl`),
    which the loop cannot watch (asyncio refuses them; uvloop aborted the process): a file is
    read by `opened_reader`'s threads and written as it is (a file never makes a writer
    wait)."""
    loop = asyncio.get_running_loop()
    async with opened_reader(sys.stdin.buffer) as reader:
        if _is_file(sys.stdout.buffer):
            yield reader, _FileWriter(sys.stdout.buffer)
            return
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, sys.stdout.buffer
        )
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        try:
            yield reader, writer
        finally:
            await _flushed(writer)


async def _flushed(writer: asyncio.StreamWriter, within_s: float = STDOUT_FLUSH_S) -> None:
    """What is still in `writer`'s buffer handed to the pipe before the process ends: an
    answer longer than the pipe holds, for a reader slower than the relay (a script's pipe got
    a list cut at 131,004 characters). Bounded: a reader that stopped reading does not hold
    the exit."""
    with contextlib.suppress(OSError, RuntimeError, TimeoutError):  # the reader gone, or idle
        writer.transport.set_write_buffer_limits(high=0)  # a drain waits for every byte
        await asyncio.wait_for(writer.drain(), within_s)


@contextlib.asynccontextmanager
async def opened_reader(stdin: BinaryIO) -> AsyncIterator[asyncio.StreamReader]:
    """An asyncio reader over `stdin` whose limit is the stdio door's line cap, for as long as
    this lasts: a pipe watched by the loop, or where the loop cannot watch it (a file, and on
    Windows), one fed by worker threads (`ThreadFedReader`)."""
    if sys.platform == "win32" or _is_file(stdin):
        async with ThreadFedReader.opened(stdin) as fed:
            yield fed
        return
    reader = asyncio.StreamReader(limit=MAX_EVENT_BYTES)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    try:
        yield reader
    finally:
        transport.close()


def _unlocked_read(stdin: BinaryIO) -> Callable[[int], bytes]:
    """One read's worth of what is there (a buffered file's `read` would wait for all of it),
    from its descriptor: a buffered reader's `read1` holds the reader's lock while it reads, and
    a daemon thread found in one at exit made the interpreter's shutdown fail on that lock
    ("Fatal Python error: _enter_buffered_busy", exit 250, in a CI run). Nothing of `stdin` has
    been read through its buffer before (the door is its only reader)."""
    try:
        descriptor = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return getattr(stdin, "read1", stdin.read)
    return functools.partial(os.read, descriptor)


class ThreadFedReader:
    """Where the loop cannot watch the wire (a regular file, which no loop watches; any stdin on
    Windows, whose loop reads no anonymous pipe), it is read in worker threads, a bounded read
    at a time, into the same capped reader: this is its transport, so the reader pauses the
    reads as it pauses a pipe's (past twice its limit) and its lines are held to the cap
    alike; a file larger than memory is never held whole. A read left blocked when serving ends is
    abandoned with its thread, as the SDK's own reader is (its descriptor is never closed
    under it: `claimed_stdin` opens it so)."""

    READ_BYTES = 64 * 1024

    def __init__(self, stdin: BinaryIO, reader: asyncio.StreamReader) -> None:
        self._read = _unlocked_read(stdin)
        self._reader = reader
        self._flowing = asyncio.Event()
        self._flowing.set()

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(cls, stdin: BinaryIO) -> AsyncIterator[asyncio.StreamReader]:
        """A reader over `stdin` limited to the stdio door's cap, fed while this lasts (its
        feeding task is in a task group of its own, cancelled on the way out)."""
        reader = asyncio.StreamReader(limit=MAX_EVENT_BYTES)
        feeder = cls(stdin, reader)
        reader.set_transport(cast("asyncio.BaseTransport", feeder))
        async with asyncio.TaskGroup() as tasks:
            feeding = tasks.create_task(feeder._feed(), name="stdin reads")
            try:
                yield reader
            finally:
                feeding.cancel()

    # What the reader asks of its transport.
    def pause_reading(self) -> None:
        self._flowing.clear()

    def resume_reading(self) -> None:
        self._flowing.set()

    async def _feed(self) -> None:
        try:
            while True:
                await self._flowing.wait()
                chunk = await self._read_in_thread()
                if not chunk:
                    break
                self._reader.feed_data(chunk)
        except OSError as exc:
            self._reader.set_exception(exc)
            return
        self._reader.feed_eof()

    async def _read_in_thread(self) -> bytes:
        """One read, in a daemon thread of its own: a read still blocked when serving ends must
        not hold the process's exit (the loop's own executor is waited for at its close).

        Raises:
            OSError: the read failed.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bytes] = loop.create_future()

        def settle(chunk: bytes | None, error: OSError | None) -> None:
            if done.done():
                return  # serving ended while it read
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(chunk or b"")

        def read() -> None:
            try:
                chunk, error = self._read(self.READ_BYTES), None
            except OSError as exc:
                chunk, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle, chunk, error)

        threading.Thread(target=read, name="stdin read", daemon=True).start()
        return await done


def _is_file(stream: Any) -> bool:
    """Whether `stream` is a regular file (or a directory: anything no loop can watch)."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode))


class _FileWriter:
    """What the relay asks of its stdout's writer, over a file: each line written whole and
    flushed at once (a file never makes a writer wait)."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def write(self, data: bytes) -> None:
        self._out.write(data)
        self._out.flush()

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._out.flush()

    def is_closing(self) -> bool:
        return False
