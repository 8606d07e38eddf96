"""Placeholders in an answer put back as the secrets they stand for, in the client's dialect:
a whole answer, or a stream as it goes (`StreamRestorer`, a `stream_text.StreamRewriter` whose
rule holds back the end of a delta that could begin `[SECRET:…]`).

Where the text is itself JSON (a tool call's arguments as OpenAI, Anthropic and Responses
stream them), the secret is put back JSON-escaped, so an agent's edit of a config file with a
private key in it still parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.guard.redaction import PLACEHOLDER
from llmgw_desktop.engine.guard.stream_text import StreamRewriter, TextRewriter
from llmgw_desktop.engine.guard.walk import rewritten

__all__ = [
    "Placeholders",
    "StreamRestorer",
    "TextRestorer",
    "restore_answer",
    "restore_value",
]

# The end of a text that could be the start of a placeholder (held back in a stream).
_PARTIAL = re.compile(r"\[(?:S(?:E(?:C(?:R(?:E(?:T(?::[a-z0-9_]*(?:#\d*)?)?)?)?)?)?)?)?\Z")
# Keys whose string is JSON text (a tool call's arguments): values go back JSON-escaped.
JSON_KEYS = frozenset({"arguments", "partial_json"})
_MARK = "[SECRET:"


def _put_back(text: str, originals: Mapping[str, str], as_json: bool) -> str:
    if _MARK not in text:
        return text

    def value(match: re.Match[str]) -> str:
        found = originals.get(match.group())
        if found is None:
            return match.group()
        return jsonio.dumps_text(found)[1:-1] if as_json else found

    return PLACEHOLDER.sub(value, text)


def restore_value(value: Any, originals: Mapping[str, str]) -> Any:
    """A copy of a JSON value with every placeholder put back, in its strings and its keys
    (a tool call's input an object whose names the model wrote), JSON-escaped where the string
    is JSON text."""
    return rewritten(value, lambda text, field: _put_back(text, originals, field in JSON_KEYS))


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


class Placeholders:
    """The stream rule of putting one request's placeholders back (`stream_text.TextRule`)."""

    def __init__(self, originals: Mapping[str, str]) -> None:
        self._originals = originals

    def may_touch(self, raw: bytes | str, fields: Sequence[str] | None = None) -> bool:
        # `find` for bytes: `in` tries the operand as a byte's value first.
        return ("[" in raw) if isinstance(raw, str) else (raw.find(b"[") >= 0)

    def in_data(self, data: str) -> bool:
        return _MARK in data

    def rewrite(self, text: str, as_json: bool) -> str:
        return _put_back(text, self._originals, as_json)

    def held_from(self, text: str) -> int:
        partial = _PARTIAL.search(text)
        return len(text) if partial is None else partial.start()

    def ended(self, text: str, as_json: bool) -> str:
        return text  # held text never holds a whole placeholder: it was put back first

    def whole(self, value: Any) -> Any:
        return restore_value(value, self._originals)


class StreamRestorer(StreamRewriter):
    """Puts secrets back into a stream of SSE events in one dialect, event by event."""

    def __init__(self, dialect: str, originals: Mapping[str, str]) -> None:
        super().__init__(dialect, Placeholders(originals))


class TextRestorer(TextRewriter):
    """Puts secrets back into plain text that arrives a piece at a time (a text completion's
    stream), holding back the end of a piece that could begin a placeholder."""

    def __init__(self, originals: Mapping[str, str]) -> None:
        super().__init__(Placeholders(originals))
