"""The prices the engine charges by: the person's own prices (`[gateway.prices]` in
config.toml), then the bundled table (`prices.json`), then a maintained database of every
provider's prices (`maintained.py`: genai-prices, the clouds' own prices and embeddings).

One `PriceBook` per engine, handed to every part that prices something (the gateway, CLI calls,
budget holds, the live charts, the cache view). A person's entry is a model-name prefix like
the table's; the longest matching prefix wins, and where the person and the table name the
same prefix (or the table leaves it unpriced on purpose) the person's price wins. The Settings
page replaces the person's layer as a whole when it saves one, so the next request is priced
by it without a restart. Every estimate says where its price came from: `config` (the
person's), `table` (the bundled table of a given date) or `maintained` (the database's copy,
of its version and date). The bundled table and the person's prices are by model name, for
every provider alike; the database's are per provider, so a lookup names the provider where it
is known (a cloud's price, an aggregator's) and the database is asked for the models the two
above it do not price (or leave unpriced on purpose). Where the table and the database
disagree the table wins: `tests/engine/tokens/test_maintained_prices.py` lists each such model
and why the table is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from llmgw_desktop.config.prices import PRICE_FIELDS, check_price_tables
from llmgw_desktop.engine.tokens.maintained import MaintainedPrices, maintained_prices
from llmgw_desktop.engine.tokens.pricing import (
    COST_FROM_CONFIG,
    COST_FROM_MAINTAINED,
    COST_FROM_TABLE,
    Price,
    PriceTable,
    cost_note,
    price_table,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "PriceBook",
    "PricedModel",
    "parse_prices",
    "price_as_table",
]


@dataclass(frozen=True)
class PricedModel:
    """The price a model is charged at and where it came from."""

    prefix: str  # the entry that matched (lower case; the model itself for the database)
    price: Price
    source: str  # COST_FROM_CONFIG (the person's), COST_FROM_TABLE or COST_FROM_MAINTAINED


# Model names looked up so far, each with its answer: a lookup scans every prefix of the table
# (about 500 `startswith` a name) and a gateway request prices its model four times, about
# 0.12 ms of the event loop's time per request. Bounded, because callers name the model: past
# this many names the memo starts again.
_MEMO_NAMES = 1024


class PriceBook:
    """Looks up a model's price: the person's entries over the bundled table."""

    def __init__(
        self,
        base: PriceTable | None = None,
        user: Mapping[str, Price] = {},
        *,
        maintained: MaintainedPrices | bool | None = True,
    ) -> None:
        """`maintained`: the database beneath the table (True: the copy the package ships,
        read at the first lookup that needs it; None or False: none)."""
        self.base = base if base is not None else price_table()
        self._maintained = maintained
        self._user: Mapping[str, Price] = MappingProxyType({})
        self._memo: dict[tuple[str | None, str | None], PricedModel | None] = {}
        # The same for `max_output_of` (the bundled table's alone: it never changes).
        self._max_output_memo: dict[str, int | None] = {}
        self.version = 0  # bumped at each change, so a cache of prices knows to drop
        self.replace_user(user)

    @property
    def revised(self) -> str:
        """When the bundled table was last checked against the vendors' pages."""
        return self.base.revised

    @property
    def maintained(self) -> MaintainedPrices | None:
        """The database beneath the table (its `label` says its version and date), or None."""
        if self._maintained is True:
            self._maintained = maintained_prices()
        return self._maintained or None

    @property
    def user(self) -> Mapping[str, Price]:
        """The person's entries (lower-case prefix -> price), read-only."""
        return self._user

    def user_entries(self) -> list[tuple[str, Price]]:
        """The person's entries, by model prefix."""
        return sorted(self._user.items())

    def bundled_entries(self) -> list[tuple[str, Price]]:
        """The bundled table's entries, by model prefix (what prices a model of no entry of
        the person's; the Prices page lists them)."""
        return sorted(self.base.prices.items())

    def user_price(self, model: str) -> Price | None:
        """The person's own price for exactly this prefix, or None."""
        return self._user.get(model.strip().lower())

    def replace_user(self, user: Mapping[str, Price]) -> None:
        """Make `user` the person's entries; the next lookup uses them."""
        self._user = MappingProxyType({prefix.lower(): p for prefix, p in user.items()})
        self._memo = {}
        self.version += 1

    def priced(self, model: str | None, provider: str | None = None) -> PricedModel | None:
        """`model`'s price and source: the longest matching prefix of the person's or the
        table's (any `vendor/` part ignored), else the database's price at `provider` (None:
        the model family's vendor), unless the table says the model is billed by what a row
        cannot count; None when nothing prices it."""
        # Kept by the name as asked: a request asks three or four times, and the name's
        # normalising cost more than the lookup.
        memo = self._memo
        key = (provider, model)
        if key in memo:
            return memo[key]
        whole = (model or "").strip().lower()
        name = whole.split("/")[-1]
        if not name:
            return None
        if len(memo) >= _MEMO_NAMES:
            memo.clear()
        found, final = self._looked_up(name)
        database = None if final else self.maintained
        if database is not None:
            price = database.price_of(whole, provider)
            if price is not None:
                found = PricedModel(whole, price, COST_FROM_MAINTAINED)
        memo[key] = found
        return found

    def _looked_up(self, name: str) -> tuple[PricedModel | None, bool]:
        """The person's or the table's entry (the longest matching prefix of either layer),
        and whether the database beneath must not be asked: a price was found, or the table
        says the model is billed by what a row cannot count (`not_by_tokens`). A prefix the
        table leaves unpriced otherwise only stops its family's price."""
        base = self.base
        best: PricedModel | None = None
        best_len = -1
        for prefix, price in self._user.items():
            if name.startswith(prefix) and len(prefix) > best_len:
                best, best_len = PricedModel(prefix, price, COST_FROM_CONFIG), len(prefix)
        matched = ""
        for prefix in (*base.prices, *base.unpriced):
            # Strictly longer: on the same prefix the person's entry wins.
            if name.startswith(prefix) and len(prefix) > best_len:
                found = base.prices.get(prefix)
                best = None if found is None else PricedModel(prefix, found, COST_FROM_TABLE)
                best_len, matched = len(prefix), prefix
        return best, best is not None or matched in base.not_by_tokens

    def price_of(self, model: str | None, provider: str | None = None) -> Price | None:
        """`model`'s price (at `provider`, where the database prices it), or None when
        nothing prices it."""
        found = self.priced(model, provider)
        return None if found is None else found.price

    def source_of(self, model: str | None, provider: str | None = None) -> str | None:
        """Where `model`'s price comes from (`config`, `table` or `maintained`), or None: not
        priced."""
        found = self.priced(model, provider)
        return None if found is None else found.source

    def cost_of(self, model: str | None, usage: Usage, provider: str | None = None) -> float | None:
        """The estimated USD cost of `usage` on `model` (at `provider`); None when nothing
        prices it."""
        price = self.price_of(model, provider)
        return None if price is None else price.cost(usage)

    def cost_note(self, source: str | None) -> dict[str, str] | None:
        """How a row's cost was arrived at, as the recorder keeps it (None: no cost): the
        source, and the prices' date or, for the database, its version and date."""
        database = self.maintained
        if source == COST_FROM_MAINTAINED and database is not None:
            return {"source": COST_FROM_MAINTAINED, "prices": database.label}
        return cost_note(source)

    def max_output_of(self, model: str | None) -> int | None:
        """The most output tokens one answer of `model` may have, as the bundled table's
        entry for it says (the entry that would price it: a shorter prefix's figure is never
        borrowed), or None where the table does not say."""
        name = (model or "").lower().split("/")[-1]
        memo = self._max_output_memo
        if name in memo:
            return memo[name]
        if len(memo) >= _MEMO_NAMES:
            memo.clear()
        memo[name] = found = self.base.max_output_of(name)
        return found

    def dearest(self, family: str, alias: str | None, default_output: int) -> str | None:
        """The entry of `family` (a name prefix: `claude-`) whose longest answer costs most
        (its maximum output, else `default_output`, at its output price), among those naming
        `alias` (`opus`) where any does; None where the family has no priced entry."""
        if not family:
            return None
        entries = {
            prefix: price
            for prefix, price in (*self.base.prices.items(), *self._user.items())
            if prefix.startswith(family)
        }
        word = (alias or "").lower().split("/")[-1]
        named = {prefix: price for prefix, price in entries.items() if word and word in prefix}
        pool = named or entries
        if not pool:
            return None

        def longest_answer(prefix: str) -> float:
            most = self.base.max_outputs.get(prefix) or default_output
            return most * max(pool[prefix].output, 0.0)

        return max(sorted(pool), key=longest_answer)


def price_as_table(price: Price) -> dict[str, float]:
    """One entry as config.toml keeps it."""
    return {name: float(getattr(price, name)) for name in PRICE_FIELDS}


def parse_prices(value: Mapping[str, Any]) -> dict[str, Price]:
    """The person's entries from a checked `gateway.prices` table.

    Raises:
        ValueError: an entry fails `check_price_tables` (naming the model and the field).
    """
    problem = check_price_tables(value)
    if problem is not None:
        raise ValueError(problem)
    return {
        model.strip().lower(): Price(
            float(entry["input"]),
            float(entry["output"]),
            float(entry["cache_read"]),
            float(entry.get("cache_write", entry["input"])),
        )
        for model, entry in value.items()
    }
