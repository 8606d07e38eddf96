"""A number as a person types it into a form (a price, a budget, a key's limits), read one way
everywhere: `$` in front, `,` or `_` between thousands (`1,000`, `10_000`).

A comma anywhere else is refused, never dropped: "1,5" (a decimal comma) read as 15 would price
a model ten times over, and a budget of "5,5" dollars would be one of $55. So are a negative
amount and one that is not finite.
"""

from __future__ import annotations

import math
import re

__all__ = ["typed_number"]

# Digits grouped by three after the first group: `1,000`, `12,345,678.5`.
_GROUPED = re.compile(r"\d{1,3}([,_]\d{3})+(\.\d*)?")


def typed_number(text: str, label: str, *, whole: bool = False) -> int | float | None:
    """`text` read as an amount (an int where it is written without a point or exponent);
    None when it is empty.

    Raises:
        ValueError: it is no such amount; the message names `label` and what to type.
    """
    typed = text.strip().lstrip("$").strip()
    if not typed:
        return None
    if "," in typed or "_" in typed:
        if not _GROUPED.fullmatch(typed):
            raise ValueError(
                f"{label}: {text.strip()!r} is not a number (write decimals with a point: 1.5)"
            )
        typed = typed.replace(",", "").replace("_", "")
    try:
        value: int | float = (
            float(typed) if any(c in typed for c in ".eE") or not typed.isdigit() else int(typed)
        )
    except ValueError:
        raise ValueError(f"{label}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{label}: {text.strip()!r} is not an amount (0 or more)")
    if whole and not float(value).is_integer():
        raise ValueError(f"{label}: {text.strip()!r} is not a whole number")
    return value
