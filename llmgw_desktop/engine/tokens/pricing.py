"""What a request cost: the CLI's own figure where it reports one, else an estimate from tokens.

The price table is data (`prices.json` beside this module): USD per million tokens per model
prefix, the vendors' pages it was read from and the date it was revised, so the desk can say
"estimated from prices of <date>" and a price change is a data edit, not a code change. Input,
output, cache reads and cache writes each have their own price (`Usage.input_tokens` excludes
cached input, so nothing is counted twice). A model the table does not know has no cost (None),
never $0: the desk says "not priced" rather than a false zero. The table's `unpriced` prefixes
are models known to cost something other than the family prefix they would match, whose price
the sources do not give: they are not priced rather than priced wrong (a hard dollar budget
refuses them: `CostBasis`, below).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, Protocol

from llmgw_desktop.config.cli_catalog import PROVIDER_IDS, provider_info
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "COST_ESTIMATED",
    "COST_FROM_CLI",
    "COST_FROM_CONFIG",
    "COST_FROM_MAINTAINED",
    "COST_FROM_TABLE",
    "PRICES_REVISED",
    "CostBasis",
    "CostSource",
    "Price",
    "PriceLookup",
    "PriceTable",
    "cost_note",
    "price_table",
    "server_tool_cost",
]

CostSource = Literal["cli", "table", "config", "estimate", "maintained"]
COST_FROM_CLI: CostSource = "cli"  # the CLI reported what the turn cost
COST_FROM_TABLE: CostSource = "table"  # estimated here from tokens and the price table
COST_FROM_CONFIG: CostSource = "config"  # ... from tokens and the person's own price
# ... from tokens and the maintained database's price (`maintained.py`: genai-prices).
COST_FROM_MAINTAINED: CostSource = "maintained"
# The upstream reported no usage (a stream cut before its last event): the tokens themselves
# are the gateway's estimate, priced by the book.
COST_ESTIMATED: CostSource = "estimate"
_PER = 1_000_000  # prices are per million tokens


@dataclass(frozen=True)
class Price:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, usage: Usage) -> float:
        """What `usage` costs at this price, in USD (rounded to 1e-8)."""
        total = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * self.cache_read
            + usage.cache_write_tokens * self.cache_write
        )
        return round(total / _PER, 8)

    @property
    def cheapest(self) -> float:
        """USD per million tokens of the cheapest kind it bills (a cache read, where it has
        one), 0 where it bills none: a kind priced 0 here (no cache writes at OpenAI) is one
        the vendor does not report."""
        kinds = (self.input, self.output, self.cache_read, self.cache_write)
        return min((rate for rate in kinds if rate > 0), default=0.0)


@dataclass(frozen=True)
class PriceTable:
    """The prices of every known model prefix, with where and when they were read."""

    revised: str  # when the table was last checked against the vendors' pages
    sources: dict[str, str]  # vendor -> the page the prices come from
    prices: dict[str, Price]  # lower-case model-name prefix -> price
    # Lower-case prefixes deliberately without a price -> why (they beat a shorter priced one).
    unpriced: dict[str, str] = field(default_factory=dict)
    # Prefix -> where its price was read, when that was not the vendor's own page.
    notes: dict[str, str] = field(default_factory=dict)
    # Prefix -> the most output tokens one answer of the model may have (the vendor's figure).
    max_outputs: dict[str, int] = field(default_factory=dict)
    # Unpriced prefixes billed by what a row cannot count (audio tokens told apart from text):
    # never priced, not even by the maintained database beneath the table (whose price for
    # them is a text price). The other unpriced prefixes only stop their family's price.
    not_by_tokens: frozenset[str] = frozenset()

    def price_of(self, model: str | None, provider: str | None = None) -> Price | None:
        """The price of `model` (longest matching prefix, any `vendor/` part ignored; the
        table's prices are every provider's alike)."""
        name = (model or "").lower().split("/")[-1]
        if not name:
            return None
        matches = [p for p in (*self.prices, *self.unpriced) if name.startswith(p)]
        return self.prices.get(max(matches, key=len)) if matches else None

    def max_output_of(self, model: str | None) -> int | None:
        """The most output tokens one answer of `model` may have, as the entry that would
        price it says (a shorter prefix's figure is never borrowed), or None where it does
        not say."""
        name = (model or "").lower().split("/")[-1]
        matches = [p for p in (*self.prices, *self.unpriced) if name and name.startswith(p)]
        return self.max_outputs.get(max(matches, key=len)) if matches else None

    def cost_of(self, model: str | None, usage: Usage) -> float | None:
        """The estimated USD cost of `usage` on `model`; None when the model is not priced."""
        price = self.price_of(model)
        return None if price is None else price.cost(usage)


@functools.cache
def price_table() -> PriceTable:
    """The table shipped with the package (read once; it never changes while running)."""
    raw: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    )
    prices = {
        prefix.lower(): Price(
            float(entry["input"]),
            float(entry["output"]),
            float(entry["cache_read"]),
            float(entry.get("cache_write", entry["input"])),
        )
        for prefix, entry in raw["models"].items()
    }
    unpriced = {prefix.lower(): str(why) for prefix, why in raw.get("unpriced", {}).items()}
    not_by_tokens = frozenset(p.lower() for p in raw.get("not_by_tokens", ()))
    notes = {
        prefix.lower(): str(entry["note"])
        for prefix, entry in raw["models"].items()
        if entry.get("note")
    }
    max_outputs = {
        prefix.lower(): int(entry["max_output"])
        for prefix, entry in raw["models"].items()
        if entry.get("max_output")
    }
    return PriceTable(
        str(raw["revised"]),
        dict(raw["sources"]),
        prices,
        unpriced,
        notes,
        max_outputs,
        not_by_tokens,
    )


PRICES_REVISED = price_table().revised


@functools.cache
def _server_tool_prices() -> dict[str, dict[str, float]]:
    raw: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    )
    tables = raw.get("server_tools", {})
    return {
        vendor: {tool: float(usd) for tool, usd in table.items()}
        for vendor, table in tables.items()
        if isinstance(table, dict)
    }


def server_tool_cost(vendor: str, calls: Mapping[str, int]) -> tuple[float, tuple[str, ...]]:
    """What `calls` of `vendor`'s server tools cost (USD) by the shipped table, and the tools
    it has no price for."""
    prices = _server_tool_prices().get(vendor, {})
    total, unpriced = 0.0, []
    for tool, count in calls.items():
        if tool in prices:
            total += prices[tool] * count / 1000
        else:
            unpriced.append(tool)
    return round(total, 8), tuple(unpriced)


def cost_note(source: str | None) -> dict[str, str] | None:
    """How a row's cost was arrived at, as the recorder keeps it (None: no cost, or the
    maintained database's, whose note `PriceBook.cost_note` writes with its version)."""
    if source == COST_FROM_TABLE:
        return {"source": COST_FROM_TABLE, "prices": PRICES_REVISED}
    if source == COST_FROM_CONFIG:
        return {"source": COST_FROM_CONFIG, "prices": "config.toml"}
    if source == COST_FROM_CLI:
        return {"source": COST_FROM_CLI}
    if source == COST_ESTIMATED:
        return {"source": COST_ESTIMATED, "prices": PRICES_REVISED}
    return None


class PriceLookup(Protocol):
    """Whatever tells a model's price (the engine's `PriceBook`)."""

    def price_of(self, model: str | None, provider: str | None = None) -> Price | None: ...


@dataclass(frozen=True)
class CostBasis:
    """Whether a call's dollar cost will be known, decided before it runs.

    A hard dollar budget is only a limit if every call it covers is counted in dollars: a call
    whose model the table does not know costs None and adds nothing to a dollar total, so the
    budget ledger refuses such a call under a hard dollar budget. An upstream API call is priced
    when the table knows the model it is sent with. A CLI call is priced when the CLI reports
    its own cost (`ProviderInfo.reports_cost`: Claude Code's `total_cost_usd`) whatever the
    model, else when it names a model the table knows. A call naming no model runs on the CLI's
    own default, which the gateway cannot see before the run (it lives in the CLI's config and
    changes with its version), so it is not priced: naming the model is the honest fix.
    """

    provider: str
    model: str | None  # the model the call names; None: the CLI's own default
    priced: bool  # its dollar cost will be known when it finishes
    kind: str = "api"  # "api" (an upstream API) or "cli"

    @classmethod
    def api(cls, provider: str, model: str | None, prices: PriceLookup) -> CostBasis:
        """An upstream API call: priced when `prices` knows `model` (at `provider`)."""
        return cls(provider, model or None, prices.price_of(model, provider) is not None)

    @classmethod
    def cli(cls, provider: str, model: str | None, prices: PriceLookup) -> CostBasis:
        """A call of the CLI `provider`: priced when that CLI reports its own cost, else as
        its named model (an ACP agent the operator added reports none the gateway knows)."""
        named = model or None
        reports_cost = provider in PROVIDER_IDS and provider_info(provider).reports_cost
        priced = reports_cost or (named is not None and prices.price_of(named) is not None)
        return cls(provider, named, priced, "cli")

    def unpriced_reason(self) -> str:
        """Why the cost cannot be known, for the refusal's message."""
        if self.model is None:
            return (
                f"the call names no model, so {self.provider} would run its own default model, "
                "which the gateway cannot price before the call"
            )
        return (
            f"the model {self.model!r} ({self.provider}) is not in the gateway's price table; "
            "add its price in Settings (gateway.prices in config.toml)"
        )
