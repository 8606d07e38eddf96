"""A remote caller's body that gives a key two values is refused, whichever check decides.

`_refuse_repeated_keys` first counts colons (`_names_each_key_once`) and runs the standard
library's pair-by-pair parse only when the count cannot tell; these tests hold the two to the
same answers as the pair-by-pair parse alone, over generated bodies and the shapes that could
fool a count (colons inside strings, a colon spelled as an escape, the same value twice).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import (
    _names_each_key_once,
    _refuse_repeated_keys,
)

_KEYS = st.sampled_from(["a", "b", "a:b", "tools", "type", ":", "\u00e9:"])
_TEXT = st.text(alphabet=st.sampled_from('ab:" \\\u00e9\n'), max_size=6)
_LEAVES = st.none() | st.booleans() | st.integers(-5, 5) | _TEXT


def _pairs(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An object as its list of members, keys possibly repeated (JSON allows writing that)."""
    return st.lists(st.tuples(_KEYS, children), max_size=4).map(_Members)


class _Members(list):  # type: ignore[type-arg]
    """An object written member by member, repeats and all."""


_VALUES = st.recursive(
    _LEAVES, lambda children: st.lists(children, max_size=3) | _pairs(children), max_leaves=12
)


def _write(value: Any, *, escape_colons: bool) -> str:
    if isinstance(value, _Members):
        members = (
            f"{_write(k, escape_colons=escape_colons)}: {_write(v, escape_colons=escape_colons)}"
            for k, v in value
        )
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(v, escape_colons=escape_colons) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    return text.replace(":", "\\u003a") if escape_colons and isinstance(value, str) else text


def _refused(raw: bytes) -> bool:
    try:
        _refuse_repeated_keys(raw, orjson.loads(raw))
    except EngineError:
        return True
    return False


def _refused_pair_by_pair(raw: bytes) -> bool:
    """The reference: every object's pairs, a key with two different values refused."""

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        first: dict[str, Any] = {}
        for key, value in members:
            if key in first and json.dumps(first[key]) != json.dumps(value):
                raise ValueError(key)
            first.setdefault(key, value)
        return dict(members)

    try:
        json.loads(raw, object_pairs_hook=pairs)
    except ValueError:
        return True
    return False


@settings(max_examples=400, deadline=None)
@given(body=_pairs(_VALUES), escape=st.booleans())
def test_the_count_and_the_pair_by_pair_parse_refuse_the_same_bodies(
    body: Any, escape: bool
) -> None:
    raw = _write(body, escape_colons=escape).encode()
    assert _refused(raw) == _refused_pair_by_pair(raw), raw


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "b": "x:y"}',
        b'{"a:b": {"c": [1, {"d": ":"}]}}',
        '{"caf\u00e9": "\u00e9:\u00e9"}'.encode(),
        b'{"a": "\\" : not a key"}',
    ],
)
def test_a_body_naming_each_key_once_is_told_by_the_count(raw: bytes) -> None:
    assert _names_each_key_once(raw, orjson.loads(raw))
    assert not _refused(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"tools": [1], "tools": []}',
        b'{"a": {"type": "x", "type": "y"}}',
        # A colon spelled as an escape could make up for the member a repeat drops.
        b'{"a": 1, "a": 2, "b": "\\u003a"}',
        b'{"a": 1, "a": 2, "b": "\\u003A"}',
    ],
)
def test_a_body_giving_a_key_two_values_is_refused(raw: bytes) -> None:
    assert not _names_each_key_once(raw, orjson.loads(raw))
    assert _refused(raw)


def test_the_same_value_twice_is_left_to_the_exact_check_and_passes() -> None:
    raw = b'{"a": [1, 2], "a": [1, 2]}'
    assert not _names_each_key_once(raw, orjson.loads(raw))
    assert not _refused(raw)
