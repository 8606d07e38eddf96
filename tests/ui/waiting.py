"""Waiting for Qt state from a coroutine: await, never block or spin a nested loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

STEP_TIMEOUT = 15.0  # real CLI jobs included; a passing wait returns at once


async def until(condition: Callable[[], Any], what: str) -> Any:
    """Await until `condition()` is truthy, bounded in time; returns its value."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while not (value := condition()):  # noqa: ASYNC110 - Qt widget state has no awaitable
            await asyncio.sleep(0.01)
    assert value, what
    return value
