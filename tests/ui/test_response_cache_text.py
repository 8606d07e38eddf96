"""The Overview's response-cache line: off, on with nothing yet, a hit rate with savings, and the
requests not cached by why."""

from __future__ import annotations

from collections import Counter

from llmgw_desktop.engine.api import NOT_CACHED, CacheStats
from llmgw_desktop.ui.pages.response_cache_text import NOT_CACHED_WORDS, response_cache_text


def test_the_line_says_off_nothing_yet_or_the_hit_rate() -> None:
    assert response_cache_text(None).startswith("off")
    assert response_cache_text(CacheStats()) == "on, no cacheable request yet"
    stats = CacheStats(lookups=50, hits=21, kept=29, saved_usd=0.125)
    assert response_cache_text(stats) == "hit rate 42% (21 of 50 since start), $0.125 saved"


def test_a_failing_cache_file_is_said_before_the_figures() -> None:
    stats = CacheStats(lookups=50, hits=21)
    text = response_cache_text(stats, "OperationalError: database or disk is full")
    assert text == (
        "failing (OperationalError: database or disk is full): new answers are not kept"
    )


def test_requests_not_cached_are_said_by_why_under_the_hit_rate() -> None:
    # The anthropic SDK as it comes sends no temperature: with cache.sampled off nothing is
    # looked up, and the line says why rather than only that nothing was cacheable.
    sampled = CacheStats(passed_over=Counter(sampled=312))
    assert response_cache_text(sampled) == (
        "on, nothing looked up yet\n"
        "312 not cached: sampled (temperature above 0, or none; cache.sampled is off)"
    )
    stats = CacheStats(
        lookups=50,
        hits=21,
        passed_over=Counter(no_store=2, sampled=300, too_large=1, principal=4, no_cache=1),
    )
    assert response_cache_text(stats) == (
        "hit rate 42% (21 of 50 since start)\n"
        "308 not cached: 300 sampled (temperature above 0, or none; cache.sampled is off), "
        "2 no-store from the client, 1 fresh answer asked (no-cache), "
        "4 principal not in cache.principals, 1 answer over cache.max_entry_kb"
    )


def test_every_reason_the_engine_counts_has_words() -> None:
    assert set(NOT_CACHED_WORDS) == set(NOT_CACHED)
    for why in NOT_CACHED:
        text = response_cache_text(CacheStats(passed_over=Counter({why: 1})))
        assert text.endswith(f"1 not cached: {NOT_CACHED_WORDS[why]}"), text
