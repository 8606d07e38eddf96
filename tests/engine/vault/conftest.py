"""Shared vault test setup: a vault opened with a key from the env (on `db`, the store of
tests/engine/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.vault import Vault
from tests.engine.vault.support import KEY_A, env_sources


@pytest.fixture
async def vault(db: Database, tmp_path: Path) -> Vault:
    opened = Vault(db, env_sources(KEY_A, tmp_path))
    await opened.open()
    assert opened.status()["state"] == "open"
    return opened
