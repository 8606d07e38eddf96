"""Estimated prices, for CLIs that report tokens but no cost (Codex, Copilot, Gemini, Grok).

USD per million tokens, matched on the longest model-name prefix. These are list prices as
published by the vendors when this table was last revised; the result is marked as an
estimate (`cost_source = "price_table"`) and a reported cost always wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["PRICES", "Price", "estimate_cost"]

REVISED = "2026-11"


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float = 0.0


PRICES: dict[str, Price] = {
    "claude-opus": Price(5.00, 25.00, 0.50, 6.25),
    "claude-sonnet": Price(3.00, 15.00, 0.30, 3.75),
    "claude-haiku": Price(1.00, 5.00, 0.10, 1.25),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-5.1-codex-mini": Price(0.25, 2.00, 0.025),
    "gemini-2.5-pro": Price(1.25, 10.00, 0.125),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.01),
    "gemini-3": Price(2.00, 12.00, 0.20),
    "grok-code-fast": Price(0.20, 1.50, 0.02),
    "grok-4": Price(3.00, 15.00, 0.75),
    "grok-3-mini": Price(0.30, 0.50, 0.075),
    "devstral": Price(0.40, 2.00, 0.04),
    "mistral-medium": Price(0.40, 2.00, 0.04),
}


def estimate_cost(model: str | None, usage: Usage) -> float | None:
    """The estimated cost of `usage` on `model`, or None when the model is not in the table."""
    if not model:
        return None
    name = model.lower().split("/")[-1]
    matches = [prefix for prefix in PRICES if name.startswith(prefix)]
    if not matches:
        return None
    price = PRICES[max(matches, key=len)]
    total = (
        usage.input_tokens * price.input
        + (usage.output_tokens) * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * (price.cache_write or price.input)
    )
    return round(total / 1_000_000, 8)
