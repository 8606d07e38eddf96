"""The engine's price book: the person's prices over the bundled table, each with its source."""

from __future__ import annotations

import re

import pytest

from llmgw_desktop.config.prices import check_price_tables
from llmgw_desktop.engine.tokens.price_book import PriceBook, parse_prices
from llmgw_desktop.engine.tokens.pricing import Price, price_table
from llmgw_desktop.engine.tokens.usage import Usage

MINE = Price(1.0, 2.0, 0.1, 1.0)


def test_the_persons_price_wins_on_the_same_prefix_and_says_config() -> None:
    book = PriceBook(user={"GPT-5": MINE})
    found = book.priced("openai/gpt-5")
    assert found is not None and found.price == MINE and found.source == "config"
    # A longer bundled prefix is more specific: it still prices its own models.
    mini = book.priced("gpt-5-mini-2025")
    assert mini is not None and mini.source == "table"
    assert mini.price == price_table().prices["gpt-5-mini"]


def test_a_model_the_table_leaves_unpriced_can_be_priced_by_the_person() -> None:
    book = PriceBook()
    # Unpriced on purpose in the table, and billed by audio tokens: not even the database
    # beneath the table prices it (`not_by_tokens`).
    assert book.price_of("gpt-4o-mini-audio-preview") is None
    book.replace_user({"gpt-4o-mini-audio": MINE})
    assert book.source_of("gpt-4o-mini-audio-preview") == "config"
    assert book.cost_of("gpt-4o-mini-audio", Usage(input_tokens=1_000_000)) == pytest.approx(1.0)
    book.replace_user({})
    assert book.price_of("gpt-4o-mini-audio-preview") is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"m": {"input": 1, "output": 2}}, "missing cache_read"),
        ({"m": {"input": 1, "output": 2, "cache_read": "x"}}, "m.cache_read: a number"),
        ({"m": {"input": -1, "output": 2, "cache_read": 0}}, "m.input: between 0"),
        ({"m": {"input": 1, "output": 2, "cache_read": 0, "speed": 3}}, "unknown key(s) speed"),
        ({"": {"input": 1, "output": 2, "cache_read": 0}}, "a model name"),
    ],
)
def test_a_bad_price_table_is_refused_naming_the_model_and_field(
    table: dict[str, object], problem: str
) -> None:
    found = check_price_tables(table)
    assert found is not None and problem in found
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_prices(table)


def test_cache_write_defaults_to_the_input_price() -> None:
    parsed = parse_prices({"House-1": {"input": 3, "output": 9, "cache_read": 0.3}})
    assert parsed == {"house-1": Price(3.0, 9.0, 0.3, 3.0)}


def test_a_remembered_lookup_follows_a_price_set_later_and_stays_bounded() -> None:
    book = PriceBook()
    before = book.priced("gpt-4o-mini")
    assert before is not None and before.source == "table"
    mine = Price(1.0, 2.0, 0.5, 1.0)
    book.replace_user({"gpt-4o-mini": mine})
    after = book.priced("openai/GPT-4o-mini")
    assert after is not None and after.price == mine and after.source == "config"
    # Callers name the model: a flood of made-up names keeps the memo bounded and answers true.
    for index in range(3000):
        assert book.priced(f"made-up-{index}") is None
    assert len(book._memo) <= 1024
    assert book.priced("gpt-4o-mini") == after


def test_the_dearest_of_a_family_is_its_costliest_longest_answer() -> None:
    book = PriceBook()
    dearest = book.dearest("claude-", None, 4096)
    assert dearest is not None and book.max_output_of(dearest) == 32_000
    price = book.price_of(dearest)
    assert price is not None and price.output == 75.0
    # An alias keeps to its own family; a word no entry names falls back to every one.
    haiku = book.dearest("claude-", "haiku", 4096)
    assert haiku is not None and "haiku" in haiku
    assert book.dearest("claude-", "nonesuch", 4096) == dearest
    # The person's own entry counts, and a family with no entry has none.
    dearer = PriceBook(user={"claude-custom": Price(1.0, 1000.0, 0.1, 1.0)})
    assert dearer.dearest("claude-", None, 4096) == "claude-custom"
    assert book.dearest("", None, 4096) is None
    assert book.dearest("no-such-family-", None, 4096) is None
