"""The store's database, on SQLite or PostgreSQL, driven from its own threads behind awaitables.

peewee blocks, so the event loop never calls it directly: every query is a plain function handed
to `Database.run`, which executes it on the database thread. There is one such thread per
engine, so calls commit in the order they were submitted (the engine relies on that: a job's
"running" write lands before its flushed output). On SQLite it holds the one connection; on
PostgreSQL it takes a pooled connection per call, each call one transaction.

Heavy reads for the desk (the recorder page, its search and counts, the jobs table) may go
through `Database.read` instead: on PostgreSQL a small bounded pool of reader threads, each a
read-only transaction on a pooled connection of its own, so a slow page never holds up the
writes behind it; on SQLite it is `run` (one connection; its reads are already fast). A read
sees every write that committed before it began, not a write still waiting in `run`'s queue.

A few small writes cannot wait behind bulk work on the ordered thread: the lease renewal, which
a gateway on a shared store must get in every third of a lease or its warden stops its CLIs
(`engine/jobs/leases.py`). They go through `Database.run_urgent`: on PostgreSQL one thread of
its own with its own pooled connection, each call one transaction, so a renewal is never queued
behind a recorder replay of tens of thousands of spilled rows (measured: 58,000 rows held the
renewals back past the warden's deadline). It is not ordered with `run`: only writes that
depend on nothing queued there belong in it. On SQLite it is `run` (one connection; nobody
else reaps this process's jobs, so its lease has no deadline to keep).
What differs per engine lives in `SqliteEngine` and `PostgresEngine`; callers see the same
`Database` either way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from llmgw_desktop.engine.errors import DiskRefused, EngineError
from llmgw_desktop.engine.store.errors import StoreError, StoreUnavailable
from llmgw_desktop.engine.store.health import StoreHealth
from llmgw_desktop.engine.store.models import Models
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.postgres_engine import PostgresEngine
from llmgw_desktop.engine.store.redo import Redo
from llmgw_desktop.engine.store.sqlite_engine import SqliteEngine
from llmgw_desktop.engine.store.stall_watch import AT_STOP_AFTER_S

__all__ = ["Database", "StoreEngine"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_ANSWERS_AGAIN = "store: whether the database answers again"
_UNREACHABLE = "cannot reach the database"


def _nothing() -> None:
    """A transaction with nothing in it: on PostgreSQL it still reaches the server."""


class StoreEngine(Protocol):
    """What `Database` needs from an engine; each method runs on a database thread."""

    name: str
    workers: int  # database threads (and connections) of the ordered lane
    readers: int  # threads of the read lane; 0: reads go through the ordered lane
    urgent: bool  # a thread (and connection) of its own for `run_urgent`; False: the ordered lane
    # Whether other gateway processes may use this store at the same time. A SQLite file is
    # this process's alone (the instance lock on its data dir); a PostgreSQL database may be a
    # team's, so what an earlier run left open may be another live process's work.
    shared: bool

    @property
    def where(self) -> str:
        """The store's location as logs may show it (never a password)."""
        ...

    def open(self) -> tuple[peewee.Database, int]: ...
    def run(self, db: peewee.Database, fn: Callable[[], T]) -> T: ...
    def read(self, db: peewee.Database, fn: Callable[[], T]) -> T: ...
    def close(self, db: peewee.Database) -> None: ...
    def give_up_after(self, db: peewee.Database, seconds: float) -> None:
        """Wait on a server that does not answer for only `seconds` from now on."""
        ...

    async def check(self, stop: threading.Event) -> str | None: ...
    def is_write_failure(self, exc: BaseException) -> bool: ...
    def unreachable(self, exc: BaseException) -> str | None:
        """Why the server cannot be reached when `exc` says so (it is down, or the connection
        was lost), else None: a store that is there but refuses is not unreachable."""
        ...

    def refused_by_disk(self, exc: BaseException) -> tuple[str, str] | None:
        """When `exc` is the disk's refusal of a write (full, over quota, read-only): what that
        means and the words it came in; else None."""
        ...

    def serialize(self, db: peewee.Database, key: str) -> None:
        """Inside a `run`: until this transaction ends, every other process's transaction that
        serializes on the same `key` waits (a check-then-write that must not interleave)."""


class Database:
    """The app's store: open (and migrate), run queries on the database threads, close."""

    def __init__(
        self,
        path: Path,
        *,
        url: str = "",
        password: str = "",
        on_health_change: Callable[[str | None], None] | None = None,
        earlier_run: Callable[[], list[str]] | None = None,
    ) -> None:
        """`path` is the SQLite file; a `postgresql://` `url` selects PostgreSQL instead (its
        `password`, when the URL holds none: `store.password`).
        `earlier_run` names the files a run of the gateway left beside it (blocking), so an
        empty SQLite file there is said to be a database emptied, not a fresh install."""
        self.path = path
        self._earlier_run = earlier_run
        self.engine: StoreEngine = PostgresEngine(url, password) if url else SqliteEngine(path)
        self._executor: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._urgent: ThreadPoolExecutor | None = None
        self._db: peewee.Database | None = None
        self._models: Models | None = None
        self.schema_version = 0
        # Every part's writes go through `run`: a damaged file or a full disk is seen here.
        self.health = StoreHealth(on_health_change)
        # What failed while the store did, done again until it is (the engine's service task
        # runs it; each open starts with nothing owed).
        self.redo = Redo()

    @property
    def models(self) -> Models:
        """The tables bound to this database (use them only inside `run`)."""
        if self._models is None:
            raise StoreError("the store is not open")
        return self._models

    async def open(self) -> None:
        """Connect (creating an SQLite file if needed) and apply pending migrations.

        Raises:
            StoreError: the store is not a database, is from a newer version, or unreachable.
        """
        self.redo = Redo()
        self._executor = ThreadPoolExecutor(
            max_workers=self.engine.workers, thread_name_prefix="llmgw-db"
        )
        try:
            loop = asyncio.get_running_loop()
            db, self.schema_version = await loop.run_in_executor(self._executor, self.engine.open)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._db = db
        self._models = Models(db)
        if self.engine.readers:
            self._readers = ThreadPoolExecutor(
                max_workers=self.engine.readers, thread_name_prefix="llmgw-db-read"
            )
        if self.engine.urgent:
            self._urgent = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmgw-db-urgent")
        log.info("store open at %s (schema %d)", self.engine.where, self.schema_version)
        if isinstance(self.engine, SqliteEngine) and self.engine.found_empty:
            await self._note_emptied()

    async def _note_emptied(self) -> None:
        """An empty database file where a run has been: say so, never pass it off as a fresh
        install (what it held is gone: jobs, sessions, the vault's keys, recorder rows)."""
        signs = [] if self._earlier_run is None else await asyncio.to_thread(self._earlier_run)
        if not signs:
            return
        log.warning(
            "the database %s was empty (0 bytes) although the gateway has run here before "
            "(%s beside it): it now starts empty, without the jobs, sessions, vault keys and "
            "recorder rows it held; if you have a copy of it, stop the gateway and put it back",
            self.path,
            ", ".join(signs[:3]) + (" ..." if len(signs) > 3 else ""),
        )
        self.health.report(
            "database", "was empty (0 bytes) at start although the gateway has run here before"
        )

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on a database thread and return its result.

        Raises:
            StoreError: the store is not open.
            StoreUnavailable: the server cannot be reached (PostgreSQL down, connection lost).
        """
        if self._executor is None:
            raise StoreError("the store is not open")
        db = self._db
        call = fn if db is None else (lambda: self.engine.run(db, fn))
        return await self._call(self._executor, call)

    async def run_urgent(self, fn: Callable[[], T]) -> T:
        """Run `fn`, a small write that must not wait behind bulk work, on the urgent lane (see
        the module docstring): not ordered with `run`'s queue. On an engine without one, as
        `run` does.

        Raises:
            StoreError: the store is not open.
            StoreUnavailable: the server cannot be reached (PostgreSQL down, connection lost).
        """
        urgent, db = self._urgent, self._db
        if urgent is None or db is None:
            return await self.run(fn)
        return await self._call(urgent, lambda: self.engine.run(db, fn))

    async def read(self, fn: Callable[[], T]) -> T:
        """Run `fn`, which only reads, on the read lane (see the module docstring); on an engine
        without one, as `run` does. A write inside `fn` fails on PostgreSQL (read-only).

        Raises:
            StoreError: the store is not open.
            StoreUnavailable: the server cannot be reached (PostgreSQL down, connection lost).
        """
        readers, db = self._readers, self._db
        if readers is None or db is None:
            return await self.run(fn)
        return await self._call(readers, lambda: self.engine.read(db, fn))

    async def _call(self, executor: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except Exception as exc:
            unavailable = self._failure(exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    def _failure(self, exc: Exception) -> EngineError | None:
        """What a failed call raises instead of `exc`: `StoreUnavailable` when the server cannot
        be reached (a retryable 503 for a request that needs the store), `DiskRefused` when
        the disk refused the write (a retryable 507 naming it: the log may be on that disk),
        else None (`exc` itself); either way a failure that means the store cannot take writes
        makes `/health` degraded."""
        reason = self.engine.unreachable(exc)
        if reason is not None:
            self.health.report("store", f"{_UNREACHABLE} ({reason})")
            # Said until a look finds it answering, whether or not anyone calls meanwhile.
            self.redo.owe(_ANSWERS_AGAIN, self._answers_again)
            return StoreUnavailable(self.engine.where, reason)
        refused = self.engine.refused_by_disk(exc)
        if refused is not None:
            self.health.report("store", refused[1])  # the disk's words (a rollback's hid them)
            return DiskRefused(f"the database {self.engine.where}", *refused)
        if self.is_write_failure(exc):
            self.health.report("store", str(exc))
        return None

    async def _answers_again(self) -> None:
        """One call that reaches the server; once it does, it is no longer said unreachable
        (whether it takes writes is for the next write to say).

        Raises:
            StoreUnavailable: it still cannot be reached (and this look is owed again).
        """
        await self.run(_nothing)
        self.health.clear_if("store", _UNREACHABLE)

    def is_write_failure(self, exc: BaseException) -> bool:
        """True when `exc` says the store cannot take writes (full, read-only, damaged, gone)."""
        return isinstance(exc, StoreUnavailable | DiskRefused) or self.engine.is_write_failure(exc)

    def log_failure(self, logger: logging.Logger, what: str, exc: BaseException) -> None:
        """Log a background write or read that failed: a DEBUG line when the store cannot be
        reached or cannot take writes (`health` said so once, with a WARNING, for the whole
        outage, and says when it ends), else an ERROR with the traceback (a bug)."""
        if self.is_write_failure(exc):
            logger.debug("%s: %s", what, exc)
        else:
            logger.error("%s", what, exc_info=exc)

    def redo_later(
        self,
        logger: logging.Logger,
        what: str,
        exc: BaseException,
        work: Callable[[], Awaitable[object]],
    ) -> None:
        """A background read or write that failed, logged as `log_failure` logs it; when the
        store is why, `work` (an awaitable's maker) is done again until it succeeds (`redo`).
        A bug is logged once, with its traceback, not tried again."""
        self.log_failure(logger, what, exc)
        if self.is_write_failure(exc):
            self.redo.owe(what, work)

    async def check(self, stop: threading.Event) -> str | None:
        """The start-up integrity check (SQLite's `quick_check`); None when all is well."""
        return await self.engine.check(stop)

    def stopping(self) -> None:
        """The gateway stops: a server that does not answer is given up on within
        `AT_STOP_AFTER_S` (and a probe), so the stop's writes fail (and are kept or said) rather
        than wait on it for as long as it stays frozen (`stall_watch.py`)."""
        if self._db is not None:
            self.engine.give_up_after(self._db, AT_STOP_AFTER_S)

    async def close(self) -> None:
        """Close the connections (SQLite: checkpoint the WAL first) and stop the threads."""
        if self._executor is None:
            return
        for lane in (self._readers, self._urgent):
            if lane is not None:
                lane.shutdown(wait=True)
        self._readers = self._urgent = None
        if self._db is not None:
            db = self._db
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._executor, self.engine.close, db
                )
            finally:
                self._db = None
                self._models = None
        self._executor.shutdown(wait=True)
        self._executor = None
        log.info("store closed")
