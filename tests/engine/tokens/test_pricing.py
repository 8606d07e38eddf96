"""The cost of a request from its tokens and the shipped price table."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.providers.cli.codex import CodexAdapter, configured_model
from llmgw_desktop.engine.tokens.pricing import (
    PRICES_REVISED,
    cost_note,
    estimate_cost,
    price_of,
    price_table,
)
from llmgw_desktop.engine.tokens.usage import Usage


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
