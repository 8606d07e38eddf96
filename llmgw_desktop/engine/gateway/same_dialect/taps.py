"""Reading a same-dialect stream on the side, for the recorder: usage, the end, an error.

A passed-through stream is relayed byte for byte; the tap looks at each frame as it goes by and
parses only the few that carry usage or say the stream ended or failed (most frames are text
deltas it skips after a substring test). A tap never raises: a frame it cannot read is the
client's business, and the recorder just learns less.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from typing import Any

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.anthropic import usage as anthropic_usage
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.dialects.gemini import usage as gemini_usage
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field as gemini_field
from llmgw_desktop.engine.gateway.dialects.openai_chat import usage as chat_usage
from llmgw_desktop.engine.gateway.dialects.openai_responses import usage as responses_usage
from llmgw_desktop.engine.gateway.records.server_tool_use import (
    anthropic_server_tools,
    responses_server_tools,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["StreamTap", "stream_tap"]

# A Responses event's own number; an escaped one inside a string never matches (`\"` before `:`).
_SEQUENCE = re.compile(r'"sequence_number":\s*(\d+)')
_RESPONSES_FINAL = ("response.completed", "response.incomplete", "response.failed")
# No usage yet: one value for every tap (a `Usage` is immutable, and making one costs more
# than a tap's reading of a text delta).
_NO_USAGE = Usage()


class StreamTap(abc.ABC):
    """What a stream said about itself so far. Subclasses read one dialect's frames."""

    def __init__(self) -> None:
        self.usage = _NO_USAGE
        self.completed = False
        # The upstream's own error, sent inside the stream (the client sees it as sent).
        self.error: str | None = None
        self.frames = 0
        # The answer's id at the vendor, where the dialect keeps answers (OpenAI Responses).
        self.response_id: str | None = None
        # The vendor's server tools the answer used, by name (`server_tool_use.py`).
        self.server_tools: dict[str, int] = {}
        # The number the next event would carry, where the dialect numbers them (Responses'
        # `sequence_number`): an error the gateway adds to a cut stream continues it.
        self.next_sequence = 0

    def feed(self, sse: SseFrame) -> None:
        self.feed_all((sse,))

    def feed_all(self, frames: Sequence[SseFrame]) -> None:
        """Read the frames one read of the stream ended, in order (one call for them all: a
        stream's events often come several to a read)."""
        self.frames += len(frames)
        read = self._feed
        for event, data in frames:
            # Unreadable to us is still the client's answer: it is relayed as it came. (A
            # `try`, not `contextlib.suppress`: that is an object made and entered each frame.)
            try:  # noqa: SIM105
                read(event, data)
            except (ValueError, TypeError, KeyError, AttributeError):
                pass

    @abc.abstractmethod
    def _feed(self, event: str | None, data: str) -> None:
        """Read one frame (may raise on what it cannot read; `feed` swallows that)."""

    @staticmethod
    def _json(data: str) -> dict[str, Any]:
        value = jsonio.loads(data)
        return value if isinstance(value, dict) else {}

    @staticmethod
    def _describe(error: Any) -> str:
        if isinstance(error, dict):
            kind = error.get("type") or error.get("code") or error.get("status") or "error"
            return f"{kind}: {error.get('message')}"
        return str(error)


class _AnthropicTap(StreamTap):
    def __init__(self) -> None:
        super().__init__()
        self._start = Usage()

    def _feed(self, event: str | None, data: str) -> None:
        # Some proxies drop the `event:` line; the payload's type says the same.
        if event is None and '"type"' in data:
            event = self._json(data).get("type")
        if event == "message_start":
            message = self._json(data).get("message") or {}
            self._start = self.usage = anthropic_usage.parse_usage(message.get("usage"))
        elif event == "message_delta":
            raw_usage = self._json(data).get("usage")
            final = anthropic_usage.parse_usage(raw_usage)
            self.server_tools = anthropic_server_tools(raw_usage) or self.server_tools
            self.usage = anthropic_usage.merge_usage(self._start, final)
        elif event == "message_stop":
            self.completed = True
        elif event == "error":
            self.error = self._describe(self._json(data).get("error"))


class _ChatTap(StreamTap):
    finished = False  # a chunk with a finish_reason has come

    def _feed(self, event: str | None, data: str) -> None:
        # Complete at `[DONE]`, or once usage has come at or after the finish chunk (a server
        # that leaves `[DONE]` out loses nothing that counts). A stream that ends between the
        # finish and the usage chunk was cut, and would be counted (and kept) without its usage.
        if len(data) < 16 and data.strip() == "[DONE]":  # not a copy of every chunk
            self.completed = True
            return
        if (
            '"usage"' not in data
            and '"error"' not in data
            and '"finish_reason":"' not in data  # a reason given (every chunk has the key)
            and '"finish_reason": "' not in data
        ):
            return
        chunk = self._json(data)
        if chunk.get("error"):
            self.error = self._describe(chunk["error"])
        choices = chunk.get("choices")
        if isinstance(choices, list) and any(
            isinstance(c, dict) and c.get("finish_reason") for c in choices
        ):
            self.finished = True
        if isinstance(chunk.get("usage"), dict):
            final = chat_usage.parse_usage(chunk["usage"])
            # Merged over none (the usual single usage chunk) is the final usage itself.
            started = self.usage
            self.usage = final if started is _NO_USAGE else chat_usage.merge_usage(started, final)
            self.completed = self.completed or self.finished


class _ResponsesTap(StreamTap):
    def _feed(self, event: str | None, data: str) -> None:
        if (numbered := _SEQUENCE.search(data)) is not None:
            self.next_sequence = int(numbered.group(1)) + 1
        if event is None:  # a server that leaves out `event:` lines: the type is in the data
            if '"type"' not in data:
                return
            event = self._json(data).get("type")
        if event == "response.created":
            created = self._json(data).get("response") or {}
            if isinstance(created.get("id"), str):
                self.response_id = created["id"]
        elif event in _RESPONSES_FINAL:
            response = self._json(data).get("response") or {}
            if isinstance(response.get("id"), str):
                self.response_id = response["id"]
            self.server_tools = responses_server_tools(response)
            self.usage = responses_usage.parse_usage(response.get("usage"))
            self.completed = True
            if event == "response.failed":
                self.error = self._describe(response.get("error"))
        elif event == "error":
            payload = self._json(data)
            self.error = self._describe(payload.get("error") or payload)


class _GeminiTap(StreamTap):
    def _feed(self, event: str | None, data: str) -> None:
        if "usageMetadata" not in data and '"error"' not in data and "finishReason" not in data:
            return
        chunk = self._json(data)
        if isinstance(chunk.get("error"), dict):
            self.error = self._describe(chunk["error"])
            return
        meta = gemini_field(chunk, "usageMetadata")
        if isinstance(meta, dict):
            self.usage = gemini_usage.parse_usage(meta)
        candidates = chunk.get("candidates") or []
        if any(isinstance(c, dict) and gemini_field(c, "finishReason") for c in candidates):
            self.completed = True


def stream_tap(dialect: str) -> StreamTap:
    """A tap for streams of `dialect`."""
    if dialect == DIALECT_ANTHROPIC:
        return _AnthropicTap()
    if dialect == DIALECT_OPENAI_CHAT:
        return _ChatTap()
    if dialect == DIALECT_GEMINI:
        return _GeminiTap()
    return _ResponsesTap()
