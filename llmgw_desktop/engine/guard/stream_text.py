"""Text rewritten in an answer as it streams, in the client's dialect: the guard's two answer
rewrites (placeholders put back, `restore.py`; the operator's keys masked, `echoes.py`) share
this, each a `TextRule` saying what it replaces and what it must hold back.

A model writes a few tokens at a time, so what a rule replaces (`[SECRET:aws_access_key#1]`, a
key of 40 characters) may arrive split over several text deltas. Each delta field of each
dialect is a channel (a choice's content, a tool call's arguments, a content block, a Responses
item's part): the end of a delta that could be the start of what the rule replaces is held back
and put in front of the channel's next delta, and any other event first lets it go (in a copy
of the channel's last delta event). Everything else (a Responses `done` event's whole text, a
Gemini tool call's arguments, a content block's start) is rewritten whole where it is.

A text completion's stream is plain text a piece at a time (`TextRewriter`): the same holding
back, without the events.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.http_client.sse import SseParser, frame

__all__ = [
    "StreamRewriter",
    "TextRewriter",
    "TextRule",
    "rewritten_chunks",
    "rewritten_pieces",
]

# A stream event at most this large is rewritten; a larger one passes as it came.
MAX_EVENT_BYTES = 64 * 1024 * 1024

# (channel, path to the delta string, whether that string is JSON text)
Path = tuple[str | int, ...]
Delta = tuple[str, Path, bool]
# A channel's held text: its last delta event, the event's SSE name, the path, JSON?, the text.
Held = tuple[dict[str, Any], str | None, Path, bool, str]


class TextRule(Protocol):
    """What one answer rewrite replaces, and how a stream finds it in pieces."""

    def may_touch(self, raw: bytes | str) -> bool:
        """Whether raw stream text (whole SSE events, or one event's data) may hold what is
        replaced, or the start of it at the end of a delta: it is read; else it passes as it
        came while nothing is held. May say yes wrongly, never no."""
        ...

    def in_data(self, data: str) -> bool:
        """Whether an event's raw data holds something whole to replace."""
        ...

    def rewrite(self, text: str, as_json: bool) -> str:
        """`text` with everything whole replaced (`as_json`: the text is JSON, a tool call's
        arguments: a value put in goes JSON-escaped)."""
        ...

    def held_from(self, text: str) -> int:
        """Where the end of `text` that could grow into something to replace begins
        (`len(text)`: nothing to hold)."""
        ...

    def whole(self, value: Any) -> Any:
        """A copy of a JSON value with everything replaced in every string."""
        ...


def _deltas(dialect: str, event: Mapping[str, Any]) -> list[Delta]:
    """Where the delta strings of one stream event are, in `dialect`."""
    if dialect == DIALECT_OPENAI_CHAT:
        return _chat_deltas(event)
    if dialect == DIALECT_ANTHROPIC:
        found: list[Delta] = []
        delta = event.get("delta")
        if event.get("type") == "content_block_delta" and isinstance(delta, dict):
            for name in ("text", "thinking", "partial_json"):
                if isinstance(delta.get(name), str):
                    channel = f"{event.get('index')}.{name}"
                    found.append((channel, ("delta", name), name == "partial_json"))
        return found
    if dialect == DIALECT_OPENAI_RESPONSES:
        kind = event.get("type")
        if (
            isinstance(kind, str)
            and kind.endswith(".delta")
            and isinstance(event.get("delta"), str)
        ):
            where = (event.get("item_id"), event.get("output_index"), event.get("content_index"))
            return [(f"{kind}.{where}", ("delta",), "arguments" in kind)]
        return []
    if dialect == DIALECT_GEMINI:
        return _gemini_deltas(event)
    return []


def _chat_deltas(event: Mapping[str, Any]) -> list[Delta]:
    found: list[Delta] = []
    for i, choice in enumerate(event.get("choices") or ()):
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        for name in ("content", "reasoning_content", "refusal"):
            if isinstance(delta.get(name), str):
                found.append((f"{i}.{name}", ("choices", i, "delta", name), False))
        for j, call in enumerate(delta.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                channel = f"{i}.tool.{call.get('index', j)}"
                path = ("choices", i, "delta", "tool_calls", j, "function", "arguments")
                found.append((channel, path, True))
    return found


def _gemini_deltas(event: Mapping[str, Any]) -> list[Delta]:
    found: list[Delta] = []
    for i, candidate in enumerate(event.get("candidates") or ()):
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        for j, part in enumerate(parts or ()):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                channel = f"{i}.{'thought' if part.get('thought') else 'text'}"
                found.append((channel, ("candidates", i, "content", "parts", j, "text"), False))
    return found


def _get(event: Any, path: Path) -> Any:
    for step in path:
        event = event[step]
    return event


def _set(event: Any, path: Path, value: str) -> None:
    for step in path[:-1]:
        event = event[step]
    event[path[-1]] = value


class StreamRewriter:
    """Rewrites a stream of SSE events in one dialect by `rule`, event by event."""

    def __init__(self, dialect: str, rule: TextRule) -> None:
        self._dialect = dialect
        self._rule = rule
        self._parser = SseParser(MAX_EVENT_BYTES)
        self._held: dict[str, Held] = {}  # channel -> what it holds back

    def feed(self, chunk: bytes) -> bytes:
        """The bytes the client gets for `chunk` (whole events only; a part waits for its
        end)."""
        if (
            not self._held
            and chunk.endswith(b"\n\n")
            and self._parser.between_events
            and not self._rule.may_touch(chunk)
        ):
            return chunk  # whole events with nothing to rewrite (most): not parsed at all
        return b"".join(self._frame(item) for item in self._parser.feed(chunk))

    def close(self) -> bytes:
        """What is still held, at the stream's end."""
        tail = b"".join(self._frame(item) for item in self._parser.close())
        return tail + self._let_go(keep=None)

    def _frame(self, item: SseFrame) -> bytes:
        name, data = item
        rule = self._rule
        event: Any = None
        if self._held or rule.may_touch(data):
            try:
                event = jsonio.loads(data)
            except ValueError:
                event = None
        if not isinstance(event, dict):
            return self._let_go(keep=None) + frame(data, name)
        deltas = _deltas(self._dialect, event)
        out = self._let_go(keep={channel for channel, _, _ in deltas})
        changed = False
        for channel, path, as_json in deltas:
            held = self._held.pop(channel, None)
            delta = _get(event, path)
            text = rule.rewrite((held[4] if held else "") + delta, as_json)
            cut = rule.held_from(text)
            if cut < len(text):
                self._held[channel] = (copy.deepcopy(event), name, path, as_json, text[cut:])
                text = text[:cut]
            if text != delta:
                _set(event, path, text)
                changed = True
        whole = rule.in_data(data)
        if not changed and not whole:
            return out + frame(data, name)  # untouched: as it came
        rewritten = rule.whole(event) if whole else event
        return out + frame(_with_deltas(rewritten, event, deltas), name)

    def _let_go(self, keep: set[str] | None) -> bytes:
        """Held text of every channel but `keep`, each in a copy of its last delta event."""
        out = []
        for channel in [c for c in self._held if keep is None or c not in keep]:
            event, name, path, _as_json, text = self._held.pop(channel)
            _set(event, path, text)
            out.append(frame(event, name))
        return b"".join(out)


def _with_deltas(rewritten: Any, event: dict[str, Any], deltas: list[Delta]) -> Any:
    """`rewritten` (the event rewritten whole) keeping the delta strings as the channels left
    them (a held part is not rewritten twice)."""
    if rewritten is event:
        return event
    for _channel, path, _as_json in deltas:
        _set(rewritten, path, _get(event, path))
    return rewritten


async def rewritten_chunks(
    chunks: AsyncIterator[bytes], rewriter: StreamRewriter
) -> AsyncIterator[bytes]:
    """`chunks` rewritten as they go."""
    try:
        async for chunk in chunks:
            out = rewriter.feed(chunk)
            if out:
                yield out
        tail = rewriter.close()
        if tail:
            yield tail
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()


class TextRewriter:
    """Rewrites plain text that arrives a piece at a time (a text completion's stream) by
    `rule`, holding back the end of a piece that could begin what it replaces."""

    def __init__(self, rule: TextRule) -> None:
        self._rule = rule
        self._held = ""

    def feed(self, text: str) -> str:
        """What of the text so far can be given now."""
        text = self._rule.rewrite(self._held + text, False)
        cut = self._rule.held_from(text)
        self._held, text = text[cut:], text[:cut]
        return text

    def close(self) -> str:
        """What is still held, at the end."""
        held, self._held = self._held, ""
        return held


async def rewritten_pieces(
    pieces: AsyncIterator[Any], rewriter: TextRewriter
) -> AsyncIterator[Any]:
    """A text completion's stream (`FimPiece`s) rewritten; what is held back at the end goes
    out with the last piece."""
    try:
        async for piece in pieces:
            text = rewriter.feed(piece.text)
            if piece.done or piece.finish_reason is not None:
                text += rewriter.close()
            yield dataclasses.replace(piece, text=text)
    finally:
        closer = getattr(pieces, "aclose", None)
        if closer is not None:
            await closer()
