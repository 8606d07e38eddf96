"""Responses usage to and from the neutral form (OpenAI's `input_tokens` include cached input)."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.ir import MAX_TOKEN_COUNT
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["parse_usage", "render_usage"]


def parse_usage(raw: Any) -> Usage:
    """Responses usage in neutral form: its `input_tokens` include cache reads and writes."""
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    out_details = raw.get("output_tokens_details")
    out_details = out_details if isinstance(out_details, dict) else {}
    read = _count(details.get("cached_tokens"))
    # `cache_creation_input_tokens` is where other gateways keep cache writes.
    write = _count(details.get("cache_write_tokens", details.get("cache_creation_input_tokens")))
    return Usage(
        input_tokens=max(_count(raw.get("input_tokens")) - read - write, 0),
        output_tokens=_count(raw.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=_count(out_details.get("reasoning_tokens")),
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    """Neutral usage as Responses `usage` (input counts everything, cached included)."""
    return {
        "input_tokens": usage.total_input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _count(value: Any) -> int:
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 < value <= MAX_TOKEN_COUNT else 0
