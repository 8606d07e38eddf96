"""Server-sent events: split a byte stream into (event, data) frames, and write frames; and
newline-delimited JSON split into frames by the same capped line reader."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.config.gateway_tables import DEFAULT_MAX_EVENT_BYTES
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.http_client.malformed import SseFrame, UpstreamMalformed

__all__ = ["NdjsonParser", "SseParser", "SseTooLarge", "frame"]


class SseTooLarge(UpstreamMalformed):
    """One event (or one line of it) grew past the cap before it ended."""


class SseParser:
    """Incremental SSE parsing: feed bytes, get complete frames (comments and ids ignored).

    Linear in what is fed: each chunk is searched once for line ends, and a line that spans
    chunks is kept as a list of pieces, joined once when it ends (appending to one growing
    buffer and searching it again from its start took time quadratic in the line's length: a
    48 MiB line cost 17 s of CPU). An event larger than `max_event_bytes`, counted as it
    arrives, raises `SseTooLarge` instead of being held.
    """

    _unit = "a server-sent event"  # what the cap holds, in its error

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._line: list[bytes] = []  # pieces of the line not ended yet
        self._event: str | None = None
        self._data: list[str] = []
        # Raw bytes (line ends included) of the event not ended yet, its open line included.
        self.unfinished_bytes = 0

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
            and b"\r" not in chunk
        ):
            return _whole_events(chunk)
        return self._lines(chunk)

    def _lines(self, chunk: bytes) -> list[SseFrame]:
        """The frames the lines `chunk` ends make, a line at a time (the rest is held)."""
        frames: list[SseFrame] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if start < len(chunk):
                    self._line.append(chunk[start:])
                    self._grow(len(chunk) - start)
                return frames
            self._grow(end + 1 - start)
            piece = chunk[start:end]
            if self._line:
                self._line.append(piece)
                piece = b"".join(self._line)
                self._line = []
            start = end + 1
            self._read_line(piece.rstrip(b"\r").decode("utf-8", errors="replace"), frames)

    @property
    def between_events(self) -> bool:
        """Nothing of an event is held (what was fed ended with its blank line)."""
        return not self._line and not self._data and self._event is None

    def _grow(self, count: int) -> None:
        self.unfinished_bytes += count
        if self.unfinished_bytes > self.max_event_bytes:
            raise SseTooLarge(
                f"the upstream sent {self._unit} larger than "
                f"{self.max_event_bytes} bytes (gateway.max_sse_event_bytes)"
            )

    def _read_line(self, line: str, frames: list[SseFrame]) -> None:
        if not line:
            if self._data:
                frames.append((self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            self.unfinished_bytes = 0
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

    _unit = "a line of newline-delimited JSON"

    def feed(self, chunk: bytes) -> list[SseFrame]:
        return self._lines(chunk)

    def _read_line(self, line: str, frames: list[SseFrame]) -> None:
        if line.strip():
            frames.append((None, line))
        self.unfinished_bytes = 0


def _whole_events(chunk: bytes) -> list[SseFrame]:
    """The frames of `chunk` when it holds whole events only (it ends with a blank line, no
    event came before it unfinished, and no line ends in a carriage return): what `feed` makes
    of it a line at a time, read in a few passes over the text instead (most pieces of a stream
    are one event each, and a stream has hundreds). A line break cannot fall inside a UTF-8
    sequence, so decoding the whole chunk decodes each line as `feed` would."""
    if chunk.startswith(b"data: ") and chunk.find(b"\n") == len(chunk) - 2:
        return [(None, chunk[6:-2].decode("utf-8", "replace"))]  # one line: the usual event
    frames: list[SseFrame] = []
    for block in chunk.decode("utf-8", errors="replace")[:-2].split("\n\n"):
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
