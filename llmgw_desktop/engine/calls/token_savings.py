"""What the gateway adds around a provider call: prompt optimisation, the stable-prefix hash,
and the prompt-cache expiry warning. Pure functions, applied by `ProviderCalls`."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.calls.prompt_optimizer import PromptOptimiser
from llmgw_desktop.engine.calls.routing import Resolved
from llmgw_desktop.engine.tokens.estimate import estimate_text_tokens
from llmgw_desktop.engine.tokens.tokenizer import TokenCount, count_tokens

__all__ = ["optimize_prompt", "stable_prefix", "ttl_warning"]

TTL_WARNING_WINDOW_S = 30.0


def optimize_prompt(params: CallParams, provider: str) -> tuple[CallParams, dict[str, Any]]:
    """The params with their prompt optimised, and what that saved, counted by a real
    tokenizer (`tokens.tokenizer`; its name says where it only approximates the provider's).

    Blocking (the first call loads the tokenizer, a long prompt takes milliseconds): call it
    off the event loop. A rewrite that would not save a token is not applied: the caller's
    prompt goes as it came and the strategies list is empty.
    """
    optimiser = PromptOptimiser()
    parts = params.prompt_parts
    if parts is not None:
        # Only the context is rewritten: the task is the question, the system prompt and the
        # tool definitions are instructions (and the cached prefix); all three go byte for byte.
        optimised = dataclasses.replace(
            parts, context=optimiser.rewrite(parts.context, protect_last=False)
        )
        candidate = dataclasses.replace(params, prompt_parts=optimised)
    else:
        candidate = dataclasses.replace(params, prompt=optimiser.rewrite(params.prompt or ""))
    before = count_tokens(params.rendered_prompt, provider, params.model)
    after = count_tokens(candidate.rendered_prompt, provider, params.model)
    if after.tokens >= before.tokens:
        return params, _measure(before, before, ())
    return candidate, _measure(before, after, optimiser.strategies)


def _measure(before: TokenCount, after: TokenCount, strategies: tuple[str, ...]) -> dict[str, Any]:
    return {
        "prompt": {
            "tokensBefore": before.tokens,
            "tokensAfter": after.tokens,
            "tokensSaved": before.tokens - after.tokens,
            "tokenizer": before.tokenizer,
            "strategies": list(strategies),
        }
    }


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
