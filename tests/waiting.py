"""Waiting in tests for state that has no event to await: one bounded poll, from a coroutine
(`until`) or from plain code (`wait_for`), never a bare sleep.

A check that holds already returns at once; one that never holds fails with `what`, the words
saying what was waited for, once `timeout_s` has passed. The check may be a coroutine function
(`until` awaits what it returns). Time that must pass for the code under test (a cool-down, a
rest) is a fake clock's (`tests/clock.py`), not a wait.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["WAIT_S", "until", "wait_for"]

T = TypeVar("T")

# Long enough for a loaded two-core machine (real CLI jobs included); a passing wait returns
# as soon as its check holds.
WAIT_S = 15.0


async def until(
    check: Callable[[], T | Awaitable[T]],
    what: str = "the condition",
    *,
    timeout_s: float = WAIT_S,
    step_s: float = 0.01,
    off_loop: bool = False,
) -> T:
    """Await until `check()` is truthy (awaited when it returns an awaitable; `off_loop`: a
    blocking check, run in a thread); its value.

    Raises:
        AssertionError: it did not hold within `timeout_s` (naming `what`).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = await asyncio.to_thread(check) if off_loop else check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(step_s)


def wait_for(
    check: Callable[[], T],
    what: str = "the condition",
    *,
    timeout_s: float = WAIT_S,
    step_s: float = 0.05,
    explain: Callable[[], str] | None = None,
) -> T:
    """Block until `check()` is truthy (for a thread or another process); its value.

    Raises:
        AssertionError: it did not hold within `timeout_s` (naming `what`, and where things
            stood by `explain()`).
    """
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() >= deadline:
            said = "" if explain is None else f": {explain()}"
            raise AssertionError(f"not within {timeout_s:g} s: {what}{said}")
        time.sleep(step_s)
    return value
