"""Chat Completions usage to and from the neutral form.

OpenAI's `prompt_tokens` includes cached input, the neutral `input_tokens` does not. Cache
writes, which OpenAI never reports, are carried in `prompt_tokens_details.cache_write_tokens`
so a round trip does not lose them.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.ir import MAX_TOKEN_COUNT
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["merge_usage", "parse_usage", "render_usage"]

# A tuple, not `X | Y`: a union written in the call is built again at each call, and
# isinstance reads a tuple faster (this runs for each value of each request).
_NUMBERS = (int, float)


# Nothing reported: one value for all (a `Usage` is immutable, and costs more to make than
# the rest of a usage's reading).
_NO_USAGE = Usage()
_NO_DETAILS: dict[str, Any] = {}  # read, never written

# The top-level cache counts a few compatible servers report instead, looked for together (one
# look costs less than a `get` each, and most answers have none of them).
_TOP_LEVEL_CACHE = frozenset(
    ("prompt_cache_hit_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
)


def _count(value: Any) -> int:
    """A token count, tolerating the nulls and floats some compatible servers send."""
    if type(value) is int:  # the usual: a plain count (never a bool, whose type is bool)
        return value if 0 <= value <= MAX_TOKEN_COUNT else 0
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        return 0
    count = max(int(value), 0)
    return count if count <= MAX_TOKEN_COUNT else 0


def parse_usage(raw: Any) -> Usage:
    """Neutral usage from an OpenAI `usage` object (cached tokens are inside prompt_tokens)."""
    if not isinstance(raw, dict):
        return _NO_USAGE
    prompt_details = raw.get("prompt_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else _NO_DETAILS
    completion_details = raw.get("completion_tokens_details")
    # A count read only where one is reported (`_count` of None or 0 is 0): a call costs more
    # than the rest of a count's reading, and most answers report no cache or reasoning.
    cache_read = prompt_details.get("cached_tokens")
    cache_write = prompt_details.get("cache_write_tokens") or prompt_details.get(
        "cache_creation_input_tokens"
    )
    if not _TOP_LEVEL_CACHE.isdisjoint(raw):
        # Fallbacks: DeepSeek's prompt_cache_hit_tokens, LiteLLM's Anthropic-style fields.
        cache_read = (
            cache_read or raw.get("prompt_cache_hit_tokens") or raw.get("cache_read_input_tokens")
        )
        cache_write = cache_write or raw.get("cache_creation_input_tokens")
    cache_read = _count(cache_read) if cache_read else 0
    cache_write = _count(cache_write) if cache_write else 0
    reasoning = (
        completion_details.get("reasoning_tokens") if isinstance(completion_details, dict) else None
    )
    reasoning = _count(reasoning) if reasoning else 0
    # The two counts every answer reports, read as `_count` reads a plain count without the
    # call (which costs more than the rest of a count's reading).
    prompt = raw.get("prompt_tokens")
    if type(prompt) is not int or not 0 <= prompt <= MAX_TOKEN_COUNT:
        prompt = _count(prompt)
    output = raw.get("completion_tokens")
    if type(output) is not int or not 0 <= output <= MAX_TOKEN_COUNT:
        output = _count(output)
    uncached = prompt - cache_read - cache_write
    # Positional, in field order, as the request path calls classes (`engine/values.py`).
    return Usage(uncached if uncached > 0 else 0, output, cache_read, cache_write, reasoning)


def render_usage(usage: Usage) -> dict[str, Any]:
    """An OpenAI `usage` object; cache writes go to `cache_write_tokens` (the SDK's slot)."""
    prompt_details: dict[str, Any] = {"cached_tokens": usage.cache_read_tokens}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.total_input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def merge_usage(start: Usage, final: Usage) -> Usage:
    """The final usage, keeping input and cache counts known only from the stream's start."""
    return Usage(
        input_tokens=final.input_tokens or start.input_tokens,
        output_tokens=final.output_tokens or start.output_tokens,
        cache_read_tokens=final.cache_read_tokens or start.cache_read_tokens,
        cache_write_tokens=final.cache_write_tokens or start.cache_write_tokens,
        reasoning_tokens=final.reasoning_tokens or start.reasoning_tokens,
    )
