"""The one choice of a model that answers, from `/v1/models`' rows."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.providers.answering import answering_of, first_answering


def _row(model: str, provider: str, kind: str = "api") -> dict[str, Any]:
    return {"id": model, "provider": provider, "type": kind}


ROWS = [
    _row("claude-cli/sonnet", "claude-cli", "cli"),
    _row("my-local-model", "lan-box", "local"),
    _row("gpt-4o-mini", "openai"),
    _row("o3", "openai"),
    _row("claude-haiku-4-5", "anthropic"),
    _row("claude-sonnet-4-6", "anthropic"),
    _row("fast", "anthropic", "alias"),
    _row("team-route", "openai", "route"),
]


def test_catalogue_providers_come_first_in_the_catalogues_order() -> None:
    answering = answering_of(ROWS)
    # Anthropic is the catalogue's first provider, then OpenAI; a provider it does not know
    # (an operator's own local server) after them; no CLI bridge, alias or route.
    assert list(answering) == ["anthropic", "openai", "lan-box"]
    assert "fast" not in answering["anthropic"] and "team-route" not in answering["openai"]


def test_a_providers_catalogue_models_come_before_the_rest_of_its_list() -> None:
    answering = answering_of(ROWS)
    assert answering["openai"][0] == "gpt-4o-mini"
    assert set(answering["anthropic"]) == {"claude-haiku-4-5", "claude-sonnet-4-6"}


def test_the_clis_bridges_answer_last_and_only_when_asked_for() -> None:
    with_bridges = answering_of(ROWS, bridges=True)
    assert list(with_bridges)[-1] == "claude-cli"
    only_bridge = answering_of([_row("claude-cli/sonnet", "claude-cli", "cli")], bridges=True)
    assert first_answering(only_bridge) == "claude-cli/sonnet"
    assert answering_of([_row("claude-cli/sonnet", "claude-cli", "cli")]) == {}


def test_first_answering_of_everyone_or_of_one_provider() -> None:
    answering = answering_of(ROWS)
    assert first_answering(answering) == answering["anthropic"][0]
    assert first_answering(answering, "openai") == "gpt-4o-mini"
    assert first_answering(answering, "groq") is None
    assert first_answering({}) is None
