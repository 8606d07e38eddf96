"""Every place the config names a model is checked against the lists providers gave."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.gateway_tables import gateway_config
from llmgw_desktop.engine.gateway.router import ModelRegistry
from llmgw_desktop.engine.gateway.stale_references import (
    StaleReference,
    config_references,
    find_stale_references,
)

LISTS = {
    "openai": frozenset({"gpt-5.5", "gpt-4o"}),
    "anthropic": frozenset({"claude-sonnet-4-5-20250929"}),
    "openrouter": frozenset({"deepseek/deepseek-chat"}),
}


def _never_answered(_provider: str, _model: str) -> bool:
    return False


def _registry(**config: Any) -> ModelRegistry:
    settings: dict[str, Any] = {"providers": {}, "aliases": {}, "routes": {}, "fallback": []}
    return ModelRegistry(gateway_config(**(settings | config)))


def test_every_place_that_names_a_model_is_a_reference() -> None:
    registry = _registry(
        aliases={"fast": "gpt-4o-mini"},
        routes={
            "claude-*": {"fallback": ["gpt-4o"], "pin": {"codex": "openai/o3"}},
            "team": {"targets": ["openai/gpt-4o-mini"], "small_request": "ollama/qwen3"},
        },
        fallback=["claude-cli/sonnet"],
        default_model="gpt-5.5",
        small_request_model="groq/llama-3.1-8b-instant",
    )
    assert list(config_references(registry.config)) == [
        ("alias", "fast", "gpt-4o-mini"),
        ("route_fallback", "claude-*", "gpt-4o"),
        ("route_pin", "'claude-*' (caller codex)", "openai/o3"),
        ("route_target", "team", "openai/gpt-4o-mini"),
        ("route_small_request", "team", "ollama/qwen3"),
        ("fallback", "gateway.fallback", "claude-cli/sonnet"),
        ("default_model", "gateway.default_model", "gpt-5.5"),
        ("small_request_model", "gateway.small_request_model", "groq/llama-3.1-8b-instant"),
    ]


def test_references_missing_from_a_read_list_are_stale() -> None:
    registry = _registry(
        aliases={"fast": "gpt-4o-mini", "new": "gpt-5.5", "chain": "fast"},
        routes={"gpt-*": {"fallback": ["openrouter/x/gone"], "pin": {"codex": "openai/o3"}}},
        default_model="gpt-4.1",
        small_request_model="gpt-4o",
    )
    stale = find_stale_references(registry, LISTS, _never_answered)
    assert [(s.kind, s.name, s.model, s.provider_model) for s in stale] == [
        ("alias", "fast", "gpt-4o-mini", "gpt-4o-mini"),
        ("alias", "chain", "fast", "gpt-4o-mini"),  # through the alias it names
        ("route_fallback", "gpt-*", "openrouter/x/gone", "x/gone"),
        ("route_pin", "'gpt-*' (caller codex)", "openai/o3", "o3"),
        ("default_model", "gateway.default_model", "gpt-4.1", "gpt-4.1"),
    ]
    assert stale[2].provider == "openrouter"


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-5",  # an alias whose dated snapshot is listed
        "groq/llama-3.1-8b-instant",  # Groq's list was not read: it proves nothing
        "claude-cli/opus",  # CLIs have no list
        "no-such-model",  # unknown: the request itself says so
        "deepseek/deepseek-chat",
    ],
)
def test_references_nothing_can_prove_stale_are_not_flagged(model: str) -> None:
    registry = _registry(aliases={"a": model})
    assert find_stale_references(registry, LISTS, _never_answered) == ()


def test_a_model_that_answered_since_its_list_was_read_is_not_stale() -> None:
    """A person's pass: 19 calls for openai/gpt-4o-mini had answered beside a warning that
    requests for it "will fail". A list proves less than an answer."""
    registry = _registry(aliases={"fast": "gpt-4o-mini", "old": "o3"})
    answered = {("openai", "gpt-4o-mini")}
    stale = find_stale_references(registry, LISTS, lambda p, m: (p, m) in answered)
    assert [(s.name, s.provider_model) for s in stale] == [("old", "o3")]


def test_a_stale_reference_says_what_is_known_and_predicts_no_failure() -> None:
    ref = StaleReference("alias", "fast", "gpt-4o-mini", "openai", "gpt-4o-mini")
    assert ref.describe() == (
        "alias 'fast' names 'gpt-4o-mini', not in openai's model list: calls may fail"
    )
    assert ref.to_dict() == {
        "kind": "alias",
        "name": "fast",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "providerModel": "gpt-4o-mini",
    }
    pin = StaleReference("route_pin", "'gpt-*' (caller codex)", "openai/o3", "openai", "o3")
    assert pin.describe() == (
        "pin of route 'gpt-*' (caller codex) names 'openai/o3': 'o3' is not in openai's model"
        " list, calls may fail"
    )
