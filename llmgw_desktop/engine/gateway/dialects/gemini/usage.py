"""Gemini `usageMetadata` to and from neutral usage (`promptTokenCount` includes cached tokens,
`candidatesTokenCount` excludes thoughts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.ir import MAX_TOKEN_COUNT
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["parse_usage", "render_usage"]


def _count(meta: Mapping[str, Any], camel: str) -> int:
    value = field(meta, camel)
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 < value <= MAX_TOKEN_COUNT else 0


def parse_usage(meta: Any) -> Usage:
    """`usageMetadata` in neutral form: the prompt count includes cached tokens, and the
    candidates count excludes thoughts, which neutral output counts."""
    if not isinstance(meta, Mapping):
        return Usage()
    prompt = _count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount")
    cached = min(_count(meta, "cachedContentTokenCount"), prompt)
    thoughts = _count(meta, "thoughtsTokenCount")
    return Usage(
        input_tokens=prompt - cached,
        output_tokens=_count(meta, "candidatesTokenCount") + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    """Neutral usage as `usageMetadata`; cache writes count as uncached prompt (no slot)."""
    thoughts = min(usage.reasoning_tokens, usage.output_tokens)
    meta: dict[str, Any] = {
        "promptTokenCount": usage.total_input_tokens,
        "candidatesTokenCount": usage.output_tokens - thoughts,
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cache_read_tokens:
        meta["cachedContentTokenCount"] = usage.cache_read_tokens
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    return meta
