"""Known secret values found in an answer's text, whole or begun at its end (`KeyMatcher`),
and the stream rule that masks them (`KeyRule`, a `stream_text.TextRule`): the one mechanism by
which a secret a model streams a few characters an event is still masked, whoever asks for it.

Two callers, each choosing what a value is replaced by: the gateway masks its own secrets and
the key it sent in every stream as `[REDACTED]` (`gateway/split_secrets.py`, always on), and the
answer scan masks the operator's keys as `[OPERATOR_KEY:<source>]` (`echoes.py`,
`guard.scan_answers`).

The values are a handful of known strings: a whole one is found by plain substring search (C
speed; a text without any is left as it is), and a stream holds back the end of a delta that
could be the start of one (`held_from`), found from each value's first few characters, so a
value split over deltas is still caught. An event is read, its strings decoded, where its raw
text holds a value's first characters or an escape that may spell one of its characters (the
gate of `redact.Spellings`, whose spellings it shares: `\\u0073` is `s` once decoded); in the
decoded text a value is looked for as written and in the standard JSON escape (a tool call's
arguments are JSON text), not in `\\u0041`-style escapes inside that JSON in JSON.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, AnyStr

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.guard.walk import rewritten
from llmgw_desktop.engine.redact import Spellings

__all__ = ["KeyMatcher", "KeyRule"]

# Shorter values are not looked for: they would mask ordinary words (as the redactor's own).
MIN_KEY_CHARS = 8
# How many of a key's first characters find where one may begin in a stream's held text.
HEAD_CHARS = 4
# A stream's raw events are read only where they hold a key's first this many characters, or
# fewer of them just before a string ends (the end of a delta that may go on into a key).
RAW_HEAD_CHARS = 8
# How far back from a string's closing quote its opening quote and name are looked for: past
# it (a delta longer than this), the string is taken as a delta (read, never missed).
_NAME_WINDOW = 4096


# The end of a JSON string that is a value (a name is followed by its colon).
_VALUE_END = r'"(?!\s*:)'


class KeyMatcher:
    """A handful of known keys, each with its source: found whole in a text, or as the start of
    one at a text's end, and replaced by `replaced_by(source)`. Immutable: a new set of keys is
    a new matcher."""

    def __init__(self, sources: Mapping[str, str], replaced_by: Callable[[str], str]) -> None:
        spellings: dict[str, str] = {}  # how a key may be written -> its source
        for value, source in sources.items():
            if len(value) < MIN_KEY_CHARS:
                continue
            spellings.setdefault(value, source)
            # Inside JSON text (a tool call's arguments, a raw event) a key is written escaped.
            spellings.setdefault(jsonio.dumps_text(value)[1:-1], source)
        self._source_of = spellings
        # The keys in any JSON spelling (`redact.Spellings`): an event whose raw text may spell
        # one with escapes (`\\u0073k-...`) is read, its strings decoded, like one holding it.
        values = {value for value in sources if len(value) >= MIN_KEY_CHARS}
        self._spelled = Spellings(tuple(sorted(values, key=len, reverse=True)))
        self._replaced_by = replaced_by
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
        starts = _start_patterns(ordered, RAW_HEAD_CHARS)
        self._starts = tuple(re.compile(start) for start in starts)
        self._starts_bytes = tuple(re.compile(start.encode()) for start in starts)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __len__(self) -> int:
        return len(set(self._source_of.values()))

    def holds(self, text: str) -> bool:
        """Whether `text` holds one of the keys whole."""
        return any(key in text for key in self._keys)

    def spelled_in(self, raw: str) -> bool:
        """Whether raw JSON text holds one of the keys spelled with escapes its decoder reads
        back (`\\u0073` for `s`): its strings, decoded, hold the key."""
        return self._spelled.may_spell(raw) and self._spelled.present(raw)

    def holds_bytes(self, data: bytes) -> bool:
        # `find`, not `in`: bytes-in-bytes first tries the key as an integer, making and
        # dropping a TypeError each time (about 2,000 instructions a key).
        return any(data.find(key) >= 0 for key in self._encoded)

    def may_begin(self, raw: bytes | str, fields: Sequence[str] | None = None) -> bool:
        """Whether raw JSON text (a stream's events) may hold a key, or the start of one at the
        end of a string (of a value named one of `fields`, where given: the deltas that go on
        in the next event; an id or a model name that ends as a key begins does not), or an
        escape that may spell one's character; never False where it does."""
        patterns: tuple[re.Pattern[Any], ...]
        if isinstance(raw, str):
            patterns, escaped = self._starts, "\\" in raw
        else:
            patterns, escaped = self._starts_bytes, raw.find(b"\\") >= 0  # see holds_bytes
        if not patterns:
            return False
        if escaped and self._spelled.may_spell(raw):
            return True
        for pattern in patterns:  # one a first character: see `_start_patterns`
            match = pattern.search(raw)  # type: ignore[arg-type]
            while match is not None:  # nearly every event: none
                end = match.end() - 1
                if fields is None or not _ends_string(raw, end) or _named(raw, end, fields):
                    return True  # a key's first characters whole, or a delta ending as one begins
                # A place inside this match could begin only a start ending at the same quote.
                match = pattern.search(raw, end + 1)  # type: ignore[arg-type]
        return False

    def mask(self, text: str, found: Callable[[str], None], *, open_end: bool = False) -> str:
        """`text` with each key replaced by `replaced_by(source)`; `found(source)` for each.
        `open_end`: more text may follow (a stream's delta), so a key whole at the very end
        that a longer one begins with (a key and its spelling with a last `=`) is left for
        `held_from` to hold back: what follows says which of them it is."""
        if self._pattern is None or not self.holds(text):
            return text
        end = len(text)

        def replaced(match: re.Match[str]) -> str:
            value = match.group()
            if open_end and match.end() == end and self._grows(value):
                return value
            source = self._source_of[value]
            found(source)
            return self._replaced_by(source)

        return self._pattern.sub(replaced, text)

    def _grows(self, value: str) -> bool:
        """Whether a longer key begins with `value`."""
        return any(len(key) > len(value) and key.startswith(value) for key in self._keys)

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


def _ends_string(raw: bytes | str, at: int) -> bool:
    """Whether `raw[at]` is a quote that ends a string (not an escaped one)."""
    return raw[at : at + 1] in ('"', b'"') and raw[at - 1 : at] not in ("\\", b"\\")


@functools.lru_cache(maxsize=16)
def _names(fields: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """`fields` as a JSON text names them (`"content"`), as text and as bytes."""
    quoted = tuple(f'"{field}"' for field in fields)
    return quoted, tuple(name.encode() for name in quoted)


def _named(raw: bytes | str, end: int, fields: Sequence[str]) -> bool:
    """Whether the string whose closing quote is at `end` is the value of one of `fields`
    (True where that cannot be told: its opening quote is not within `_NAME_WINDOW`). Reads
    back from the quote only as far as the string's name."""
    text, as_bytes = _names(tuple(fields))
    if isinstance(raw, str):
        return _named_in(raw, end, '"', "\\", ":", text)
    return _named_in(raw, end, b'"', b"\\", b":", as_bytes)


def _named_in(
    raw: AnyStr, end: int, quote: AnyStr, escape: AnyStr, colon: AnyStr, names: tuple[AnyStr, ...]
) -> bool:
    floor = max(0, end - _NAME_WINDOW)
    opening = end
    while True:
        opening = raw.rfind(quote, floor, opening)
        if opening < 0:
            return True
        backslashes = opening
        while backslashes > floor and raw[backslashes - 1 : backslashes] == escape:
            backslashes -= 1
        if (opening - backslashes) % 2 == 0:
            break
    before = raw[max(0, opening - 64) : opening].rstrip()
    if not before.endswith(colon):
        return False
    return before[:-1].rstrip().endswith(names)


def _start_patterns(keys: Sequence[str], depth: int) -> list[str]:
    """Patterns of where a key may begin in raw JSON, one for each first character: a key's
    first `depth` characters, or fewer of them followed by the quote that ends a string value
    (not a name: `"choices":` ends with an `s` too). Each a trie (`s(?:"|k(?:"|-…))`), so a
    place is tried once whatever the number of keys sharing a start; one pattern a first
    character, because a pattern that begins with one character is searched for that
    character alone (a tight scan), where one beginning with a choice of several tests every
    character against the set (about ten times the work on an event with none)."""
    trie: dict[str, Any] = {}
    for key in keys:
        node = trie
        for char in key[:depth]:
            node = node.setdefault(char, {})

    def branch(node: dict[str, Any], level: int) -> str:
        if level == depth:
            return ""
        alternatives = [_VALUE_END]
        alternatives += [re.escape(char) + branch(child, level + 1) for char, child in node.items()]
        return "(?:" + "|".join(alternatives) + ")"

    return [re.escape(char) + branch(child, 1) for char, child in trie.items()]


class KeyRule:
    """The stream rule of masking a matcher's keys (`stream_text.TextRule`); `found(source)` is
    told of each key masked."""

    def __init__(self, keys: KeyMatcher, found: Callable[[str], None]) -> None:
        self._keys = keys
        self._found = found

    def may_touch(self, raw: bytes | str, fields: Sequence[str] | None = None) -> bool:
        return self._keys.may_begin(raw, fields)

    def in_data(self, data: str) -> bool:
        return self._keys.holds(data) or self._keys.spelled_in(data)

    def rewrite(self, text: str, as_json: bool) -> str:
        return self._keys.mask(text, self._found, open_end=True)

    def ended(self, text: str, as_json: bool) -> str:
        return self._keys.mask(text, self._found)

    def held_from(self, text: str) -> int:
        return self._keys.held_from(text)

    def whole(self, value: Any) -> Any:
        return rewritten(value, lambda text, _field: self._keys.mask(text, self._found))
