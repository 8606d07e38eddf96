"""Server-sent events: split a byte stream into (event, data) frames, and write frames."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import SseFrame

__all__ = ["SseParser", "frame"]


class SseParser:
    """Incremental SSE parsing: feed bytes, get complete frames (comments and ids ignored)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SseFrame]:
        self._buffer += chunk
        frames: list[SseFrame] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                return frames
            line = self._buffer[:end].rstrip(b"\r").decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + 1 :]
            if not line:
                if self._data:
                    frames.append((self._event, "\n".join(self._data)))
                self._event, self._data = None, []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    self._event = value
                elif name == "data":
                    self._data.append(value)

    def close(self) -> list[SseFrame]:
        """A last frame not followed by a blank line (some servers end that way)."""
        tail = self.feed(b"\n\n") if self._buffer or self._data else []
        return tail


def frame(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One SSE frame; dicts are written as compact JSON."""
    text = data if isinstance(data, str) else jsonio.dumps_text(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()
