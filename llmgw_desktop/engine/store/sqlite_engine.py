"""The embedded store: one SQLite file, one connection, driven from one thread.

What only SQLite needs lives here: the file made private before it is opened, the PRAGMAs,
the WAL folded back in at close, the start-up `quick_check` and the words of its errors that
mean the file cannot take writes. `Database` reaches all of it through `StoreEngine`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from llmgw_desktop.config.paths import ensure_private_file, room_problem
from llmgw_desktop.engine.store.errors import StoreError
from llmgw_desktop.engine.store.health import check_store, is_write_failure, refused_by_disk
from llmgw_desktop.engine.store.migrations import MIGRATIONS, apply_migrations
from llmgw_desktop.engine.store.orm import peewee

__all__ = ["PRAGMAS", "SqliteEngine"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# WAL lets readers run during a write; NORMAL sync is durable across app crashes in WAL mode
# (only an OS crash can lose the last commits); the busy timeout covers a second process such
# as the stdio bridge touching the same file. Temporary tables, sorts and statement journals
# in memory: a flush's multi-row INSERT opens a statement journal, which SQLite otherwise
# writes to a fresh, unlinked file in /var/tmp, page by page (about two writes a recorded
# request, docs/PERFORMANCE.md); it lasts one statement and holds only the pages it changed.
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "temp_store": "memory",
}


class _WriterFirstDatabase(peewee.SqliteDatabase):
    """A SQLite database whose transactions take the file's write lock as they begin.

    A deferred transaction that reads and then writes (most of the store's: look, then change)
    fails at once with `database is locked` when another connection has written the file since
    its read began: in WAL mode SQLite cannot upgrade a stale snapshot, and the busy timeout
    does not apply. Another connection is the `keys` command, a second `Database` on the file,
    or a peer's tests; a CI run saw a job store's start fail so (2026-11-26). Begun IMMEDIATE,
    a transaction waits its turn (the busy timeout) instead. Savepoints inside one are as
    before."""

    def atomic(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "lock_type" not in kwargs:
            kwargs["lock_type"] = "IMMEDIATE"
        return super().atomic(*args, **kwargs)


class SqliteEngine:
    """One SQLite file: one writer thread (sqlite3 connections stay on their thread)."""

    name = "sqlite"
    workers = 1

    def __init__(self, path: Path) -> None:
        self.path = path
        # The file was there with nothing in it when opened: an install that never wrote it,
        # or a database emptied (`Database.open` asks whether an earlier run used it).
        self.found_empty = False

    @property
    def where(self) -> str:
        return str(self.path)

    def open(self) -> tuple[peewee.Database, int]:
        """Create the file if needed (mode 0600), connect and migrate; (database, version).

        Raises:
            StoreError: the file is not a database, is from a newer version, or is unreadable.
        """
        try:
            self.found_empty = self.path.exists() and self.path.stat().st_size == 0
            ensure_private_file(self.path)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database {self.path}: {exc.strerror}. "
                "Check the folder's permissions or set LLM_GATEWAY_DB_PATH."
            ) from None
        _bind_directly()
        db = _WriterFirstDatabase(str(self.path), pragmas=PRAGMAS, autoconnect=False)
        try:
            db.connect()
            version = apply_migrations(db, MIGRATIONS)
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            if not db.is_closed():
                db.close()
            if (full := room_problem(self.path.parent)) is not None:
                # SQLite says "disk I/O error": moving a sound database aside is no cure.
                raise StoreError(
                    f"cannot open the database {self.path}: {exc} ({full}). It was left "
                    "untouched; free some room on that disk and start again."
                ) from None
            raise StoreError(
                f"cannot open the database {self.path}: {exc}. It was left untouched; "
                "move it aside or set LLM_GATEWAY_DB_PATH to use another file."
            ) from None
        except StoreError:
            db.close()
            raise
        return db, version

    def run(self, db: peewee.Database, fn: Callable[[], T]) -> T:
        """`fn` on the one connection, as it is: callers open their own transactions."""
        return fn()

    def close(self, db: peewee.Database) -> None:
        """Fold the WAL back into the file, then close the connection."""
        try:
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            # A full disk or a damaged file: the WAL keeps what it holds and SQLite folds it in
            # at the next open, so a stop goes on (no traceback, the documented exit code).
            log.warning("could not checkpoint the store on close (%s); the WAL keeps it", exc)
        finally:
            db.close()

    def give_up_after(self, db: peewee.Database, seconds: float) -> None:
        """Nothing to give up on: a local file answers (its busy timeout bounds a lock wait)."""

    async def check(self, stop: threading.Event) -> str | None:
        """`PRAGMA quick_check` on a connection and thread of its own, within a time budget."""
        return await check_store(self.path, stop)

    def is_write_failure(self, exc: BaseException) -> bool:
        return is_write_failure(exc)

    def unreachable(self, exc: BaseException) -> str | None:
        """Never: the file is here (a full disk or damage is a write failure instead)."""
        return None

    def refused_by_disk(self, exc: BaseException) -> tuple[str, str] | None:
        """What it means, and said, when `exc` is the disk's refusal (full, read-only ...)."""
        return refused_by_disk(exc)

    shared = False
    readers = 0  # reads share the one connection: `Database.read` is `run` here
    urgent = False  # so do urgent writes: `Database.run_urgent` is `run` here

    def read(self, db: peewee.Database, fn: Callable[[], T]) -> T:
        """Not used (no read lane); the same as `run` should anything call it."""
        return self.run(db, fn)

    def serialize(self, db: peewee.Database, key: str) -> None:
        """Nothing to do: a transaction's first write takes the file's one write lock, so writers
        on one file already go one after another."""


def _bind_directly() -> None:
    """Give `None` and flags adapters of their own: what they bind as is unchanged (NULL, and
    the 0/1 SQLite took a flag as), but Python 3.11's sqlite3 looked for an adaptation of
    every value not exactly an int, float or str, and that look-up raised and formatted an
    AttributeError each time (about 2,000 instructions a NULL bound: the recorder binds
    about eight a request). Neither type is one whose adapter slows every binding (int,
    float, str): those stay unadapted."""
    sqlite3.register_adapter(type(None), _null)
    sqlite3.register_adapter(bool, int)


def _null(value: None) -> None:
    return value
