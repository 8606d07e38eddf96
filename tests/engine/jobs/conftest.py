"""The jobs tests' store: a fresh database per test, on each engine (`store_engine`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from llmgw_desktop.engine.store import Database


@pytest.fixture
async def db(new_database: Callable[[str], Database]) -> AsyncIterator[Database]:
    database = new_database("jobs.db")
    await database.open()
    yield database
    await database.close()
