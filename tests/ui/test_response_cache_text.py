"""The Overview's response-cache line: off, on with nothing yet, and a hit rate with savings."""

from __future__ import annotations

from llmgw_desktop.engine.api import CacheStats
from llmgw_desktop.ui.pages.response_cache_text import response_cache_text


def test_the_line_says_off_nothing_yet_or_the_hit_rate() -> None:
    assert response_cache_text(None).startswith("off")
    assert response_cache_text(CacheStats()) == "on, no cacheable request yet"
    stats = CacheStats(lookups=50, hits=21, kept=29, saved_usd=0.125)
    assert response_cache_text(stats) == "hit rate 42% (21 of 50 since start), $0.125 saved"
