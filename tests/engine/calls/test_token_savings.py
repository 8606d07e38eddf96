from __future__ import annotations

from pathlib import Path

from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.calls.routing import Resolved
from llmgw_desktop.engine.calls.token_savings import optimize_prompt, stable_prefix, ttl_warning
from llmgw_desktop.engine.providers.base import PromptParts, SessionChoice
from llmgw_desktop.engine.sessions import ProviderSessionInfo
from llmgw_desktop.engine.tokens.usage import Usage


def resumed(last_used: float) -> Resolved:
    known = ProviderSessionInfo("claude", "c1", "/w", True, Usage(), last_used)
    return Resolved(SessionChoice(resume_id="c1"), None, Path("/w"), known)


def test_ttl_warning_only_in_the_last_30_seconds() -> None:
    assert ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 280) is not None
    warning = ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 288)
    assert warning is not None and warning["code"] == "cache_ttl_expiring_soon"
    assert warning["ttlRemainingMs"] == 12000
    assert ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 100) is None
    assert ttl_warning("claude", resumed(1000.0), ttl_s=300, now=1000.0 + 400) is None
    assert ttl_warning("codex", resumed(1000.0), ttl_s=300, now=1000.0 + 288) is None


def test_stable_prefix_is_hashed_only_for_prompt_parts() -> None:
    parts = PromptParts(task="t1", system="sys", context="ctx")
    first = stable_prefix(CallParams(prompt_parts=parts))
    again = stable_prefix(
        CallParams(prompt_parts=PromptParts(task="t2", system="sys", context="ctx"))
    )
    assert first == again and first[0] is not None and first[1] and first[1] > 0
    assert stable_prefix(CallParams(prompt="plain")) == (None, None)


def test_prompt_optimisation_measures_each_part() -> None:
    params, measured = optimize_prompt(
        CallParams(prompt_parts=PromptParts(task="do   it\n\n\n\n", context="a    b"))
    )
    assert params.prompt_parts == PromptParts(task="do it", context="a b")
    assert measured["prompt"]["tokensAfter"] <= measured["prompt"]["tokensBefore"]
