"""Server-sent events: split a byte stream into (event, data) frames, and write frames; and
newline-delimited JSON split into frames by the same capped line reader (`engine/lines.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmgw_desktop.config.gateway_tables import DEFAULT_MAX_EVENT_BYTES
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.http_client.malformed import SseFrame, UpstreamMalformed
from llmgw_desktop.engine.lines import CappedLines, LineTooLong

__all__ = ["NdjsonParser", "SseParser", "SseTooLarge", "frame", "joined_frames"]


class SseTooLarge(UpstreamMalformed, LineTooLong):
    """One event (or one line of it) grew past the cap before it ended: the upstream's fault,
    which the route may fall back from."""


class SseParser(CappedLines[SseFrame]):
    """Incremental SSE parsing: feed bytes, get complete frames (comments and ids ignored), by
    the one capped line reader: an event larger than `max_event_bytes`, counted as it arrives,
    raises `SseTooLarge` instead of being held.
    """

    unit = "the upstream sent a server-sent event"
    setting = "gateway.max_sse_event_bytes"
    too_long = SseTooLarge

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        super().__init__(max_event_bytes)
        self._event: str | None = None
        self._data: list[str] = []

    @property
    def max_event_bytes(self) -> int:
        return self.max_bytes

    def feed(self, chunk: bytes) -> list[SseFrame]:
        """The frames `chunk` completes.

        Raises:
            SseTooLarge: the event being read grew past `max_event_bytes`.
        """
        if (
            not self._line
            and not self._data
            and self._event is None
            and chunk.endswith(b"\n\n")
            and len(chunk) <= self.max_event_bytes
            and chunk.find(b"\r") < 0  # not `in`, which tries the operand as a byte's value first
        ):
            return _whole_events(chunk)
        return self._lines(chunk)

    @property
    def between_events(self) -> bool:
        """Nothing of an event is held (what was fed ended with its blank line)."""
        return not self._line and not self._data and self._event is None

    def _read_line(self, line: str, frames: list[SseFrame]) -> None:
        if not line:
            if self._data:
                frames.append((self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            self._ended()
        elif line.startswith(":"):
            return
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)

    def close(self) -> list[SseFrame]:
        """A last frame not followed by a blank line (some servers end that way)."""
        tail = self.feed(b"\n\n") if self._line or self._data else []
        return tail


class NdjsonParser(SseParser):
    """Newline-delimited JSON (Ollama's streams) split as server-sent events are, by the same
    line reader under the same cap: each line that is not blank is a frame `(None, line)`, and
    a line larger than `max_event_bytes` raises `SseTooLarge` before it is held."""

    unit = "the upstream sent a line of newline-delimited JSON"

    def feed(self, chunk: bytes) -> list[SseFrame]:
        return self._lines(chunk)

    def _read_line(self, line: str, frames: list[SseFrame]) -> None:
        if line.strip():
            frames.append((None, line))
        self._ended()


def _whole_events(chunk: bytes) -> list[SseFrame]:
    """The frames of `chunk` when it holds whole events only (it ends with a blank line, no
    event came before it unfinished, and no line ends in a carriage return): what `feed` makes
    of it a line at a time, read in a few passes over the text instead (most pieces of a stream
    are one event each, and a stream has hundreds). A line break cannot fall inside a UTF-8
    sequence, so decoding the whole chunk decodes each line as `feed` would."""
    if chunk.startswith(b"data: ") and chunk.find(b"\n") == len(chunk) - 2:
        return [(None, chunk[6:-2].decode("utf-8", "replace"))]  # one line: the usual event
    blocks = chunk.decode("utf-8", errors="replace")[:-2].split("\n\n")
    if chunk.count(b"\n") == 2 * len(blocks):
        # No line break but those between events: events of one line each, which a fast
        # upstream writes several to a read. Where each is a `data: ` line, each is its frame.
        lines: list[SseFrame] = [(None, b[6:]) for b in blocks if b.startswith("data: ")]
        if len(lines) == len(blocks):
            return lines
    frames: list[SseFrame] = []
    for block in blocks:
        event: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if not line or line[0] == ":":  # a further blank line ends nothing; a comment
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
        if data:
            frames.append((event, "\n".join(data)))
    return frames


def frame(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One SSE frame; dicts are written as compact JSON."""
    text = data if isinstance(data, str) else jsonio.dumps_text(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def joined_frames(items: Iterable[SseFrame]) -> bytes:
    """Frames written as `frame` writes each, joined: one encoding for them all (a stream's
    read may end several)."""
    return "".join(
        [
            f"event: {event}\ndata: {data}\n\n" if event else f"data: {data}\n\n"
            for event, data in items
        ]
    ).encode()
