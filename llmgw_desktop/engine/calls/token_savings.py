"""What the gateway adds around a provider call: prompt optimisation, the stable-prefix hash,
and the prompt-cache expiry warning. Pure functions, applied by `ProviderCalls`."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from llmgw_desktop.engine.calls.compression import Optimized, optimize_text
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.calls.routing import Resolved
from llmgw_desktop.engine.providers.base import PromptParts
from llmgw_desktop.engine.tokens.estimate import estimate_text_tokens

__all__ = ["optimize_prompt", "stable_prefix", "ttl_warning"]

TTL_WARNING_WINDOW_S = 30.0


def optimize_prompt(params: CallParams) -> tuple[CallParams, dict[str, Any]]:
    """The params with their prompt optimised, and the measured token counts."""
    parts = params.prompt_parts
    if parts is not None:
        fields = {
            name: optimize_text(getattr(parts, name))
            for name in ("system", "tools", "context", "task")
        }
        optimised = PromptParts(**{name: result.text for name, result in fields.items()})
        before = sum(r.tokens_before for r in fields.values())
        after = sum(r.tokens_after for r in fields.values())
        return dataclasses.replace(params, prompt_parts=optimised), _measure(before, after)
    result: Optimized = optimize_text(params.prompt or "")
    return dataclasses.replace(params, prompt=result.text), _measure(
        result.tokens_before, result.tokens_after
    )


def _measure(before: int, after: int) -> dict[str, Any]:
    return {"prompt": {"tokensBefore": before, "tokensAfter": after}}


def stable_prefix(params: CallParams) -> tuple[str | None, int | None]:
    """Hash and estimated tokens of the prompt's stable prefix (prompt parts only)."""
    parts = params.prompt_parts
    if parts is None or not parts.stable_prefix:
        return None, None
    digest = hashlib.sha256(parts.stable_prefix.encode()).hexdigest()[:16]
    return digest, estimate_text_tokens(parts.stable_prefix)


def ttl_warning(
    provider: str, resolved: Resolved, *, ttl_s: float, now: float
) -> dict[str, Any] | None:
    """A warning when a resumed Claude call comes within 30 s of its prompt cache expiring."""
    known = resolved.known
    if provider != "claude" or known is None or resolved.choice.resume_id is None:
        return None
    remaining = known.last_used_at + ttl_s - now
    if not 0 < remaining <= TTL_WARNING_WINDOW_S:
        return None
    return {
        "code": "cache_ttl_expiring_soon",
        "ttlRemainingMs": int(remaining * 1000),
        "message": (
            f"the prompt cache of this conversation expires in {remaining:.0f} s; send the next "
            "turn soon, or expect this one to miss the cache"
        ),
    }
