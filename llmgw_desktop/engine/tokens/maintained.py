"""Prices from a maintained database, per provider: the layer beneath the person's prices and
the bundled table (`price_book.py`).

The database is pydantic's `genai-prices`, read from the compact copy the package ships
(`maintained_prices.json`, written by `scripts/maintained_prices.py`): each provider's models,
the clauses that match a model id (equals, starts with, contains, a regex, or and and), and the
prices in force when it was taken. It knows each cloud's own prices (Azure, AWS Bedrock as
`aws`, Vertex as `google`) and embeddings, which the bundled table does not. A model the
database gives no output price bills its input alone (embeddings, rerankers): any output is
priced at its input rate, so an output that does come is never free; a missing cache-read
price is the input rate (no discount is assumed). A model it does not know stays unpriced.

A lookup names the gateway's provider where it knows it (the cloud's price, not the vendor's
list price), else the database's provider whose model family matches (`claude` is
Anthropic's), as the package's own lookup does. The same lookup gives a model's context window
(`context_of`) and display name (`name_of`), where the database knows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.tokens.pricing import Price

__all__ = ["PROVIDER_IDS", "MaintainedPrices", "maintained_prices"]

# The gateway's provider ids whose database id differs; the others are the same (openai,
# anthropic, google, groq, openrouter, mistral, azure ...). Local servers have none.
PROVIDER_IDS: Mapping[str, str] = {"xai": "x-ai", "bedrock": "aws", "vertex": "google"}
_LOCAL = frozenset({"ollama", "lmstudio", "vllm", "llamacpp"})
# The model makers, asked first for a model no family rule places (their own list price).
_MAKERS = ("openai", "anthropic", "google", "mistral", "x-ai", "deepseek", "cohere", "meta")
# The clouds, whose model a gateway prices as the model it is (`clouds/models.py`).
_CLOUDS = frozenset({"aws", "azure", "google"})
# `gpt-5.2-20251211` is listed as `gpt-5.2-2025-12-11`: tried again so when it does not match.
_COMPACT_DATE = re.compile(r"(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)")
_MEMO_NAMES = 2048


Predicate = Callable[[str], bool]


class _Known(NamedTuple):
    """What the database says of one model: its price, and its context window and display
    name when known."""

    price: Price
    context: int | None
    name: str | None = None


def _compiled(clause: Mapping[str, Any]) -> Predicate:
    """A clause of the database's match logic as a test of a lower-case model id."""
    (kind, value), *_ = clause.items()
    if kind == "or":
        parts = [_compiled(c) for c in value]
        return lambda text: any(part(text) for part in parts)
    if kind == "and":
        parts = [_compiled(c) for c in value]
        return lambda text: all(part(text) for part in parts)
    if kind == "regex":
        return re.compile(value).search  # type: ignore[return-value]
    word = str(value).lower()
    if kind == "equals":
        return word.__eq__
    if kind == "starts_with":
        return lambda text: text.startswith(word)
    if kind == "ends_with":
        return lambda text: text.endswith(word)
    if kind == "contains":
        return lambda text: word in text
    raise ValueError(f"unknown clause {kind!r} in maintained_prices.json")


class _Provider:
    """One provider of the database; its clauses are compiled at its first lookup."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id = str(raw["id"])
        match = raw.get("model_match")
        self.model_match = None if match is None else _compiled(match)
        self.fallback = tuple(str(f) for f in raw.get("fallback", ()))
        self._raw = raw["models"]
        self._models: list[tuple[Predicate, _Known]] | None = None

    def find(self, name: str) -> _Known | None:
        models = self._models
        if models is None:
            models = self._models = [(_compiled(m["match"]), _known(m)) for m in self._raw]
        for matches, known in models:
            if matches(name):
                return known
        return None


class MaintainedPrices:
    """The database's prices, looked up by provider and model id."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.source = str(raw["source"])
        self.version = str(raw["version"])
        # When the prices in force were read from the package (its data has no date of its own).
        self.taken = date.fromisoformat(str(raw["taken"]))
        self._providers = {str(p["id"]): _Provider(p) for p in raw["providers"]}
        self._memo: dict[tuple[str | None, str], _Known | None] = {}

    @property
    def label(self) -> str:
        """How the Prices page and a row's cost name it: `genai-prices 0.2.3 (2026-11-26)`."""
        return f"{self.source} {self.version} ({self.taken.isoformat()})"

    def price_of(self, model: str, provider: str | None = None) -> Price | None:
        """`model`'s price at the gateway's `provider` (None: the family's own vendor), or
        None when the database does not know it there."""
        known = self._known(model, provider)
        return None if known is None else known.price

    def context_of(self, model: str, provider: str | None = None) -> int | None:
        """How many input tokens `model` takes at `provider` (as `price_of` finds it), or
        None when the database does not say."""
        known = self._known(model, provider)
        return None if known is None else known.context

    def name_of(self, model: str, provider: str | None = None) -> str | None:
        """`model`'s display name (`Claude Sonnet 4`) at `provider` (as `price_of` finds it),
        or None when the database does not say."""
        known = self._known(model, provider)
        return None if known is None else known.name

    def _known(self, model: str, provider: str | None) -> _Known | None:
        name = model.strip().lower()
        key = (provider, name)
        memo = self._memo
        if key in memo:
            return memo[key]
        if len(memo) >= _MEMO_NAMES:
            memo.clear()
        found = self._lookup(name, provider)
        if found is None and (dashed := _COMPACT_DATE.sub(r"\1\2-\3-\4", name)) != name:
            found = self._lookup(dashed, provider)
        memo[key] = found
        return found

    def _lookup(self, name: str, provider: str | None) -> _Known | None:
        if provider in _LOCAL:
            return None
        chosen = self._provider_for(name, provider)
        if chosen is None:
            return self._listed_anywhere(name) if provider is None else None
        found = chosen.find(name)
        for fallback in chosen.fallback if found is None else ():
            other = self._providers.get(fallback)
            if other is not None and (found := other.find(name)) is not None:
                break
        if found is None and chosen.id in _CLOUDS:
            # A cloud's model it lists under its own ids only (Bedrock's `global.anthropic.`
            # ...), asked as the model it is: the vendor's list price.
            vendor = self._provider_for(name, None)
            found = vendor.find(name) if vendor is not None and vendor is not chosen else None
        return found

    def _listed_anywhere(self, name: str) -> _Known | None:
        """A model no family rule places (`text-embedding-3-small`), asked without a
        provider: the price of the first vendor that lists it, the model makers first."""
        providers = self._providers
        ordered = [*(p for v in _MAKERS if (p := providers.get(v))), *providers.values()]
        for candidate in ordered:
            if (found := candidate.find(name)) is not None:
                return found
        return None

    def _provider_for(self, name: str, provider: str | None) -> _Provider | None:
        if provider is not None:
            known = self._providers.get(PROVIDER_IDS.get(provider, provider))
            if known is not None:
                return known
        # A provider of the operator's own, or none named: the family's vendor.
        for candidate in self._providers.values():
            if candidate.model_match is not None and candidate.model_match(name):
                return candidate
        return None


def _known(model: Mapping[str, Any]) -> _Known:
    given_input = float(model["input"])
    price = Price(
        given_input,
        float(model.get("output", given_input)),
        float(model.get("cache_read", given_input)),
        float(model.get("cache_write", given_input)),
    )
    context = model.get("context")
    return _Known(price, int(context) if context else None, model.get("name") or None)


@cache
def maintained_prices() -> MaintainedPrices:
    """The copy of the database the package ships (read once, on first use)."""
    raw = resources.files("llmgw_desktop.engine.tokens").joinpath("maintained_prices.json")
    return MaintainedPrices(jsonio.loads(raw.read_bytes()))
