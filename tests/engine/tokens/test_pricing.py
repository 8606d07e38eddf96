"""The cost of a request from its tokens and the shipped price table."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.providers.cli.codex import CodexAdapter, configured_model
from llmgw_desktop.engine.tokens.pricing import (
    PRICES_REVISED,
    Price,
    cost_note,
    price_table,
)
from llmgw_desktop.engine.tokens.usage import Usage

# The shipped table's answers (the engine prices by its `PriceBook`, the person's prices on top).
price_of = price_table().price_of
estimate_cost = price_table().cost_of


def test_cache_reads_and_writes_each_cost_their_own_price() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=100_000,
        cache_read_tokens=2_000_000,
        cache_write_tokens=400_000,
    )
    # claude-sonnet: 3.00 in, 15.00 out, 0.30 cache read, 3.75 cache write per million.
    expected = 3.00 + 0.1 * 15.00 + 2 * 0.30 + 0.4 * 3.75
    assert estimate_cost("claude-sonnet-4-5", usage) == pytest.approx(expected)


def test_cache_write_without_its_own_price_costs_the_input_price() -> None:
    price = price_of("gpt-5")
    assert price is not None and price.cache_write == price.input


def test_unknown_model_has_no_cost_not_zero() -> None:
    usage = Usage(input_tokens=500, output_tokens=50)
    assert estimate_cost("some-local-llama", usage) is None
    assert estimate_cost(None, usage) is None
    assert estimate_cost("", usage) is None


def test_longest_prefix_and_vendor_prefix_pick_the_price() -> None:
    assert price_of("openai/gpt-5-mini-2025") == price_table().prices["gpt-5-mini"]
    assert price_of("GPT-5.2") == price_table().prices["gpt-5"]


def test_table_is_data_with_its_sources_and_revision_date() -> None:
    table = price_table()
    assert table.revised == PRICES_REVISED and PRICES_REVISED
    assert all(url.startswith("https://") for url in table.sources.values())
    assert cost_note("table") == {"source": "table", "prices": PRICES_REVISED}
    assert cost_note("cli") == {"source": "cli"}
    assert cost_note(None) is None


def test_codex_turn_keeps_the_model_its_config_pins(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('model = "gpt-5-codex"\n', encoding="utf-8")
    assert configured_model({"CODEX_HOME": str(tmp_path)}) == "gpt-5-codex"
    assert configured_model({"CODEX_HOME": str(tmp_path / "absent")}) is None


def test_codex_model_named_in_extra_arguments_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", "/nonexistent-codex-home")
    request = ProviderRequest(prompt="hi", extra_args=("--model", "gpt-5-mini"))
    prepared = CodexAdapter().prepare(request, "codex")
    assert prepared.parser._model == "gpt-5-mini"


def test_older_claude_models_cost_their_own_list_price_not_the_familys() -> None:
    # Anthropic's pricing page: Opus 4 and 4.1 at $15/$75, where Opus 4.5 on is $5/$25.
    assert price_of("claude-opus-4-1-20250805") == Price(15.0, 75.0, 1.5, 18.75)
    assert price_of("claude-opus-4-20250514") == price_of("claude-opus-4-1")
    assert price_of("claude-opus-4-5-20251101") == Price(5.0, 25.0, 0.5, 6.25)
    assert price_of("claude-3-5-haiku-latest") == Price(0.8, 4.0, 0.08, 1.0)
    assert price_of("claude-sonnet-5-5") == Price(2.0, 10.0, 0.2, 2.5)


def test_a_model_priced_apart_from_its_family_is_not_priced_as_the_family() -> None:
    table = price_table()
    assert price_of("gpt-5-pro") is None and "gpt-5-pro" in table.unpriced
    # gpt-5.4 and 5.5 have their own prices (Codex's and Copilot's defaults), each variant
    # its own longer prefix, so the pro models are not priced as their family.
    assert price_of("gpt-5.5") == Price(5.0, 30.0, 0.5, 5.0)
    assert price_of("gpt-5.5-pro-2026-04-23") == Price(30.0, 180.0, 30.0, 30.0)
    assert price_of("gpt-5.4-mini") == Price(0.75, 4.5, 0.075, 0.75)
    assert price_of("gpt-5.1-codex") == table.prices["gpt-5"]  # the family still prices the rest
    # The variants priced apart from gpt-4o are not priced as gpt-4o.
    assert price_of("gpt-4o-audio-preview") is None and price_of("o3-deep-research") is None


def test_the_models_issue_25_named_are_priced_with_their_source() -> None:
    """gpt-4o-mini, gpt-4.1, gpt-4o, o3, o4-mini, claude-3-5-sonnet, gemini-2.0-* and grok-3
    were unpriced; each now has a price and a note naming where it was read."""
    table = price_table()
    for model, prefix in (
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1", "gpt-4.1"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("o3", "o3"),
        ("o4-mini", "o4-mini"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("gemini-2.0-flash", "gemini-2.0-flash"),
        ("gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
        ("grok-3", "grok-3"),
    ):
        assert price_of(model) == table.prices[prefix], model
        assert "tokencost 0.1.26" in table.notes[prefix]
    assert price_of("gpt-4o-mini") == Price(0.15, 0.6, 0.075, 0.15)
    assert price_of("gpt-4o-2024-05-13") == Price(5.0, 15.0, 5.0, 5.0)  # the older, dearer one
    assert price_of("grok-3-mini") == table.prices["grok-3-mini"]  # not grok-3's
