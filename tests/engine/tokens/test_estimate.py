"""The tokenizer-free estimates: word pieces for text, characters for a size."""

from __future__ import annotations

from llmgw_desktop.engine.tokens.estimate import estimate_text_tokens, tokens_for_chars


def test_token_estimate_is_monotonic_in_length() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("hello world") < estimate_text_tokens("hello world, and more words")


def test_a_size_is_four_characters_a_token_rounded_up() -> None:
    assert tokens_for_chars(0) == 0
    assert tokens_for_chars(81) == 21
