"""The token counts an ACP agent reports for a turn, wherever it puts them.

ACP v1 has no stable usage field, so the agents differ (observed with the pinned versions,
`tests/fixtures/acp/`): OpenCode and claude-agent-acp answer `session/prompt` with `usage`
(`inputTokens` without the cache, `cachedReadTokens`, `cachedWriteTokens`); Gemini CLI with
`_meta.quota.token_count` (`input_tokens` including what was cached); Qwen Code puts `_meta.usage`
on its last message chunk (`inputTokens`, `outputTokens`, `thoughtTokens`, `cachedReadTokens`);
codex-acp reports none. Pure functions over the raw JSON, tolerant of anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["usage_from_chunk_meta", "usage_from_prompt_result"]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _camel(usage: Mapping[str, Any], *, input_has_cache: bool) -> Usage:
    cached = _int(usage.get("cachedReadTokens"))
    written = _int(usage.get("cachedWriteTokens"))
    given = _int(usage.get("inputTokens"))
    return Usage(
        input_tokens=max(given - cached - written, 0) if input_has_cache else given,
        output_tokens=_int(usage.get("outputTokens")),
        cache_read_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=_int(usage.get("thoughtTokens")),
    )


def usage_from_prompt_result(result: Mapping[str, Any]) -> Usage | None:
    """The usage a `session/prompt` result carries, or None where it has none."""
    usage = result.get("usage")
    if isinstance(usage, Mapping):
        return _camel(usage, input_has_cache=False)
    meta = result.get("_meta")
    quota = meta.get("quota") if isinstance(meta, Mapping) else None
    counts = quota.get("token_count") if isinstance(quota, Mapping) else None
    if isinstance(counts, Mapping):
        return Usage(
            input_tokens=_int(counts.get("input_tokens")),
            output_tokens=_int(counts.get("output_tokens")),
        )
    return None


def usage_from_chunk_meta(update: Mapping[str, Any]) -> Usage | None:
    """The usage a `session/update` carries in its `_meta.usage` (Qwen Code), or None."""
    meta = update.get("_meta")
    usage = meta.get("usage") if isinstance(meta, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    # Qwen counts cached tokens inside its input, as OpenAI's API does.
    return _camel(usage, input_has_cache=True)
