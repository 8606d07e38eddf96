"""The one back-off value: waits that grow by a factor between bounds."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.backoff import Backoff


def test_waits_grow_from_the_first_to_the_longest() -> None:
    steps = Backoff(0.5, 5.0)
    assert [steps.nth(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert steps.after(0) == 0.5 and steps.after(4.0) == 5.0


def test_an_asked_wait_stays_within_bounds() -> None:
    steps = Backoff(1.0, 120.0)
    assert steps.asked(None) == 1.0
    assert steps.asked(30.0) == 30.0
    assert steps.asked(9999.0) == 120.0
    assert steps.asked(-3.0) == 0.0


def test_jitter_spreads_within_its_fraction() -> None:
    steps = Backoff(1.0, 10.0, jitter=0.2)
    spread = [steps.spread(10.0) for _ in range(200)]
    assert all(8.0 <= s <= 12.0 for s in spread) and len(set(spread)) > 1
    assert Backoff(1.0, 10.0).spread(3.0) == 3.0


@pytest.mark.parametrize(
    "bad",
    [
        {"first_s": 2, "longest_s": 1},
        {"first_s": -1, "longest_s": 1},
        {"first_s": 1, "longest_s": 2, "factor": 0.5},
        {"first_s": 1, "longest_s": 2, "jitter": 1.0},
    ],
)
def test_nonsense_bounds_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**bad)
