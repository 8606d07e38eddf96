from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import peewee
import pytest

from llmgw_desktop.engine.store import Database, StoreError
from llmgw_desktop.engine.store.migrations import MIGRATIONS, apply_migrations
from tests.postgres import opened


async def test_fresh_database_is_migrated_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "llmgw.db"
    db = Database(path)
    await db.open()
    try:
        assert db.schema_version == max(m.version for m in MIGRATIONS)
        mode = await db.run(
            lambda: db.models.database.execute_sql("PRAGMA journal_mode").fetchone()
        )
        assert mode == ("wal",)
        # Statement journals and sorts in memory (2), not in unlinked files in /var/tmp.
        temp_store = await db.run(
            lambda: db.models.database.execute_sql("PRAGMA temp_store").fetchone()
        )
        assert temp_store == (2,)
    finally:
        await db.close()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_reopen_keeps_rows_and_does_not_migrate_again(
    new_database: Callable[[str], Database],
) -> None:
    db = new_database("llmgw.db")
    await db.open()
    await db.run(lambda: db.models.StoreMeta.create(key="k", value="v"))
    await db.close()

    async with opened(new_database("llmgw.db")) as again:
        value = await again.run(lambda: again.models.StoreMeta.get_by_id("k").value)
        applied = await again.run(
            lambda: again.models.database.execute_sql(
                "SELECT COUNT(*) FROM schema_migrations"
            ).fetchone()[0]
        )
    assert value == "v"
    assert applied == len(MIGRATIONS)


async def test_all_queries_run_on_one_dedicated_thread(tmp_path: Path) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        names = {await db.run(lambda: threading.current_thread().name) for _ in range(5)}
    assert len(names) == 1
    assert names.pop().startswith("llmgw-db")
    assert threading.current_thread().name == "MainThread"


async def test_models_match_the_migrated_schema(tmp_path: Path) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        for model in db.models.all:
            table = model._meta.table_name
            columns = await db.run(
                lambda t=table: {c.name for c in db.models.database.get_columns(t)}
            )
            assert columns == set(model._meta.columns), table


async def test_every_caller_owned_table_has_owner_principal(tmp_path: Path) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        for table in ("jobs", "sessions", "provider_sessions"):
            columns = await db.run(
                lambda t=table: {c.name for c in db.models.database.get_columns(t)}
            )
            assert "owner_principal" in columns, table


async def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "llmgw.db"
    db = Database(path)
    await db.open()
    await db.close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)")
    before = path.read_bytes()

    with pytest.raises(StoreError, match="schema version 999"):
        await Database(path).open()
    assert path.read_bytes() == before


async def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "llmgw.db"
    path.write_bytes(b"this is my shopping list, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="left untouched"):
        await Database(path).open()
    assert path.read_bytes() == before


async def test_unusable_location_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot create the database"):
        await Database(tmp_path / "dir.db").open()


async def test_use_before_open_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not open"):
        await Database(tmp_path / "x.db").run(lambda: None)


def _store_at_schema(path: Path, version: int, row_sql: str) -> None:
    """A SQLite store at `path` migrated only to schema `version`, holding the row `row_sql`
    inserts: what an older app left behind."""
    old = peewee.SqliteDatabase(str(path))
    old.connect()
    apply_migrations(old, MIGRATIONS[:version])
    old.execute_sql(row_sql)
    old.close()


async def test_a_schema_1_database_upgrades_in_place_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "llmgw.db"
    _store_at_schema(
        path,
        1,
        "INSERT INTO jobs (id, owner_principal, provider, state, request_json, created_at,"
        " updated_at) VALUES ('j1', 'local', 'claude', 'completed', '{}', 1, 1)",
    )
    async with opened(Database(path)) as db:
        job = await db.run(lambda: db.models.Job.get_by_id("j1"))
    assert db.schema_version == len(MIGRATIONS)
    assert (job.state, job.attempts, job.progress_json) == ("completed", 0, "{}")


async def test_schema_9_keeps_sessions_but_drops_their_per_principal_active_marks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "llmgw.db"
    _store_at_schema(
        path,
        8,
        "INSERT INTO sessions (id, owner_principal, provider, active, created_at, updated_at)"
        " VALUES ('gw-1', 'local', 'claude', 1, 1, 1)",
    )
    async with opened(Database(path)) as db:
        session = await db.run(lambda: db.models.Session.get_by_id("gw-1"))
        marks = await db.run(lambda: db.models.ActiveSession.select().count())
    # No caller can be told from the old mark, so no caller continues it by accident.
    assert (session.provider, session.active, marks) == ("claude", False, 0)
