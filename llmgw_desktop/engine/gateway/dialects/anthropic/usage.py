"""Messages usage to and from the neutral form, which follows Anthropic's convention: input tokens
exclude cache reads and writes.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.ir import MAX_TOKEN_COUNT
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["merge_usage", "parse_usage", "render_usage"]


def _count(value: Any) -> int:
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 <= value <= MAX_TOKEN_COUNT else 0


def parse_usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("output_tokens_details")
    return Usage(
        input_tokens=_count(raw.get("input_tokens")),
        output_tokens=_count(raw.get("output_tokens")),
        cache_read_tokens=_count(raw.get("cache_read_input_tokens")),
        cache_write_tokens=_count(raw.get("cache_creation_input_tokens")),
        reasoning_tokens=_count(details.get("thinking_tokens")) if isinstance(details, dict) else 0,
    )


def merge_usage(start: Usage, final: Usage) -> Usage:
    """The final usage of a stream: output from the end, input and cache from either end."""
    return Usage(
        input_tokens=max(start.input_tokens, final.input_tokens),
        output_tokens=final.output_tokens or start.output_tokens,
        cache_read_tokens=max(start.cache_read_tokens, final.cache_read_tokens),
        cache_write_tokens=max(start.cache_write_tokens, final.cache_write_tokens),
        reasoning_tokens=final.reasoning_tokens or start.reasoning_tokens,
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out
