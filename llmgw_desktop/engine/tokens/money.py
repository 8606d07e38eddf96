"""Dollar amounts as every place shows them: the pages, the tray, notifications, error bodies.

One function, so a $0.003 budget never reads "$0.00" in one place and "$0.003" in another.
"""

from __future__ import annotations

import math

__all__ = ["format_usd"]

# Significant digits kept below a dollar: a sub-cent budget or spend keeps its figure.
SUB_DOLLAR_DIGITS = 3
MAX_DECIMALS = 8  # the recorder's cost precision


def format_usd(amount: float) -> str:
    """`$1,234.56` from a dollar up; below it, three significant digits without trailing
    zeros but at least cents: `$0.50`, `$0.125`, `$0.003`, `$0.000412`; `$0.00` for zero."""
    if not amount or not math.isfinite(amount):
        return "$0.00"
    sign = "-" if amount < 0 else ""
    size = abs(amount)
    if size >= 1:
        return f"{sign}${size:,.2f}"
    decimals = -math.floor(math.log10(size)) + SUB_DOLLAR_DIGITS - 1
    decimals = min(MAX_DECIMALS, max(2, decimals))
    text = f"{size:.{decimals}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"{sign}${whole}.{cents.ljust(2, '0')}"
