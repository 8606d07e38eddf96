"""The operator's own keys masked where an answer repeats them (`guard.scan_answers`, off by
default): a model steered into reading a `.env` file, a coding CLI that read one, an upstream
that echoes the key it was sent. Each key is replaced by `[OPERATOR_KEY:<source>]`, naming where
it comes from (`env:OPENAI_API_KEY`, `config:openai#1`, `vault:openai#1`, `gateway:http.auth_token`)
and never its value, before the client reads it, in a whole answer or a stream of any dialect.

The keys are a handful of known strings (`KeyMatcher`): a whole one is found by plain substring
search (C speed; a text without any is left as it is), and a stream holds back the end of a
delta that could be the start of one (`held_from`), found from each key's first few
characters, so a key split over deltas is still caught. Answers are not read for other
secrets: a caller's own keys, or anything key-shaped, are the caller's business.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.results import Completed, EndingChunks, Streaming, close_chunks
from llmgw_desktop.engine.guard.stream_text import StreamRewriter, rewritten_chunks
from llmgw_desktop.engine.guard.walk import rewritten

__all__ = ["ECHO_PLACEHOLDER", "AnswerEchoes", "KeyMatcher", "KeyRule", "placeholder_for"]

# What stands for a key in an answer: the word and the source's label.
ECHO_PLACEHOLDER = "[OPERATOR_KEY:{}]"
# Shorter values are not looked for: they would mask ordinary words (as the redactor's own).
MIN_KEY_CHARS = 8
# How many of a key's first characters find where one may begin in a stream's held text.
HEAD_CHARS = 4
# A stream's raw events are read only where they hold a key's first this many characters, or
# fewer of them just before a string ends (the end of a delta that may go on into a key).
RAW_HEAD_CHARS = 8
# A source's label in a placeholder: what an answer may carry, whatever a label held.
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:#/@+-]")


def placeholder_for(source: str) -> str:
    """`[OPERATOR_KEY:env:OPENAI_API_KEY]`: what replaces a key from `source`."""
    return ECHO_PLACEHOLDER.format(_LABEL_UNSAFE.sub("_", source)[:80])


# The end of a JSON string that is a value (a name is followed by its colon).
_VALUE_END = r'"(?!\s*:)'


class KeyMatcher:
    """A handful of known keys, each with its source: found whole in a text, or as the start of
    one at a text's end. Immutable: a new set of keys is a new matcher."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        spellings: dict[str, str] = {}  # how a key may be written -> its source
        for value, source in sources.items():
            if len(value) < MIN_KEY_CHARS:
                continue
            spellings.setdefault(value, source)
            # Inside JSON text (a tool call's arguments, a raw event) a key is written escaped.
            spellings.setdefault(jsonio.dumps_text(value)[1:-1], source)
        self._source_of = spellings
        ordered = sorted(spellings, key=len, reverse=True)  # a key holding another wins
        self._keys = tuple(ordered)
        self._encoded = tuple(k.encode() for k in ordered)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._longest = len(ordered[0]) if ordered else 0
        # A key's first characters -> the keys that begin so (a held tail begins with one).
        self._heads: dict[str, tuple[str, ...]] = {}
        self._short: set[str] = set()  # every key's first 1 .. HEAD_CHARS - 1 characters
        for key in ordered:
            head = key[:HEAD_CHARS]
            self._heads[head] = (*self._heads.get(head, ()), key)
            self._short.update(key[:n] for n in range(1, HEAD_CHARS))
        starts = _start_pattern(ordered, RAW_HEAD_CHARS)
        self._starts = re.compile(starts) if ordered else None
        self._starts_bytes = re.compile(starts.encode()) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __len__(self) -> int:
        return len(set(self._source_of.values()))

    def holds(self, text: str) -> bool:
        """Whether `text` holds one of the keys whole."""
        return any(key in text for key in self._keys)

    def holds_bytes(self, data: bytes) -> bool:
        return any(key in data for key in self._encoded)

    def may_begin(self, raw: bytes | str) -> bool:
        """Whether raw JSON text (a stream's events) may hold a key, or the start of one at the
        end of a string; never False where it does."""
        if isinstance(raw, str):
            return self._starts is not None and self._starts.search(raw) is not None
        return self._starts_bytes is not None and self._starts_bytes.search(raw) is not None

    def mask(self, text: str, found: Callable[[str], None]) -> str:
        """`text` with each key replaced by its placeholder; `found(source)` for each."""
        if self._pattern is None or not self.holds(text):
            return text

        def replaced(match: re.Match[str]) -> str:
            source = self._source_of[match.group()]
            found(source)
            return placeholder_for(source)

        return self._pattern.sub(replaced, text)

    def held_from(self, text: str) -> int:
        """Where the longest end of `text` that is the start of a key (not yet whole)
        begins; `len(text)` when none is."""
        n = len(text)
        start = max(0, n - self._longest + 1)
        best = n
        for size in range(min(HEAD_CHARS - 1, n - start), 0, -1):  # longest first: earliest
            if text[n - size :] in self._short:
                best = n - size
                break
        for head, keys in self._heads.items():
            at = text.find(head, start, best + HEAD_CHARS - 1)
            while 0 <= at < best:
                tail = text[at:]
                if any(len(key) > len(tail) and key.startswith(tail) for key in keys):
                    best = at
                    break
                at = text.find(head, at + 1, best + HEAD_CHARS - 1)
        return best


def _start_pattern(keys: Sequence[str], depth: int) -> str:
    """A pattern of where a key may begin in raw JSON: its first `depth` characters, or fewer
    of them followed by the quote that ends a string value (not a name: `"choices":` ends
    with an `s` too). A trie (`s(?:"|k(?:"|-…))`), so each place is tried once, whatever the
    number of keys sharing a start."""
    trie: dict[str, Any] = {}
    for key in keys:
        node = trie
        for char in key[:depth]:
            node = node.setdefault(char, {})

    def branch(node: dict[str, Any], level: int) -> str:
        if level == depth:
            return ""
        alternatives = [_VALUE_END] if level else []
        alternatives += [re.escape(char) + branch(child, level + 1) for char, child in node.items()]
        return "(?:" + "|".join(alternatives) + ")" if alternatives else _VALUE_END

    return branch(trie, 0)


class KeyRule:
    """The stream rule of masking the operator's keys (`stream_text.TextRule`)."""

    def __init__(self, keys: KeyMatcher, found: Callable[[str], None]) -> None:
        self._keys = keys
        self._found = found

    def may_touch(self, raw: bytes | str) -> bool:
        return self._keys.may_begin(raw)

    def in_data(self, data: str) -> bool:
        return self._keys.holds(data)

    def rewrite(self, text: str, as_json: bool) -> str:
        return self._keys.mask(text, self._found)

    def held_from(self, text: str) -> int:
        return self._keys.held_from(text)

    def whole(self, value: Any) -> Any:
        return rewritten(value, lambda text, _field: self._keys.mask(text, self._found))


class AnswerEchoes:
    """One answer's scan for the operator's keys: `found(source)` is told of each key masked,
    once per source (a stream repeats its text in its `done` events; the caller records and
    counts what it is told)."""

    def __init__(self, keys: KeyMatcher, found: Callable[[str], None]) -> None:
        self.keys = keys
        self._found = found
        self._told: set[str] = set()
        self.rule = KeyRule(keys, self._tell)

    def _tell(self, source: str) -> None:
        if source not in self._told:
            self._told.add(source)
            self._found(source)

    def answer(self, answer: Completed | Streaming, dialect: str) -> Completed | Streaming:
        """The answer with every key of the operator's masked, whole or as it streams."""
        if isinstance(answer, Completed):
            raw = answer.payload()
            if not self.keys.holds_bytes(raw):
                return answer
            return dataclasses.replace(answer, body=None, raw=_masked_bytes(raw, self.rule))
        inner = answer.chunks
        chunks = rewritten_chunks(inner, StreamRewriter(dialect, self.rule))
        return dataclasses.replace(answer, chunks=EndingChunks(chunks, lambda: close_chunks(inner)))


def _masked_bytes(raw: bytes, rule: KeyRule) -> bytes:
    """A whole answer's bytes masked: its strings where it is JSON, its text where not."""
    try:
        parsed = jsonio.loads(raw)
    except ValueError:
        return rule.rewrite(raw.decode("utf-8", "replace"), False).encode()
    return jsonio.dumps(rule.whole(parsed))
