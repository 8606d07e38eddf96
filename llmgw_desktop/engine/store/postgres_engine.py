"""The team store: a PostgreSQL database, reached from one ordered thread, a few readers and an
urgent lane.

Each `Database.run` takes a pooled connection and runs the whole call in one transaction: what
a call reads and writes commits together, as a call on SQLite's single thread does. The calls
run one at a time, in the order they were submitted, as on SQLite: the engine relies on that
order (a job's "running" write, then its flushed output, then its end). With several threads a
later write could commit before an earlier one; the test suite caught a job's flushed output
overwritten by its earlier "running" row that way. The desk's heavy reads go to a small pool
of reader threads instead (`read`), each a read-only transaction on a connection of its own,
so a page over a million recorded requests never holds up a job's writes; and the lease
renewals to a thread of their own (`urgent`), so a replay of spilled recorder rows never holds
up a renewal past the warden's deadline (`store/db.py`). The driver is
psycopg 3 through peewee's own PostgreSQL support (`docs/ARCHITECTURE.md` says why).

Migrations take a session-level advisory lock, so two gateways started at once on one database
migrate it once. A password in the URL is never logged: `where` is the URL without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from llmgw_desktop.engine.errors import first_line
from llmgw_desktop.engine.store.errors import StoreError
from llmgw_desktop.engine.store.location import redacted_url
from llmgw_desktop.engine.store.migrations import MIGRATIONS, apply_migrations
from llmgw_desktop.engine.store.orm import load_postgres_driver, peewee
from llmgw_desktop.engine.store.stall_watch import PROBE_TIMEOUT_S, StallWatch

__all__ = [
    "POOL_SIZE",
    "READERS",
    "PostgresEngine",
    "answers",
    "session_options",
    "tcp_settings",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Threads (each with its pooled connection) reading for the desk beside the ordered thread.
READERS = 2
# Pooled connections per gateway process: the ordered thread's, one per reader, the urgent
# lane's, and one spare; the pool replaces a connection the server or a proxy dropped.
POOL_SIZE = 1 + READERS + 1 + 1
CONNECT_TIMEOUT_S = 10
# A pooled connection unused this long is closed rather than reused (the server or a proxy in
# between may have dropped it).
STALE_AFTER_S = 300
# A connection whose sent data the server's host has not acknowledged for this long is closed
# by the kernel (TCP_USER_TIMEOUT), and an idle one is probed from this long after its last
# packet: without them, a path to the server that drops everything (a black hole: a VPN gone, a
# firewall's state lost) held a call, a lease renewal among them, for the kernel's own TCP
# timeout, about 15 minutes on Linux. A URL that sets its own keeps it (`tcp_settings`).
TCP_USER_TIMEOUT_MS = 10_000
TCP_KEEPALIVE = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "2",
}
# Every plan made for the values it runs with (`session_options` says why).
CUSTOM_PLANS = "-c plan_cache_mode=force_custom_plan"
# A transaction left open this long is ended by the server: a gateway stalled mid-transaction
# (SIGSTOP, a frozen VM) would otherwise hold its row locks, and the peers that reap its jobs
# would wait on them for as long as it stays stopped. No call of ours idles in a transaction.
STALLED_TRANSACTION = "-c idle_in_transaction_session_timeout=15000"
SESSION_SETTINGS = f"{CUSTOM_PLANS} {STALLED_TRANSACTION}"
# Any fixed number: every gateway on the database must use the same one.
MIGRATION_LOCK = 0x6C6C6D6777  # "llmgw"
# SQLSTATE classes and codes that mean the server cannot take writes now, as opposed to a
# query's own mistake: out of resources (53: disk full, out of memory, too many connections),
# read-only (25006), data or index corruption (XX001, XX002), the connection lost (08).
_FAILURE_CLASSES = ("53", "08")
_DISK_FULL = "53100"
_GONE_CODES = ("57P01", "57P02", "57P03")
_FAILURE_CODES = ("25006", "XX001", "XX002", *_GONE_CODES)


class PostgresEngine:
    """A PostgreSQL database named by a `postgresql://` URL."""

    name = "postgresql"
    workers = 1  # submission order is the engine's write order (module docstring)
    readers = READERS
    urgent = True  # the lease renewals' own thread and connection (`Database.run_urgent`)

    def __init__(self, url: str, password: str = "") -> None:
        """`password`: given apart from the URL (`store.password`, from a secret's file), so
        no URL shown or logged could hold it."""
        self.url = url
        self._password = password

    @property
    def where(self) -> str:
        return redacted_url(self.url)

    def open(self) -> tuple[peewee.Database, int]:
        """Connect and migrate (once, under an advisory lock); (database, version).

        Raises:
            StoreError: the server cannot be reached, refuses us, or has a newer schema.
        """
        load_postgres_driver()
        # Imported here, after the driver: playhouse imports peewee, which must come from
        # store.orm first (see there).
        from llmgw_desktop.engine.store.postgres_pool import WatchedPool

        connecting = {
            "options": session_options(self.url),
            "connect_timeout": CONNECT_TIMEOUT_S,
            **tcp_settings(self.url),
            **({"password": self._password} if self._password else {}),
        }
        watch = StallWatch(self.where, lambda: answers(self.url, connecting))
        pool = WatchedPool(
            self.url,
            watch=watch,
            max_connections=POOL_SIZE,
            stale_timeout=STALE_AFTER_S,
            timeout=CONNECT_TIMEOUT_S,
            autoconnect=False,
            prefer_psycopg3=True,
            **connecting,
        )
        db: peewee.Database = pool  # peewee's stubs type its calls; playhouse has none
        try:
            db.connect()
            try:
                db.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
                version = apply_migrations(db, MIGRATIONS)
            finally:
                if db.is_connection_usable():
                    db.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
                db.close()
        except peewee.DatabaseError as exc:
            pool.close_all()
            raise StoreError(
                f"cannot open the database {self.where}: {first_line(exc)}. Check that the "
                "server is running and the URL in store.url (LLM_GATEWAY_DB_URL) is right."
            ) from None
        except StoreError:
            pool.close_all()
            raise
        watch.start()  # after the migrations: a wait for a peer's migration lock is no stall
        return db, version

    def run(self, db: peewee.Database, fn: Callable[[], T]) -> T:
        """`fn` in one transaction on a pooled connection, handed back to the pool after.

        Raises:
            peewee.OperationalError: the server does not answer (`stall_watch.py`).
        """
        return self._watched(db, fn, read_only=False)

    def read(self, db: peewee.Database, fn: Callable[[], T]) -> T:
        """`fn` in one read-only transaction on this reader thread's pooled connection.

        Raises:
            peewee.OperationalError: the server does not answer (`stall_watch.py`).
        """
        return self._watched(db, fn, read_only=True)

    def _watched(self, db: peewee.Database, fn: Callable[[], T], *, read_only: bool) -> T:
        watch = _watch_of(db)
        try:
            db.connect(reuse_if_open=True)
            try:
                with watch.waiting(db.connection()), db.atomic():
                    if read_only:
                        # A write slipped into a read fails here rather than racing the ordered
                        # lane.
                        db.execute_sql("SET TRANSACTION READ ONLY")
                    return fn()
            finally:
                db.close()
        except (peewee.DatabaseError, peewee.InterfaceError) as exc:
            # A wait the watch cut fails as a lost connection: said as what it was.
            refused = watch.refusal()
            if refused is None:
                raise
            raise peewee.OperationalError(refused) from exc

    def give_up_after(self, db: peewee.Database, seconds: float) -> None:
        """Wait on the server for only `seconds` from now on (the gateway is stopping)."""
        _watch_of(db).give_up_after(seconds)

    def close(self, db: peewee.Database) -> None:
        """Close every pooled connection (nothing to fold in: the server owns durability)."""
        from llmgw_desktop.engine.store.postgres_pool import WatchedPool

        assert isinstance(db, WatchedPool)
        db.watch.close()
        db.close_all()

    async def check(self, stop: threading.Event) -> str | None:
        """Nothing to check at start-up: the server checks its own pages (checksums)."""
        return None

    shared = True

    def serialize(self, db: peewee.Database, key: str) -> None:
        """A transaction-scoped advisory lock on `key`'s hash, released at commit or rollback."""
        db.execute_sql("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def is_write_failure(self, exc: BaseException) -> bool:
        """True when `exc` says the server cannot take writes (disk full, read-only, gone)."""
        code = _sqlstate(exc)
        if code is None:
            return isinstance(exc, peewee.InterfaceError | peewee.OperationalError)
        return code.startswith(_FAILURE_CLASSES) or code in _FAILURE_CODES

    def refused_by_disk(self, exc: BaseException) -> tuple[str, str] | None:
        """When the server says its disk is full (SQLSTATE 53100, `disk_full`): that, and its
        words."""
        if _sqlstate(exc) != _DISK_FULL:
            return None
        return "it is full (on the database server)", str(exc).split("\n", 1)[0]

    def unreachable(self, exc: BaseException) -> str | None:
        """The first line of `exc` when it says the server is gone: the connect failed (no
        SQLSTATE: refused, reset, timed out), the connection was lost (class 08) or the server
        is shutting down or starting (57P01-57P03)."""
        code = _sqlstate(exc)
        if code is None:
            gone = isinstance(exc, peewee.InterfaceError | peewee.OperationalError)
        else:
            gone = code.startswith("08") or code in _GONE_CODES
        return first_line(exc) if gone else None


def _watch_of(db: peewee.Database) -> StallWatch:
    watch = getattr(db, "watch", None)
    assert isinstance(watch, StallWatch), "a PostgreSQL store is opened by PostgresEngine.open"
    return watch


def answers(url: str, connecting: dict[str, Any]) -> bool:
    """Whether the server answers a connection of this probe's own within `PROBE_TIMEOUT_S`:
    connected, or refused in the server's words (too many connections, shutting down)."""
    import psycopg

    try:
        psycopg.connect(url, **(connecting | {"connect_timeout": PROBE_TIMEOUT_S})).close()
    except psycopg.Error as exc:
        return exc.sqlstate is not None
    return True


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of `exc` or of the driver error peewee wrapped in it."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
        # peewee re-raises a driver error as its own type with the original as first arg.
        wrapped = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = wrapped or seen.__cause__ or seen.__context__
    return None


def session_options(url: str) -> str:
    """The URL's own `options` with every plan made for its parameters' values, and a
    transaction a stalled gateway left open ended by the server (`STALLED_TRANSACTION`).

    psycopg prepares a statement on the server after its fifth run, and PostgreSQL may then
    switch to a generic plan that ignores the values: counting the rows whose text holds a
    word found in most of them went from 0.3 s to 1.2-1.4 s on a million recorded requests
    once the count had run about ten times (docs/PERFORMANCE.md). Prepared statements still
    save the parsing; only the plan is made per call.
    """
    from psycopg.conninfo import conninfo_to_dict

    try:
        own = str(conninfo_to_dict(url).get("options") or "")
    except Exception:  # a malformed URL: the connect reports it, in the store's words
        own = ""
    return f"{own} {SESSION_SETTINGS}".strip()


def tcp_settings(url: str) -> dict[str, str]:
    """The connection's TCP bounds (`TCP_USER_TIMEOUT_MS`, `TCP_KEEPALIVE`) the URL does not
    set itself: given as the driver's keyword arguments, they would override the URL's."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        own = conninfo_to_dict(url)
    except Exception:  # a malformed URL: the connect reports it, in the store's words
        own = {}
    wanted = {"tcp_user_timeout": str(TCP_USER_TIMEOUT_MS), **TCP_KEEPALIVE}
    return {name: value for name, value in wanted.items() if name not in own}
