"""What a coding CLI's call holds against hard budgets.

A CLI cannot be told an output limit, so a call is held at its model's price and maximum output
(`budgets/holds.py`). A CLI that reports its own cost (Claude Code) may be called with no model
or with an alias (`opus`) the price table does not know: such a call is held at the dearest
model of the CLI's family (`ProviderInfo.model_family`, `PriceBook.dearest`; of the alias's
family where one is named), never at $0, or any number of them at once would pass a budget.
"""

from __future__ import annotations

from llmgw_desktop.config.cli_catalog import ProviderInfo
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS, CallAsk
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN
from llmgw_desktop.engine.tokens.price_book import PriceBook

__all__ = ["cli_ask"]


def cli_ask(info: ProviderInfo, model: str | None, prompt: str, prices: PriceBook) -> CallAsk:
    """What a call of the CLI `info` asks of its budgets: its prompt, and its model's maximum
    output at its price (an unpriced model of a CLI that reports its cost: its family's
    dearest)."""
    priced_as = model
    if prices.price_of(model) is None:
        priced_as = prices.dearest(info.model_family, model, ESTIMATED_OUTPUT_TOKENS) or model
    return CallAsk(
        priced_as,
        len(prompt) // CHARS_PER_TOKEN,
        None,
        default_output=prices.max_output_of(priced_as) or ESTIMATED_OUTPUT_TOKENS,
        price=prices.price_of(priced_as),
        can_limit=False,
    )
