"""The store most engine tests stand on, spelled once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from llmgw_desktop.engine.store import Database


@pytest.fixture
async def db(new_database: Callable[[str], Database]) -> AsyncIterator[Database]:
    """An open store on this test's engine (`new_database`: SQLite, and PostgreSQL where the
    test runs on both), closed after the test."""
    database = new_database("llmgw.db")
    await database.open()
    yield database
    await database.close()
