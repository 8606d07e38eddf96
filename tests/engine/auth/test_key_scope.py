"""A gateway key's scope as a pure value: what an empty list means, patterns, and the scope a
key principal this process has never seen prove itself gets (nothing)."""

from __future__ import annotations

from llmgw_desktop.engine.api import KeyScope, Principal, key_tool_refusal
from llmgw_desktop.engine.auth.gateway_keys import GatewayKeys
from llmgw_desktop.engine.store import Database


def test_empty_models_and_providers_mean_any() -> None:
    assert KeyScope().allows_target("openai", "gpt-4o")
    assert KeyScope().allows_tool("ask_model")


def test_a_model_entry_matches_the_name_or_provider_slash_name_and_may_end_in_a_star() -> None:
    scope = KeyScope.of(models=["gpt-4o-mini", "anthropic/claude-*"])
    assert scope.allows_target("openai", "gpt-4o-mini")
    assert scope.allows_target("anthropic", "claude-sonnet-4-6")
    assert not scope.allows_target("openrouter", "claude-sonnet-4-6")
    assert not scope.allows_target("openai", "gpt-4o")
    assert not scope.allows_target("openai", "gpt-4o-mini-2")


def test_providers_narrow_whatever_the_models_say() -> None:
    scope = KeyScope.of(providers=["openai"])
    assert scope.allows_target("openai", "gpt-4o")
    refusal = scope.target_refusal("key:a", "anthropic", "claude-sonnet-4-6")
    assert refusal is not None and refusal.code == "outside_key_scope"
    assert "provider 'anthropic'" in refusal.message


def test_tools_travel_on_the_principal_and_only_bind_keys() -> None:
    key = Principal("key:a", "key", frozenset({"tool:list_models"}))
    assert key_tool_refusal(key, "list_models") is None
    refused = key_tool_refusal(key, "ask_model")
    assert refused is not None and refused.code == "outside_key_scope"
    # Another principal's scopes never read as a key's tools.
    assert key_tool_refusal(Principal("oauth:x", "oauth", frozenset({"tool:y"})), "z") is None


def test_a_key_principal_never_seen_here_reaches_nothing(tmp_path: object) -> None:
    keys = GatewayKeys(Database(tmp_path / "unused.db"))  # type: ignore[operator]
    assert keys.scope_of("oauth:x") is None
    assert keys.target_refusal("key:stranger", "openai", "gpt-4o") is not None
    assert keys.projects_of("key:stranger") == frozenset()
