from __future__ import annotations

import logging

import pytest

from llmgw_desktop.engine.events import Event, EventBus, PauseChanged, ProviderToggled


def test_subscribers_get_events_of_their_type_in_order() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(ProviderToggled, lambda e: seen.append(f"a:{e.provider}"))
    bus.subscribe(ProviderToggled, lambda e: seen.append(f"b:{e.provider}"))
    bus.subscribe(PauseChanged, lambda e: seen.append("pause"))
    bus.publish(ProviderToggled("codex", False))
    assert seen == ["a:codex", "b:codex"]


def test_subscribing_to_the_base_class_sees_everything() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(Event, seen.append)
    bus.publish(PauseChanged(True))
    bus.publish(ProviderToggled("claude", True))
    assert [type(e) for e in seen] == [PauseChanged, ProviderToggled]


def test_unsubscribe_stops_delivery() -> None:
    bus = EventBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe(PauseChanged, seen.append)
    unsubscribe()
    unsubscribe()  # twice is harmless
    bus.publish(PauseChanged(True))
    assert seen == []


def test_failing_subscriber_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise ValueError("boom")

    bus.subscribe(PauseChanged, broken)
    bus.subscribe(PauseChanged, seen.append)
    with caplog.at_level(logging.ERROR):
        bus.publish(PauseChanged(False))
    assert len(seen) == 1
    assert "boom" in caplog.text
