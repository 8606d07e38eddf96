"""The one Usage: its totals and the arithmetic the call service does on running counts."""

from __future__ import annotations

from llmgw_desktop.engine.tokens.usage import Usage


def test_totals_count_cached_input_once() -> None:
    usage = Usage(input_tokens=1, output_tokens=2, cache_read_tokens=3, cache_write_tokens=4)
    assert usage.total_input_tokens == 8
    assert usage.total_tokens == 10


def test_adding_turns_adds_every_count() -> None:
    first = Usage(1, 2, 3, 4, 5)
    second = Usage(10, 20, 30, 40, 50)
    assert first + second == Usage(11, 22, 33, 44, 55)


def test_since_is_the_turn_inside_running_totals_and_never_negative() -> None:
    earlier = Usage(1, 2, 3, 4, 5)
    now = Usage(10, 20, 30, 40, 50)
    assert now.since(earlier) == Usage(9, 18, 27, 36, 45)
    # A CLI that started its count again reports the new count, never a negative turn.
    assert earlier.since(now) == Usage()
