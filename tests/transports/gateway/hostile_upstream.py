"""A loopback HTTP/1.1 upstream that shows the exact bytes the gateway sent and answers with
whatever bytes a test writes: bad headers, bodies that are not JSON, streams that never end.

The scripted upstream (`tests/fakes/upstream`) answers like a well-behaved API through aiohttp,
which normalises what it reads and refuses to write what a hostile server would; this one reads
the request head line by line and writes the answer byte for byte.

    async with HostileUpstream() as up:
        up.answer = lambda request, writer: ...  # an async function writing the reply
        ...point the gateway at up.base_url...
        (seen,) = up.llm_requests
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

LOOPBACK = "127.0.0.1"
# Bounds on what one request may take, so a test that goes wrong fails instead of hanging.
HEAD_TIMEOUT_S = 5.0
MAX_HEAD_LINES = 200
MAX_REQUEST_BODY = 64 * 1024 * 1024
# Paths that are model lists or probes, not LLM calls (the gateway reads lists at start).
_LIST_SUFFIXES = ("/models",)


@dataclass
class RawRequest:
    """One request as it came over the socket."""

    request_line: str
    # Every header line in order, names as sent (a repeated header is two entries).
    header_lines: list[tuple[str, str]]
    body: bytes

    @property
    def method(self) -> str:
        return self.request_line.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.request_line.split(" ")[1]

    def values(self, name: str) -> list[str]:
        """Every value sent under `name` (any case)."""
        return [v for k, v in self.header_lines if k.lower() == name.lower()]

    def names(self) -> set[str]:
        return {k.lower() for k, _ in self.header_lines}

    def json(self) -> Any:
        return json.loads(self.body)


Answer = Callable[[RawRequest, asyncio.StreamWriter], Awaitable[None]]


def response_head(status: int, headers: list[tuple[str, str]] | None = None) -> bytes:
    """A status line and header lines, exactly as given (no check of what they contain)."""
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked HTTP/1.1 body (chunk extensions ignored)."""
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def whole(
    body: bytes | dict[str, Any],
    *,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> Answer:
    """An answer with a Content-Length body (and `headers` before it, as given)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    async def answer(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        head = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        writer.write(response_head(status, head + (headers or [])) + data)
        await writer.drain()

    return answer


def streamed(
    *pieces: bytes,
    headers: list[tuple[str, str]] | None = None,
    gap_s: float = 0.0,
) -> Answer:
    """A 200 event stream closed by the connection's end: `pieces` written one by one,
    `gap_s` apart (so that the gateway reads them apart)."""

    async def answer(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        head = [("Content-Type", "text/event-stream"), ("Connection", "close")]
        writer.write(response_head(200, head + (headers or [])))
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            if gap_s:
                await asyncio.sleep(gap_s)

    return answer


async def not_found(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    body = b'{"error": {"message": "no such thing"}}'
    writer.write(response_head(404, [("Content-Length", str(len(body)))]) + body)
    await writer.drain()


class HostileUpstream:
    """The server. `answer` serves LLM calls; model lists get a 404."""

    def __init__(self) -> None:
        self.answer: Answer = whole({"error": "no answer scripted"}, status=500)
        self.requests: list[RawRequest] = []
        self._server: asyncio.Server | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def llm_requests(self) -> list[RawRequest]:
        return [r for r in self.requests if r.method == "POST"]

    async def __aenter__(self) -> HostileUpstream:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HEAD_TIMEOUT_S):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            # One request per connection: the answer ends by closing it.
            request = await asyncio.wait_for(_read_request(reader), HEAD_TIMEOUT_S)
            if request is None:
                return
            self.requests.append(request)
            listing = request.method == "GET" or request.path.endswith(_LIST_SUFFIXES)
            await (not_found if listing else self.answer)(request, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    first = (await reader.readline()).decode("latin-1").rstrip("\r\n")
    if not first:
        return None
    lines: list[tuple[str, str]] = []
    for _ in range(MAX_HEAD_LINES):
        line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        lines.append((name, value.strip()))
    lengths = [int(v) for k, v in lines if k.lower() == "content-length"]
    size = min(lengths[0] if lengths else 0, MAX_REQUEST_BODY)
    body = await reader.readexactly(size) if size else b""
    return RawRequest(first, lines, body)
