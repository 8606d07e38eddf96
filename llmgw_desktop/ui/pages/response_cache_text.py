"""The Overview's line on the response cache: how many requests it answered since start."""

from __future__ import annotations

from llmgw_desktop.engine.api import CacheStats, format_usd

__all__ = ["response_cache_text"]


def response_cache_text(stats: CacheStats | None, problem: str | None = None) -> str:
    """`hit rate 42% (21 of 50 since start), $0.12 saved`, or why there is no figure; a
    `problem` of the cache's file (`/health`'s `cache.lastError`) is said first."""
    if stats is None:
        return "off ([cache] enabled = true in config.toml)"
    if problem is not None:
        return f"failing ({problem}): new answers are not kept"
    if not stats.lookups or stats.hit_rate is None:
        return "on, no cacheable request yet"
    text = f"hit rate {stats.hit_rate:.0%} ({stats.hits:,} of {stats.lookups:,} since start)"
    if stats.saved_usd:
        text += f", {format_usd(stats.saved_usd)} saved"
    return text
