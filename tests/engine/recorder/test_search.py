"""The full-text search's query text; the search itself runs in test_query.py."""

from __future__ import annotations

from llmgw_desktop.engine.recorder.search import search_expression


def test_search_expression_quotes_every_chunk_and_makes_longer_words_prefixes() -> None:
    assert search_expression('claude "xyz') == '"claude"* """xyz"*'
    assert search_expression("caller-7 gpt-4o sonn") == '"caller-7" "gpt-4o" "sonn"*'
    assert search_expression("  ") is None
    assert search_expression("- * __") is None


def test_postgresql_search_is_the_same_words_phrases_and_prefixes() -> None:
    assert search_expression("claude-sonnet  Upstream_Timeout 7", postgresql=True) == (
        "('claude' <-> 'sonnet':*) & ('upstream' <-> 'timeout':*) & ('7')"
    )
    assert search_expression("  -- ", postgresql=True) is None
