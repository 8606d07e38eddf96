"""Counting a store's trips to its database thread, for the budget tests."""

from __future__ import annotations

from collections.abc import Callable

from llmgw_desktop.engine.store import Database

__all__ = ["count_trips"]


def count_trips(db: Database) -> list[int]:
    """From now on, each `db.run` adds one to the list's only item (set it to 0 to start over)."""
    trips = [0]
    run = db.run

    async def counted(fn: Callable[[], object]) -> object:
        trips[0] += 1
        return await run(fn)

    db.run = counted  # type: ignore[method-assign, assignment]
    return trips
