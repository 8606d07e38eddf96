"""format_usd: one way to write dollars, precise below a cent (issue 25: a $0.003 budget read
"$0.00 of $0.00 · 133%")."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.budgets.definition import format_amount
from llmgw_desktop.engine.tokens.money import format_usd


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0.0, "$0.00"),
        (0.003, "$0.003"),
        (0.004, "$0.004"),
        (0.0041234, "$0.00412"),
        (0.05, "$0.05"),
        (0.125, "$0.125"),
        (0.5, "$0.50"),
        (1.0, "$1.00"),
        (1234.567, "$1,234.57"),
        (-0.003, "-$0.003"),
        (float("nan"), "$0.00"),
    ],
)
def test_dollars_keep_three_significant_digits_below_a_dollar(amount: float, text: str) -> None:
    assert format_usd(amount) == text


def test_a_budget_amount_is_written_by_the_same_function() -> None:
    assert format_amount("usd", 0.003) == "$0.003"
    assert format_amount("tokens", 12_300) == "12.3k tokens"
