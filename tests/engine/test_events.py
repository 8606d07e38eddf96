from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from llmgw_desktop.engine.events import (
    Event,
    EventBus,
    PauseChanged,
    ProviderToggled,
    answer_follows,
)


def _broken(event: Event) -> None:
    raise ValueError("boom")


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
    bus.subscribe(PauseChanged, _broken)
    bus.subscribe(PauseChanged, seen.append)
    with caplog.at_level(logging.ERROR):
        bus.publish(PauseChanged(False))
    assert len(seen) == 1
    assert "boom" in caplog.text


async def test_watchers_hear_after_the_step_of_a_task_whose_answer_follows() -> None:
    # `after=True`, in a task that said its answer follows: heard from the loop once the
    # publishing step is over, not inside `publish`; the others at once; both in order.
    bus = EventBus()
    heard: list[str] = []
    bus.subscribe(PauseChanged, lambda e: heard.append(f"watch:{e.paused}"), after=True)
    bus.subscribe(PauseChanged, lambda e: heard.append(f"now:{e.paused}"))

    async def answering() -> None:
        answer_follows()
        bus.publish(PauseChanged(True))
        bus.publish(PauseChanged(False))
        heard.append("publisher's step ends")

    await asyncio.create_task(answering())  # the loop's next turn delivers them
    assert heard == [
        "now:True",
        "now:False",
        "publisher's step ends",
        "watch:True",
        "watch:False",
    ]


async def test_any_other_publisher_is_heard_at_once_after_what_was_queued() -> None:
    bus = EventBus()
    heard: list[str] = []
    bus.subscribe(PauseChanged, lambda e: heard.append(f"watch:{e.paused}"), after=True)

    async def answering() -> None:
        answer_follows()
        bus.publish(PauseChanged(True))

    await asyncio.create_task(answering())  # its own context: this task's is not changed
    bus.publish(PauseChanged(False))  # a probe, a job: not a front door's answer
    assert heard == ["watch:True", "watch:False"]


async def test_a_watcher_that_fails_is_logged_and_the_rest_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(PauseChanged, _broken, after=True)
    bus.subscribe(PauseChanged, seen.append, after=True)
    answer_follows()
    with caplog.at_level(logging.ERROR):
        bus.publish(PauseChanged(False))
        bus.publish(PauseChanged(True))
        await asyncio.sleep(0)
    assert seen == [PauseChanged(False), PauseChanged(True)]
    failures = [r.getMessage() for r in caplog.records]
    assert len(failures) == 2
    assert failures[0].endswith("PauseChanged(paused=False)")
    assert failures[1].endswith("PauseChanged(paused=True)")


def _stranded(bus: EventBus, event: Event) -> None:
    """Publish `event` on a loop that stops before its next turn and is closed: the delivery
    it was asked for never runs."""
    loop = asyncio.new_event_loop()

    def publish_then_stop() -> None:
        answer_follows()
        bus.publish(event)
        loop.stop()  # this turn ends the loop: what it was asked in it never runs

    loop.call_soon(publish_then_stop)
    loop.run_forever()
    loop.close()


def test_without_a_loop_watchers_hear_at_once_after_anything_left_queued() -> None:
    bus = EventBus()
    heard: list[bool] = []
    bus.subscribe(PauseChanged, lambda e: heard.append(e.paused), after=True)
    _stranded(bus, PauseChanged(True))
    assert heard == []
    bus.publish(PauseChanged(False))
    assert heard == [True, False]
    bus.drain()
    assert heard == [True, False]  # nothing is heard twice


async def test_a_new_loop_delivers_what_a_closed_one_left() -> None:
    bus = EventBus()
    heard: list[bool] = []
    bus.subscribe(PauseChanged, lambda e: heard.append(e.paused), after=True)
    thread = threading.Thread(target=_stranded, args=(bus, PauseChanged(True)))
    thread.start()
    thread.join()
    assert heard == []
    answer_follows()
    bus.publish(PauseChanged(False))
    await asyncio.sleep(0)
    assert heard == [True, False]
