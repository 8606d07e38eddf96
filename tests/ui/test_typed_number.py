"""A number typed into a form, read one way on every page (`ui/typed_number.py`)."""

from __future__ import annotations

import pytest

from llmgw_desktop.ui.typed_number import typed_number


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("", None),
        ("  ", None),
        ("5", 5),
        ("$2.50", 2.5),
        ("1,000", 1000),
        ("12,345,678.5", 12345678.5),
        ("10_000", 10000),
        ("1e3", 1000.0),
        ("0", 0),
    ],
)
def test_what_a_person_types_is_read_as_the_amount_they_meant(text: str, read: object) -> None:
    assert typed_number(text, "Budget") == read
    assert type(typed_number(text, "Budget")) is type(read)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1,5", "write decimals with a point"),  # was 15: a price ten times over
        ("5,50", "write decimals with a point"),
        ("1,0000", "write decimals with a point"),
        ("abc", "is not a number"),
        ("-3", "0 or more"),
        ("nan", "0 or more"),
        ("inf", "0 or more"),
    ],
)
def test_what_could_be_read_two_ways_is_refused_naming_the_field(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as refused:
        typed_number(text, "Input")
    assert str(refused.value).startswith("Input: ")


def test_a_whole_number_is_asked_for_where_only_one_makes_sense() -> None:
    assert typed_number("3", "Requests a minute", whole=True) == 3
    with pytest.raises(ValueError, match="not a whole number"):
        typed_number("2.5", "Requests a minute", whole=True)
