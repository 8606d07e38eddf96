"""Where a key may begin in a stream's raw events (`KeyMatcher.may_begin`), against a reading
by hand of the promise itself, for keys whose first characters differ: at some place in the
text a key's first `RAW_HEAD_CHARS` characters stand whole, or fewer of them end a string
value (of a delta field, where fields are given), or an escape may spell a key's character.
Generated texts mix the keys' beginnings with quotes, colons, names and escapes, so matches
that overlap or follow one another are met; the matcher must say the same, never False where
the hand reading says True."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.guard.key_matcher import (
    MIN_KEY_CHARS,
    RAW_HEAD_CHARS,
    KeyMatcher,
    _ends_string,
    _named,
)

# Keys beginning with three different characters, two sharing a start, one of the digits
# JSON numbers are made of. (A key holding a quote is left out: raw JSON never holds it
# unescaped, and its escaped spelling is read by the escape rule.)
KEYS = (
    "sk-proj-op3rat0rK3yAbCd",
    "sk-ant-api03-another99",
    "0f3a9c21d4e5b6a7c8d9e0f1",
    "AIzaSyB/xy-Zq0Kq7",
)
FIELDS = ("content", "arguments")
_MATCHER = KeyMatcher(dict.fromkeys(KEYS, "test"), lambda _source: "[K]")
_PIECES = [
    *(key[:cut] for key in KEYS for cut in (1, 2, 3, 5, RAW_HEAD_CHARS - 1, RAW_HEAD_CHARS)),
    '"',
    '":',
    '" :',
    ":",
    " ",
    ",",
    "{",
    "}",
    '"content"',
    '"id"',
    "ask",
    "0",
    "\\",
    '\\"',
    "\\u0073",
]


def _spellings() -> list[str]:
    found = []
    for key in KEYS:
        if len(key) >= MIN_KEY_CHARS:
            found += [key, jsonio.dumps_text(key)[1:-1]]
    return found


def _may_begin_by_hand(raw: str, fields: tuple[str, ...] | None) -> bool:
    """The promise read place by place (no search skips any place)."""
    if "\\" in raw and _MATCHER._spelled.may_spell(raw):
        return True
    for at in range(len(raw)):
        for spelling in _spellings():
            head = spelling[:RAW_HEAD_CHARS]
            if raw.startswith(head, at):
                return True
            for size in range(1, len(head)):
                end = at + size
                value_end = raw[end : end + 1] == '"' and not re.match(r"\s*:", raw[end + 1 :])
                if not (raw.startswith(head[:size], at) and value_end):
                    continue
                if fields is None or not _ends_string(raw, end) or _named(raw, end, fields):
                    return True
    return False


@settings(max_examples=600, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=14),
    fields=st.sampled_from([None, FIELDS]),
)
def test_may_begin_says_what_a_reading_by_hand_says(
    pieces: list[str], fields: tuple[str, ...] | None
) -> None:
    raw = "".join(pieces)
    expected = _may_begin_by_hand(raw, fields)
    assert _MATCHER.may_begin(raw, fields) is expected
    assert _MATCHER.may_begin(raw.encode(), fields) is expected


def test_a_key_beginning_after_another_keys_start_is_found() -> None:
    """Two starts one after the other, the first a delta's end of a name not read, the second
    a whole key's beginning: the second is found, for text and bytes alike."""
    raw = '{"id":"0f","content":"AIzaSyB/x"}'
    assert _MATCHER.may_begin(raw, FIELDS) is True
    assert _MATCHER.may_begin(raw.encode(), FIELDS) is True
    assert _MATCHER.may_begin('{"id":"sk"sk-proj-op3', FIELDS) is True  # at once after it
    assert _MATCHER.may_begin('{"id":"0f","model":"AIza"}', FIELDS) is False
