"""Converse usage to the neutral form.

Bedrock reports `inputTokens`, `outputTokens`, `totalTokens` and, with prompt caching,
`cacheReadInputTokens` and `cacheWriteInputTokens`. Its Claude models count input as Anthropic
does (without the cache), so `totalTokens` is the sum of all four; should a model count the
cached tokens inside `inputTokens` (then `totalTokens` is input plus output), they are taken out
of it, so nothing is counted twice either way.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.ir import MAX_TOKEN_COUNT
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["parse_usage"]


def _count(value: Any) -> int:
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 <= value <= MAX_TOKEN_COUNT else 0


def parse_usage(raw: Any) -> Usage:
    """`usage` of an answer or of a stream's `metadata` event."""
    if not isinstance(raw, dict):
        return Usage()
    given = _count(raw.get("inputTokens"))
    output = _count(raw.get("outputTokens"))
    read = _count(raw.get("cacheReadInputTokens"))
    written = _count(raw.get("cacheWriteInputTokens"))
    total = _count(raw.get("totalTokens"))
    cached = read + written
    fresh = given
    if cached and total == given + output and given >= cached:
        fresh = given - cached  # this model counted the cache inside its input
    return Usage(
        input_tokens=fresh,
        output_tokens=output,
        cache_read_tokens=read,
        cache_write_tokens=written,
    )
