"""`[gateway.prices]` in config.toml: the person's own prices per model prefix, checked.

    [gateway.prices]
    "my-model" = { input = 1.0, output = 4.0, cache_read = 0.1 }

The engine's `tokens/price_book.py` lays these over the bundled table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MAX_MODEL_CHARS", "MAX_USD_PER_MILLION", "PRICE_FIELDS", "check_price_tables"]

# The four prices of an entry, USD per million tokens; `cache_write` may be left out (the
# input price then), as in the bundled table.
PRICE_FIELDS: Final = ("input", "output", "cache_read", "cache_write")
_REQUIRED: Final = ("input", "output", "cache_read")
# A model prefix is a name, not a sentence; a price above this per million tokens is a typo.
MAX_MODEL_CHARS: Final = 200
MAX_USD_PER_MILLION: Final = 10_000.0


def _entry_problem(model: Any, entry: Any) -> str | None:
    if not isinstance(model, str) or not model.strip() or len(model) > MAX_MODEL_CHARS:
        return f"{model!r}: a model name of 1 to {MAX_MODEL_CHARS} characters"
    if not isinstance(entry, Mapping):
        return f"{model}: a table with {', '.join(PRICE_FIELDS)} (USD per million tokens)"
    unknown = sorted(set(entry) - set(PRICE_FIELDS))
    if unknown:
        return f"{model}: unknown key(s) {', '.join(unknown)}; known: {', '.join(PRICE_FIELDS)}"
    missing = [name for name in _REQUIRED if name not in entry]
    if missing:
        return f"{model}: missing {', '.join(missing)} (USD per million tokens)"
    for name, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{model}.{name}: a number of USD per million tokens, not {value!r}"
        if not 0 <= value <= MAX_USD_PER_MILLION:
            return f"{model}.{name}: between 0 and {MAX_USD_PER_MILLION:,.0f} USD per million"
    return None


def check_price_tables(value: Any) -> str | None:
    """The check of `gateway.prices`: model -> {input, output, cache_read[, cache_write]}."""
    if not isinstance(value, Mapping):
        return "a table of model = {input, output, cache_read, cache_write}"
    for model, entry in value.items():
        problem = _entry_problem(model, entry)
        if problem is not None:
            return problem
    return None
