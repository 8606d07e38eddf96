"""One SQLite database, driven from one dedicated thread, behind awaitable methods.

peewee blocks, so the event loop never calls it directly: every query is a plain function handed
to `Database.run`, which executes it on the single database thread. One thread also means one
connection and no cross-thread surprises from sqlite3.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import peewee

from llmgw_desktop.engine.store.errors import StoreError
from llmgw_desktop.engine.store.health import StoreHealth, is_write_failure
from llmgw_desktop.engine.store.migrations import MIGRATIONS, apply_migrations
from llmgw_desktop.engine.store.models import Models

__all__ = ["Database", "StoreError"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# WAL lets readers run during a write; NORMAL sync is durable across app crashes in WAL mode
# (only an OS crash can lose the last commits); the busy timeout covers a second process such
# as the stdio bridge touching the same file.
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
}


class Database:
    """The app's SQLite file: open (and migrate), run queries on the DB thread, close."""

    def __init__(
        self, path: Path, *, on_health_change: Callable[[str | None], None] | None = None
    ) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._db: peewee.SqliteDatabase | None = None
        self._models: Models | None = None
        self.schema_version = 0
        # Every part's writes go through `run`: a damaged file or a full disk is seen here.
        self.health = StoreHealth(on_health_change)

    @property
    def models(self) -> Models:
        """The tables bound to this database (use them only inside `run`)."""
        if self._models is None:
            raise StoreError("the store is not open")
        return self._models

    async def open(self) -> None:
        """Create the file if needed (mode 0600), switch on WAL and apply pending migrations.

        Raises:
            StoreError: the file is not a database, is from a newer version, or is unreadable.
        """
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmgw-db")
        try:
            self.schema_version = await self.run(self._open_on_db_thread)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        log.info("store open at %s (schema %d)", self.path, self.schema_version)

    def _open_on_db_thread(self) -> int:
        try:
            _create_private_file(self.path)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database {self.path}: {exc.strerror}. "
                "Check the folder's permissions or set LLM_GATEWAY_DB_PATH."
            ) from None
        db = peewee.SqliteDatabase(str(self.path), pragmas=PRAGMAS, autoconnect=False)
        try:
            db.connect()
            version = apply_migrations(db, MIGRATIONS)
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            if not db.is_closed():
                db.close()
            raise StoreError(
                f"cannot open the database {self.path}: {exc}. It was left untouched; "
                "move it aside or set LLM_GATEWAY_DB_PATH to use another file."
            ) from None
        except StoreError:
            db.close()
            raise
        self._db = db
        self._models = Models(db)
        return version

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the database thread and return its result.

        Raises:
            StoreError: the store is not open.
        """
        if self._executor is None:
            raise StoreError("the store is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        except Exception as exc:
            if is_write_failure(exc):
                self.health.report("store", str(exc))
            raise

    async def close(self) -> None:
        """Checkpoint the WAL, close the connection and stop the database thread."""
        if self._executor is None:
            return
        if self._db is not None:
            await self.run(self._close_on_db_thread)
        self._executor.shutdown(wait=True)
        self._executor = None
        log.info("store closed")

    def _close_on_db_thread(self) -> None:
        assert self._db is not None
        try:
            self._db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            # A full disk or a damaged file: the WAL keeps what it holds and SQLite folds it in
            # at the next open, so a stop goes on (no traceback, the documented exit code).
            log.warning("could not checkpoint the store on close (%s); the WAL keeps it", exc)
        finally:
            self._db.close()
            self._db = None
            self._models = None


def _create_private_file(path: Path) -> None:
    """Make sure the database file exists and only its owner can read or write it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if os.name == "posix":
        path.chmod(0o600)
