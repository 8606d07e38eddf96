"""The Overview's line on the response cache: how many requests it answered since start, and why
the others were not answered from it."""

from __future__ import annotations

from llmgw_desktop.engine.api import NOT_CACHED, CacheStats, format_usd

__all__ = ["NOT_CACHED_WORDS", "response_cache_text"]

# Each reason the cache counts (`/health`'s `cache.notCached` keys), as a person reads it: what
# made the request or its answer uncacheable, and the setting that decides it where one does.
NOT_CACHED_WORDS = {
    "sampled": "sampled (temperature above 0, or none; cache.sampled is off)",
    "no_store": "no-store from the client",
    "no_cache": "fresh answer asked (no-cache)",
    "route": "model not in cache.routes",
    "principal": "principal not in cache.principals",
    "text_completion": "text completion (fill-in-the-middle: not cached)",
    "too_large": "answer over cache.max_entry_kb",
    "unfinished": "answer not complete (an error in a 200, a broken or cut stream)",
    "cut_at_limit": "answer cut at a hard budget's output limit",
}


def response_cache_text(stats: CacheStats | None, problem: str | None = None) -> str:
    """`hit rate 42% (21 of 50 since start), $0.12 saved`, or why there is no figure, and on a
    second line the requests not cached by why (`312 not cached: sampled (...)`); a `problem`
    of the cache's file (`/health`'s `cache.lastError`) is said first."""
    if stats is None:
        return "off ([cache] enabled = true in config.toml)"
    if problem is not None:
        return f"failing ({problem}): new answers are not kept"
    if stats.lookups and stats.hit_rate is not None:
        text = f"hit rate {stats.hit_rate:.0%} ({stats.hits:,} of {stats.lookups:,} since start)"
        if stats.saved_usd:
            text += f", {format_usd(stats.saved_usd)} saved"
    elif stats.not_cached:
        text = "on, nothing looked up yet"
    else:
        return "on, no cacheable request yet"
    return text + _not_cached(stats)


def _not_cached(stats: CacheStats) -> str:
    """`\\n312 not cached: 300 sampled (...), 12 no-store from the client`; "" when none."""
    counts = [(why, stats.passed_over[why]) for why in NOT_CACHED if stats.passed_over[why]]
    if not counts:
        return ""
    if len(counts) == 1:  # the total says the count already
        return f"\n{stats.not_cached:,} not cached: {NOT_CACHED_WORDS[counts[0][0]]}"
    said = ", ".join(f"{count:,} {NOT_CACHED_WORDS[why]}" for why, count in counts)
    return f"\n{stats.not_cached:,} not cached: {said}"
