"""Placeholders in an answer put back as the secrets they stand for, in the client's dialect:
a whole answer, or a stream as it goes (`StreamRestorer`).

A model writes a placeholder a few tokens at a time, so in a stream `[SECRET:aws_access_key#1]`
arrives split over several text deltas. Each delta field of each dialect is a channel (a
choice's content, a tool call's arguments, a content block, a Responses item's part): the end
of a delta that could be the start of a placeholder is held back and put in front of the
channel's next delta, and any other event first lets it go (in a copy of the channel's last
delta event). Everything else (a Responses `done` event's whole text, a Gemini tool call's
arguments, a content block's start) has whole placeholders put back where they are.

Where the text is itself JSON (a tool call's arguments as OpenAI, Anthropic and Responses
stream them), the secret is put back JSON-escaped, so an agent's edit of a config file with a
private key in it still parses.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.http_client.sse import SseParser, frame
from llmgw_desktop.engine.guard.redaction import PLACEHOLDER

__all__ = [
    "StreamRestorer",
    "TextRestorer",
    "restore_answer",
    "restore_value",
    "restored_chunks",
    "restored_pieces",
]

# The end of a text that could be the start of a placeholder (held back in a stream).
_PARTIAL = re.compile(r"\[(?:S(?:E(?:C(?:R(?:E(?:T(?::[a-z0-9_]*(?:#\d*)?)?)?)?)?)?)?)?\Z")
# Keys whose string is JSON text (a tool call's arguments): values go back JSON-escaped.
_JSON_KEYS = frozenset({"arguments", "partial_json"})
_MARK = "[SECRET:"
# A stream event at most this large is restored; a larger one passes as it came.
MAX_EVENT_BYTES = 64 * 1024 * 1024

# (channel, path to the delta string, whether that string is JSON text)
Path = tuple[str | int, ...]
Delta = tuple[str, Path, bool]
# A channel's held text: its last delta event, the event's SSE name, the path, JSON?, the text.
Held = tuple[dict[str, Any], str | None, Path, bool, str]


def _put_back(text: str, originals: Mapping[str, str], as_json: bool) -> str:
    if _MARK not in text:
        return text

    def value(match: re.Match[str]) -> str:
        found = originals.get(match.group())
        if found is None:
            return match.group()
        return jsonio.dumps_text(found)[1:-1] if as_json else found

    return PLACEHOLDER.sub(value, text)


def restore_value(value: Any, originals: Mapping[str, str], key: str = "") -> Any:
    """A copy of a JSON value with every placeholder put back (JSON-escaped where the string
    is JSON text)."""
    if isinstance(value, str):
        return _put_back(value, originals, key in _JSON_KEYS)
    if isinstance(value, dict):
        return {k: restore_value(v, originals, k) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_value(v, originals, key) for v in value]
    return value


def restore_answer(raw: bytes, originals: Mapping[str, str]) -> bytes:
    """A whole answer's bytes with the placeholders put back (as they came when it holds none
    or is not JSON)."""
    if _MARK.encode() not in raw:
        return raw
    try:
        parsed = jsonio.loads(raw)
    except ValueError:
        return raw
    return jsonio.dumps(restore_value(parsed, originals))


def _deltas(dialect: str, event: Mapping[str, Any]) -> list[Delta]:
    """Where the delta strings of one stream event are, in `dialect`."""
    read = _DELTAS_BY_DIALECT.get(dialect)
    return [] if read is None else read(event)


def _chat_deltas(event: Mapping[str, Any]) -> list[Delta]:
    """OpenAI Chat: each choice's text, reasoning and refusal, and its tool calls' arguments."""
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


def _anthropic_deltas(event: Mapping[str, Any]) -> list[Delta]:
    """Anthropic: a content block's text, thinking or tool input (partial JSON)."""
    found: list[Delta] = []
    delta = event.get("delta")
    if event.get("type") == "content_block_delta" and isinstance(delta, dict):
        for name in ("text", "thinking", "partial_json"):
            if isinstance(delta.get(name), str):
                channel = f"{event.get('index')}.{name}"
                found.append((channel, ("delta", name), name == "partial_json"))
    return found


def _responses_deltas(event: Mapping[str, Any]) -> list[Delta]:
    """OpenAI Responses: any `*.delta` event's string (JSON where it is a call's arguments)."""
    kind = event.get("type")
    if isinstance(kind, str) and kind.endswith(".delta") and isinstance(event.get("delta"), str):
        where = (event.get("item_id"), event.get("output_index"), event.get("content_index"))
        return [(f"{kind}.{where}", ("delta",), "arguments" in kind)]
    return []


def _gemini_deltas(event: Mapping[str, Any]) -> list[Delta]:
    """Gemini: each candidate's text and thought parts."""
    found: list[Delta] = []
    for i, candidate in enumerate(event.get("candidates") or ()):
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        for j, part in enumerate(parts or ()):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                channel = f"{i}.{'thought' if part.get('thought') else 'text'}"
                found.append((channel, ("candidates", i, "content", "parts", j, "text"), False))
    return found


_DELTAS_BY_DIALECT: dict[str, Callable[[Mapping[str, Any]], list[Delta]]] = {
    DIALECT_OPENAI_CHAT: _chat_deltas,
    DIALECT_ANTHROPIC: _anthropic_deltas,
    DIALECT_OPENAI_RESPONSES: _responses_deltas,
    DIALECT_GEMINI: _gemini_deltas,
}


def _get(event: Any, path: Path) -> Any:
    for step in path:
        event = event[step]
    return event


def _set(event: Any, path: Path, value: str) -> None:
    for step in path[:-1]:
        event = event[step]
    event[path[-1]] = value


class StreamRestorer:
    """Puts secrets back into a stream of SSE events in one dialect, event by event."""

    def __init__(self, dialect: str, originals: Mapping[str, str]) -> None:
        self._dialect = dialect
        self._originals = originals
        self._parser = SseParser(MAX_EVENT_BYTES)
        # channel -> (the channel's last delta event, its SSE name, the path, JSON?, held text)
        self._held: dict[
            str, tuple[dict[str, Any], str | None, tuple[str | int, ...], bool, str]
        ] = {}

    def feed(self, chunk: bytes) -> bytes:
        """The bytes the client gets for `chunk` (whole events only; a part waits for its
        end)."""
        return b"".join(self._frame(item) for item in self._parser.feed(chunk))

    def close(self) -> bytes:
        """What is still held, at the stream's end."""
        tail = b"".join(self._frame(item) for item in self._parser.close())
        return tail + self._let_go(keep=None)

    def _frame(self, item: SseFrame) -> bytes:
        name, data = item
        event: Any = None
        if _MARK[:1] in data or self._held:
            try:
                event = jsonio.loads(data)
            except ValueError:
                event = None
        if not isinstance(event, dict):
            return self._let_go(keep=None) + frame(data, name)
        deltas = _deltas(self._dialect, event)
        channels = {channel for channel, _, _ in deltas}
        out = self._let_go(keep=channels)
        for channel, path, as_json in deltas:
            held = self._held.pop(channel, None)
            text = (held[4] if held else "") + _get(event, path)
            text = _put_back(text, self._originals, as_json)
            partial = _PARTIAL.search(text)
            if partial is not None and partial.start() < len(text):
                self._held[channel] = (copy.deepcopy(event), name, path, as_json, partial.group())
                text = text[: partial.start()]
            _set(event, path, text)
        restored = restore_value(event, self._originals) if _MARK in data else event
        if not deltas and restored is event and _MARK not in data:
            return out + frame(data, name)  # untouched: as it came
        return out + frame(_with_deltas(restored, event, deltas), name)

    def _let_go(self, keep: set[str] | None) -> bytes:
        """Held text of every channel but `keep`, each in a copy of its last delta event."""
        out = []
        for channel in [c for c in self._held if keep is None or c not in keep]:
            event, name, path, _as_json, text = self._held.pop(channel)
            _set(event, path, text)
            out.append(frame(event, name))
        return b"".join(out)


def _with_deltas(restored: Any, event: dict[str, Any], deltas: list[Delta]) -> Any:
    """`restored` (the event with whole placeholders put back) keeping the delta strings as
    the channels left them (a held part is not put back twice)."""
    if restored is event:
        return event
    for _channel, path, _as_json in deltas:
        _set(restored, path, _get(event, path))
    return restored


async def restored_chunks(
    chunks: AsyncIterator[bytes], restorer: StreamRestorer, close: Callable[[], Any] | None = None
) -> AsyncIterator[bytes]:
    """`chunks` with their placeholders put back as they go."""
    try:
        async for chunk in chunks:
            out = restorer.feed(chunk)
            if out:
                yield out
        tail = restorer.close()
        if tail:
            yield tail
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()


class TextRestorer:
    """Puts secrets back into plain text that arrives a piece at a time (a text completion's
    stream), holding back the end of a piece that could begin a placeholder."""

    def __init__(self, originals: Mapping[str, str]) -> None:
        self._originals = originals
        self._held = ""

    def feed(self, text: str) -> str:
        """What of `self`'s text so far can be given now."""
        text = _put_back(self._held + text, self._originals, False)
        partial = _PARTIAL.search(text)
        if partial is not None and partial.start() < len(text):
            self._held, text = partial.group(), text[: partial.start()]
        else:
            self._held = ""
        return text

    def close(self) -> str:
        """What is still held, at the end."""
        held, self._held = self._held, ""
        return held


async def restored_pieces(pieces: AsyncIterator[Any], restorer: TextRestorer) -> AsyncIterator[Any]:
    """A text completion's stream (`FimPiece`s) with its placeholders put back; what is held
    back at the end goes out with the last piece."""
    try:
        async for piece in pieces:
            text = restorer.feed(piece.text)
            if piece.done or piece.finish_reason is not None:
                text += restorer.close()
            yield dataclasses.replace(piece, text=text)
    finally:
        closer = getattr(pieces, "aclose", None)
        if closer is not None:
            await closer()
