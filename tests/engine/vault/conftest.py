"""Shared vault test setup: an open store and a vault opened with a key from the env."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.vault import Vault
from tests.engine.vault.support import KEY_A, env_sources


@pytest.fixture
async def db(new_database: Callable[[str], Database]) -> AsyncIterator[Database]:
    database = new_database("llmgw.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def vault(db: Database, tmp_path: Path) -> Vault:
    opened = Vault(db, env_sources(KEY_A, tmp_path), temp_root=tmp_path)
    await opened.open()
    assert opened.status()["state"] == "open"
    return opened
