"""The body-validation helpers every dialect uses: the value back, or InvalidRequest naming the
field's path and what was expected."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_flag,
    optional_int,
    optional_number,
    optional_positive_int,
    optional_str,
    required_str,
    typed_field,
)


def test_expected_kinds_come_back_as_given() -> None:
    assert expect_dict({"a": 1}, "x") == {"a": 1}
    assert expect_list([1], "x") == [1]
    assert expect_str("s", "x") == "s"
    assert optional_str(None, "x") is None
    assert required_str({"k": "v"}, "k", "x") == "v"


def test_optional_values_are_none_when_absent_and_typed_when_present() -> None:
    assert optional_number(None, "x") is None
    assert optional_number(2, "x") == 2.0 and isinstance(optional_number(2, "x"), float)
    assert optional_int(None, "x") is None and optional_int(3, "x") == 3
    assert optional_positive_int(None, "x") is None and optional_positive_int(1, "x") == 1
    assert optional_flag(None, "x") is False and optional_flag(True, "x") is True


WRONG = [
    (lambda: expect_dict([], "messages[2]"), "messages[2]: expected an object"),
    (lambda: expect_list({}, "tools"), "tools: expected a list"),
    (lambda: expect_str(1, "messages[0].role"), "messages[0].role: expected a string"),
    (lambda: optional_str(1, "user"), "user: expected a string"),
    (lambda: required_str({}, "call_id", "input[1]"), "input[1].call_id: required string"),
    (lambda: optional_number(True, "temperature"), "temperature: expected a number"),
    (lambda: optional_number("1", "top_p"), "top_p: expected a number"),
    (lambda: optional_int(1.5, "seed"), "seed: expected an integer"),
    (lambda: optional_int(False, "seed"), "seed: expected an integer"),
    (
        lambda: optional_positive_int(0, "max_output_tokens"),
        "max_output_tokens: expected a positive integer",
    ),
    (lambda: optional_flag("yes", "stream"), "stream: expected true or false"),
    (
        lambda: typed_field({}, "text", "system[0].", str, "a string", required=True),
        "system[0].text: required",
    ),
    (
        lambda: typed_field({"top_k": True}, "top_k", "", int, "an integer"),
        "top_k: expected an integer",
    ),
]


@pytest.mark.parametrize(("call", "message"), WRONG, ids=[m for _, m in WRONG])
def test_a_wrong_value_names_its_path_and_the_expected_kind(call: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        call()
    assert str(caught.value) == message


def test_typed_field_takes_a_bool_only_where_bools_are_allowed() -> None:
    assert typed_field({"stream": True}, "stream", "", bool, "a boolean") is True
    assert typed_field({"n": 1.5}, "n", "", (int, float), "a number") == 1.5
    assert typed_field({}, "n", "", int, "an integer") is None
