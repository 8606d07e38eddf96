"""Newline-delimited JSON-RPC on a pair of byte streams, as the ACP SDK's `Transport`.

Ours rather than the SDK's `NdjsonTransport` for three reasons: every byte read is handed to a
`tap` (the process runner's idle timer and output cap see an agent's output, a flood included);
a line longer than the cap is refused rather than buffered (by the one capped line reader,
`engine/lines.py`); and a line that is not a JSON-RPC
object is counted and, on the agent side (`answer_malformed`), answered with JSON-RPC's parse
error (-32700) or invalid-request error (-32600), as the specification asks, instead of only
being logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from llmgw_desktop.engine.lines import CappedLines

__all__ = ["NdjsonPipe"]

log = logging.getLogger(__name__)
READ_CHUNK = 65536
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


class _PeerLines(CappedLines[str]):
    """A peer's lines, each stripped; a line longer than the cap is refused (`LineTooLong`)."""

    unit = "the peer sent a line"
    setting = "providers.max_output_bytes"

    def feed(self, chunk: bytes) -> list[str]:
        return self._lines(chunk)

    def rest(self) -> list[str]:
        """A last line without a newline."""
        return self._lines(b"\n") if self.holds_line else []

    def _read_line(self, line: str, items: list[str]) -> None:
        self._ended()
        items.append(line)


class NdjsonPipe:
    """One JSON-RPC message per line: read from `reader`, written to `writer`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_line_bytes: int,
        tap: Callable[[bytes], object] | None = None,
        answer_malformed: bool = False,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._splitter = _PeerLines(max_line_bytes)
        self._tap = tap
        self._answer_malformed = answer_malformed
        self._lines: list[str] = []
        self._eof = False
        self._closed = False
        self.malformed = 0
        self.received = 0

    async def send(self, message: dict[str, Any]) -> None:
        """Write one message as a line.

        Raises:
            ConnectionError: the peer's end is closed.
        """
        if self._closed or self._writer.is_closing():
            raise ConnectionError("the peer's input is closed")
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ConnectionError(f"the peer's input is closed ({exc})") from None

    async def receive(self) -> dict[str, Any] | None:
        """The next JSON-RPC object, or None at end of input.

        Raises:
            LineTooLong: a line ran past the cap.
        """
        while True:
            line = await self._next_line()
            if line is None:
                return None
            text = line.strip()
            if not text:
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                await self._malformed(text, f"not JSON ({exc.msg})", PARSE_ERROR, None)
                continue
            ident = value.get("id") if isinstance(value, dict) else None
            if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
                why = 'not a JSON-RPC 2.0 object (no "jsonrpc": "2.0")'
                await self._malformed(text, why, INVALID_REQUEST, ident)
                continue
            method = value.get("method")
            if ("method" not in value and "id" not in value) or (
                "method" in value and not isinstance(method, str)
            ):
                why = "neither a request, a notification nor a response"
                await self._malformed(text, why, INVALID_REQUEST, ident)
                continue
            self.received += 1
            return value

    async def close(self) -> None:
        """Close our output (the peer sees end of input); reading stops."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._writer.close()

    async def _malformed(self, text: str, why: str, code: int, ident: Any) -> None:
        self.malformed += 1
        log.info("ACP peer sent a line that is %s: %.200s", why, text)
        if not self._answer_malformed:
            return
        if not isinstance(ident, str | int) or isinstance(ident, bool):
            ident = None
        error = {"code": code, "message": f"the line is {why}"}
        with contextlib.suppress(ConnectionError):
            await self.send({"jsonrpc": "2.0", "id": ident, "error": error})

    async def _next_line(self) -> str | None:
        while not self._lines:
            if self._eof:
                rest = self._splitter.rest()
                return rest[0] if rest else None
            chunk = await self._reader.read(READ_CHUNK)
            if not chunk:
                self._eof = True
                continue
            if self._tap is not None:
                self._tap(chunk)
            self._lines.extend(self._splitter.feed(chunk))
        return self._lines.pop(0)
