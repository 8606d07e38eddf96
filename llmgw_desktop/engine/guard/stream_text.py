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
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

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


class Held(NamedTuple):
    """What a channel holds back: the end of its last delta that could begin what is
    replaced."""

    event: dict[str, Any]  # its last delta event (a copy where it went on)
    name: str | None  # the event's SSE name
    path: Path
    as_json: bool
    text: str  # the held end
    # The event whole as it came, held with its end where nothing else of it changed (one
    # delta, nothing replaced): it goes on as it came, byte for byte, once what follows shows
    # the end begins nothing; else its delta up to the end (`before`) goes on, the end later.
    whole: bytes | None = None
    before: str = ""


class TextRule(Protocol):
    """What one answer rewrite replaces, and how a stream finds it in pieces."""

    def may_touch(self, raw: bytes | str, fields: Sequence[str] | None = None) -> bool:
        """Whether raw stream text (whole SSE events, or one event's data) may hold what is
        replaced, or the start of it at the end of a delta (a string named one of `fields`,
        where given): it is read; else it passes as it came while nothing is held. May say
        yes wrongly, never no."""
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

    def ended(self, text: str, as_json: bool) -> str:
        """Held text as it goes out when nothing more follows it (the stream ended, or another
        event came): what `rewrite` left for what might follow replaced now."""
        ...

    def whole(self, value: Any) -> Any:
        """A copy of a JSON value with everything replaced in every string."""
        ...


# The names of each dialect's delta strings (`_deltas`): a stream's raw events are read for the
# start of what is replaced only at the end of one of these.
_DELTA_FIELDS: dict[str, tuple[str, ...]] = {
    DIALECT_OPENAI_CHAT: ("content", "reasoning_content", "refusal", "arguments"),
    DIALECT_ANTHROPIC: ("text", "thinking", "partial_json"),
    DIALECT_OPENAI_RESPONSES: ("delta",),
    DIALECT_GEMINI: ("text",),
}


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
        self._fields = _DELTA_FIELDS.get(dialect, ())
        # Whether an event of the chunk being fed was written otherwise than it came.
        self._touched = False

    def feed(self, chunk: bytes) -> bytes:
        """The bytes the client gets for `chunk` (whole events only; a part waits for its
        end)."""
        whole = chunk.endswith(b"\n\n") and self._parser.between_events and not self._held
        if whole and not self._rule.may_touch(chunk, self._fields):
            return chunk  # whole events with nothing to rewrite (most): not parsed at all
        self._touched = False
        out = b"".join(self._frame(item) for item in self._parser.feed(chunk))
        if whole and not self._touched and not self._held and self._parser.between_events:
            # Read and left as it was: the bytes as they came (a comment, an `id:` kept).
            return chunk
        return out

    def close(self) -> bytes:
        """What is still held, at the stream's end."""
        tail = b"".join(self._frame(item) for item in self._parser.close())
        return tail + self._let_go(keep=None)

    def _frame(self, item: SseFrame) -> bytes:
        name, data = item
        rule = self._rule
        event: Any = None
        if self._held or rule.may_touch(data, self._fields):
            try:
                event = jsonio.loads(data)
            except ValueError:
                event = None
        if not isinstance(event, dict):
            return self._let_go(keep=None) + frame(data, name)
        deltas = _deltas(self._dialect, event)
        out = self._let_go(keep={channel for channel, _, _ in deltas})
        whole = rule.in_data(data)
        changed = False
        for channel, path, as_json in deltas:
            held = self._held.pop(channel, None)
            delta = _get(event, path)
            before = ""
            if held is not None:
                settled, before = self._settled(held, delta)
                out += settled
            text = rule.rewrite(before + delta, as_json)
            cut = rule.held_from(text)
            if cut < len(text):
                if len(deltas) == 1 and text == delta and not whole:
                    # Nothing else of it changes: it waits whole, to go on as it came.
                    self._held[channel] = Held(
                        event, name, path, as_json, text[cut:], frame(data, name), text[:cut]
                    )
                    self._touched = True
                    return out
                self._held[channel] = Held(copy.deepcopy(event), name, path, as_json, text[cut:])
                text = text[:cut]
            if text != delta:
                _set(event, path, text)
                changed = True
        if not changed and not whole:
            return out + frame(data, name)  # untouched: as it came
        self._touched = True
        rewritten = rule.whole(event) if whole else event
        return out + frame(_with_deltas(rewritten, event, deltas), name)

    def _settled(self, held: Held, delta: str) -> tuple[bytes, str]:
        """A channel's held end met by its next `delta`: what goes out before it, and the text
        that goes on in front of it. An event held whole goes as it came where the end begins
        nothing (nothing replaced, nothing of it still held), else its delta up to the end."""
        if held.whole is None:
            return b"", held.text
        combined = held.text + delta
        rule = self._rule
        if rule.rewrite(combined, held.as_json) == combined and rule.held_from(combined) >= len(
            held.text
        ):
            return held.whole, ""
        _set(held.event, held.path, held.before)
        return frame(held.event, held.name), held.text

    def _let_go(self, keep: set[str] | None) -> bytes:
        """Held text of every channel but `keep`, each in its last delta event (as it came,
        where it was held whole and nothing was left to replace)."""
        out = []
        for channel in [c for c in self._held if keep is None or c not in keep]:
            held = self._held.pop(channel)
            ended = self._rule.ended(held.text, held.as_json)
            if held.whole is not None and ended == held.text:
                out.append(held.whole)
            else:
                _set(held.event, held.path, held.before + ended)
                out.append(frame(held.event, held.name))
            self._touched = True
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
        return self._rule.ended(held, False) if held else held


async def rewritten_pieces(
    pieces: AsyncIterator[Any], rewriter: TextRewriter
) -> AsyncIterator[Any]:
    """A text completion's stream (`FimPiece`s) rewritten; what is held back at the end goes
    out with the last piece (or after it, in a copy, where the stream ended without saying)."""
    try:
        last = None
        async for piece in pieces:
            text = rewriter.feed(piece.text)
            if piece.done or piece.finish_reason is not None:
                text += rewriter.close()
            last = piece
            yield dataclasses.replace(piece, text=text)
        held = rewriter.close()
        if held and last is not None:
            yield dataclasses.replace(last, text=held)
    finally:
        closer = getattr(pieces, "aclose", None)
        if closer is not None:
            await closer()
