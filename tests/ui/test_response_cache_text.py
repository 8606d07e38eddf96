"""The Overview's response-cache line: off, on with nothing yet, and a hit rate with savings."""

from __future__ import annotations

from llmgw_desktop.engine.api import CacheStats
from llmgw_desktop.ui.pages.response_cache_text import response_cache_text


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
