"""Prompt-cache effectiveness, from the flight recorder: tokens, hashes and aggregates only.

The hit rate is cached input over all input (fresh, cache reads and cache writes); savings are
estimated as the cached tokens priced at the fresh-input price minus the cache-read price.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.lookups import lookup_key
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import PriceLookup

__all__ = ["CacheState"]

DAY_S = 86400.0


class CacheState:
    """Aggregates the recorder's token counts into cache views."""

    def __init__(
        self,
        db: Database,
        recorder: FlightRecorder,
        *,
        anthropic_ttl_s: float,
        clock: Callable[[], float] = time.time,
        prices: PriceBook | None = None,
    ) -> None:
        """`prices`: the engine's (the person's over the bundled table), for the savings."""
        self._prices = prices or PriceBook()
        self._db = db
        self._recorder = recorder
        self._ttl_s = anthropic_ttl_s
        self._clock = clock

    async def global_view(self, principal: str) -> dict[str, Any]:
        """The last 24 hours for this principal, overall and per provider."""
        rows = await self._rows(principal, since=self._clock() - DAY_S)
        by_provider: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_provider.setdefault(row["provider"], []).append(row)
        return {
            "window": "24h",
            **_aggregate(rows, self._prices),
            "byProvider": {
                p: _aggregate(rs, self._prices) for p, rs in sorted(by_provider.items())
            },
        }

    async def session_view(self, principal: str, session_id: str) -> dict[str, Any] | None:
        """A gateway session's (or CLI session's) aggregates, with Claude's cache time left."""
        rows = await self._rows(principal, session_id=session_id)
        if not rows:
            return None
        view = _aggregate(rows, self._prices)
        last = max(r["started_at"] for r in rows)
        view["lastRequestAt"] = last
        if rows[-1]["provider"] == "claude":
            view["ttlRemainingMs"] = max(0, int((last + self._ttl_s - self._clock()) * 1000))
        return view

    async def prefix_view(self, principal: str, prefix_hash: str) -> dict[str, Any] | None:
        """A stable prefix's aggregates, broken down by provider and model."""
        rows = await self._rows(principal, prefix_hash=prefix_hash)
        if not rows:
            return None
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(f"{row['provider']}:{row['model'] or '?'}", []).append(row)
        return {
            "prefixHash": prefix_hash,
            "prefixTokens": rows[-1]["prefix_tokens"],
            **_aggregate(rows, self._prices),
            "byProviderModel": {k: _aggregate(v, self._prices) for k, v in sorted(groups.items())},
        }

    async def _rows(
        self,
        principal: str,
        *,
        since: float | None = None,
        session_id: str | None = None,
        prefix_hash: str | None = None,
    ) -> list[dict[str, Any]]:
        await self._recorder.flush()
        model = self._db.models.RecordedRequest
        where = (model.owner_principal == principal) & (model.state == "completed")
        if since is not None:
            where &= model.started_at >= since
        if session_id is not None:
            stored = lookup_key(session_id)  # as the recorder keeps a secret-looking id
            where &= (model.session_id == stored) | (model.provider_session_id == stored)
        if prefix_hash is not None:
            where &= model.prefix_hash == prefix_hash
        fields = (
            model.provider,
            model.model,
            model.started_at,
            model.input_tokens,
            model.cache_read_tokens,
            model.cache_write_tokens,
            model.prefix_tokens,
        )
        query = model.select(*fields).where(where).order_by(model.started_at)
        return await self._db.run(lambda: [dict(r) for r in query.dicts().iterator()])


def _aggregate(rows: list[dict[str, Any]], prices: PriceLookup) -> dict[str, Any]:
    fresh = sum(r["input_tokens"] for r in rows)
    read = sum(r["cache_read_tokens"] for r in rows)
    written = sum(r["cache_write_tokens"] for r in rows)
    total = fresh + read + written
    return {
        "requests": len(rows),
        "hits": sum(1 for r in rows if r["cache_read_tokens"] > 0),
        "hitRate": round(read / total, 4) if total else 0.0,
        "inputTokens": fresh,
        "cacheReadTokens": read,
        "cacheWriteTokens": written,
        "estimatedSavingsUsd": round(sum(_saving(r, prices) for r in rows), 6),
    }


def _saving(row: dict[str, Any], prices: PriceLookup) -> float:
    price = prices.price_of(row["model"])
    if price is None:
        return 0.0
    return float(row["cache_read_tokens"]) * (price.input - price.cache_read) / 1_000_000
