"""Whether anything can answer, decided once (`providers/answering.py`): counted from the
model list `/v1/models` serves, "none" only once the first look at the providers has ended,
published when it changes and looked at again when a switch or the pause moves; and the one
choice of a model that answers, from the same rows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmgw_desktop.engine.events import EventBus, ProviderToggled
from llmgw_desktop.engine.metrics.health import HealthState
from llmgw_desktop.engine.providers.answering import (
    Answering,
    AnsweringChanged,
    AnsweringWatch,
    answering_of,
    first_answering,
)
from llmgw_desktop.engine.providers.health import NO_PROVIDER, public_summary

ROWS = [
    {"id": "gpt-4o", "provider": "openai"},
    {"id": "gpt-4o-mini", "provider": "openai"},
    {"id": "fast", "provider": "openai", "type": "alias"},
    {"id": "claude-cli/haiku", "provider": "claude-cli"},
]


def test_the_fact_counts_every_listed_row_by_provider() -> None:
    fact = Answering.of(ROWS, settled=True)
    assert fact.by_provider == (("openai", 3), ("claude-cli", 1))
    assert fact.models == len(ROWS) and not fact.none


def test_nothing_answers_only_once_the_first_look_has_ended() -> None:
    assert not Answering.of([], settled=False).none  # still looking: not said
    assert Answering.of([], ["openai"], settled=True).none
    assert Answering.of([], ["openai"], settled=True).refused == ("openai",)


def test_health_says_none_when_nothing_answers_and_the_worst_state_otherwise() -> None:
    nothing = Answering.of([], settled=True)
    assert public_summary([], answering=nothing)["state"] == NO_PROVIDER
    answering = Answering.of(ROWS, settled=True)
    assert public_summary([], answering=answering)["state"] == HealthState.OK
    assert public_summary([])["state"] == HealthState.OK


async def test_the_watch_publishes_changes_only_and_looks_again_when_a_switch_moves() -> None:
    events = EventBus()
    heard: list[Answering] = []
    events.subscribe(AnsweringChanged, lambda e: heard.append(e.answering))
    rows: list[dict[str, str]] = []
    looked = asyncio.Event()

    async def read() -> Answering:
        looked.set()
        return Answering.of(rows, settled=True)

    watch = AnsweringWatch(read, events, every_s=60)
    task = asyncio.create_task(watch.run_forever())
    try:
        await asyncio.wait_for(looked.wait(), 5)
        assert watch.now().none and len(heard) == 1
        await watch.check()
        assert len(heard) == 1  # the same fact: nothing published
        rows.extend(ROWS)
        looked.clear()
        events.publish(ProviderToggled("openai", True))  # looked at again at once, not in 60 s
        await asyncio.wait_for(looked.wait(), 5)
        await asyncio.sleep(0)
        assert watch.now().models == len(ROWS) and heard[-1] == watch.now()
    finally:
        task.cancel()


def _row(model: str, provider: str, kind: str = "api") -> dict[str, Any]:
    return {"id": model, "provider": provider, "type": kind}


MODEL_ROWS = [
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
    answering = answering_of(MODEL_ROWS)
    # Anthropic is the catalogue's first provider, then OpenAI; a provider it does not know
    # (an operator's own local server) after them; no CLI bridge, alias or route.
    assert list(answering) == ["anthropic", "openai", "lan-box"]
    assert "fast" not in answering["anthropic"] and "team-route" not in answering["openai"]


def test_a_providers_catalogue_models_come_before_the_rest_of_its_list() -> None:
    answering = answering_of(MODEL_ROWS)
    assert answering["openai"][0] == "gpt-4o-mini"
    assert set(answering["anthropic"]) == {"claude-haiku-4-5", "claude-sonnet-4-6"}


def test_the_clis_bridges_answer_last_and_only_when_asked_for() -> None:
    with_bridges = answering_of(MODEL_ROWS, bridges=True)
    assert list(with_bridges)[-1] == "claude-cli"
    only_bridge = answering_of([_row("claude-cli/sonnet", "claude-cli", "cli")], bridges=True)
    assert first_answering(only_bridge) == "claude-cli/sonnet"
    assert answering_of([_row("claude-cli/sonnet", "claude-cli", "cli")]) == {}


def test_first_answering_of_everyone_or_of_one_provider() -> None:
    answering = answering_of(MODEL_ROWS)
    assert first_answering(answering) == answering["anthropic"][0]
    assert first_answering(answering, "openai") == "gpt-4o-mini"
    assert first_answering(answering, "groq") is None
    assert first_answering({}) is None


async def test_the_log_says_why_nothing_answers(caplog: pytest.LogCaptureFixture) -> None:
    """It said "no key, local server or CLI" beside a key its provider had refused (a helper's
    review): the refusal and the logins missing are named where they are why."""
    fact = Answering.of(
        [],
        ["anthropic"],
        settled=True,
        to_set_up={"claude": "Claude Code is on the key Anthropic refused (...); ..."},
    )

    async def read() -> Answering:
        return fact

    watch = AnsweringWatch(read, EventBus(), every_s=60)
    with caplog.at_level("WARNING"):
        await watch.check()
    assert caplog.messages == [
        "no provider can answer a call: anthropic refused its key; Claude Code is on the key "
        "Anthropic refused (...); ..."
    ]
