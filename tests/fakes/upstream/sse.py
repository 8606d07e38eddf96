"""Byte-level pieces shared by the dialects: SSE framing, answer chunking, rendered answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from .script import Pieces, ToolCall

JsonObject = dict[str, Any]

# How many text deltas a streamed answer is split into: more than one, so clients that
# concatenate deltas wrongly (or keep only the last) are caught.
STREAM_TEXT_CHUNKS = 3
# How many fragments streamed tool-call arguments are split into, for the same reason.
STREAM_ARGUMENT_CHUNKS = 3


def dumps(obj: Any) -> str:
    """Compact JSON, as the real APIs send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sse_event(data: Any, event: str | None = None, *, eol: str = "\n") -> bytes:
    """One SSE frame; `data` that is not a str is JSON-encoded."""
    payload = data if isinstance(data, str) else dumps(data)
    head = f"event: {event}{eol}" if event else ""
    return f"{head}data: {payload}{eol}{eol}".encode()


def split_text(text: str, parts: int = STREAM_TEXT_CHUNKS) -> list[str]:
    """Split text at spaces into up to `parts` pieces that concatenate back to `text` (a
    reply's own `Pieces` as they are)."""
    if isinstance(text, Pieces):
        return list(text.pieces)
    words = text.split(" ")
    count = min(parts, len(words))
    size, extra = divmod(len(words), count)
    pieces: list[str] = []
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        pieces.append(" ".join(words[start:end]))
        start = end
    return [p + " " for p in pieces[:-1]] + pieces[-1:]


def split_json(encoded: str, parts: int = STREAM_ARGUMENT_CHUNKS) -> list[str]:
    """Split JSON text anywhere (mid-token, as the APIs do) into up to `parts` pieces.

    Any JSON object is at least "{}", so there are always at least two pieces.
    """
    count = max(1, min(parts, len(encoded)))
    size, extra = divmod(len(encoded), count)
    pieces: list[str] = []
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        pieces.append(encoded[start:end])
        start = end
    return pieces


@dataclass(frozen=True)
class StreamAnswer:
    """A whole streamed answer as SSE frames.

    `cut_after` is the index of the frame after which a "cut" reply stops: it is the first
    text delta, so the client has seen some answer text when the connection drops.
    `finish_at` is the index of the frame that says how the answer finished, where frames
    still follow it (OpenAI Chat's usage chunk and `[DONE]`, Anthropic's `message_stop`,
    Bedrock's `metadata`); None where the finish is the stream's last frame.
    """

    frames: list[bytes]
    cut_after: int
    finish_at: int | None = None

    def cut_prefix(self) -> bytes:
        """The frames up to cut_after plus half of the next one (or of the last one)."""
        whole = min(self.cut_after + 1, len(self.frames) - 1)
        following = self.frames[whole]
        return b"".join(self.frames[:whole]) + following[: len(following) // 2]

    def through_finish(self) -> bytes:
        """The frames up to and with the finish frame, whole: the answer's text all there,
        what ends the stream (its usage, its terminator) not.

        Raises:
            ValueError: the dialect's finish frame is its last (nothing follows to leave out).
        """
        if self.finish_at is None:
            raise ValueError("this stream's finish is its last frame: nothing follows it")
        return b"".join(self.frames[: self.finish_at + 1])


@dataclass(frozen=True)
class AnswerFacts:
    """What an answer reports about the request it answers."""

    message_count: int
    last_user: str


def last_user_text(
    messages: list[JsonObject],
    *,
    text_types: tuple[str, ...] = ("text",),
    injected: tuple[str, ...] = (),
) -> str:
    """The last user message's text: its string content, or its last part of a type in
    `text_types` that is not text a client injects into the turn (starting with `injected`)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for part in reversed(content or []):
            if not isinstance(part, dict) or part.get("type") not in text_types:
                continue
            text = str(part.get("text", ""))
            if text and not text.startswith(injected):
                return text
    return ""


class DialectCodec(Protocol):
    """How one API family reads a request and writes answers and errors (sans-io)."""

    name: str

    def facts(self, body: JsonObject) -> AnswerFacts: ...

    def wanted_schema(self, body: JsonObject) -> JsonObject | None: ...

    # `call`, when given, follows `text` (which may then be empty) as the answer's tool call.
    def json_answer(
        self, body: JsonObject, text: str, model: str, call: ToolCall | None = None
    ) -> JsonObject: ...

    def stream_answer(
        self, body: JsonObject, text: str, model: str, call: ToolCall | None = None
    ) -> StreamAnswer: ...

    def malformed_json(self) -> bytes: ...

    def malformed_stream(self) -> list[bytes]: ...

    def error(self, status: int, message: str) -> tuple[JsonObject, dict[str, str]]: ...
