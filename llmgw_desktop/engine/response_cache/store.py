"""The response cache's store: a SQLite file of its own, written and read on one thread of its
own, with an index of what it holds in memory so a miss never waits for the disk.

Why a file of its own and not the engine's store (`engine/store/`): what it holds is derived
and disposable (deleting the file loses nothing but hits), its rows are large (a whole answer,
a stream's frames) and churn by the size cap, and the engine's store thread is the recorder's
and the jobs' lane, where a cache read would wait behind a flush. A team's PostgreSQL store
therefore does not share cached answers between processes; each process keeps its own.

The table is keyed by the request's digest; a semantic cache can add a table of embeddings
keyed by the same digest in this file (the answers stay where they are) and a second way to
find a digest (`ResponseCache.lookup` asks the store only by digest).

Because the file is disposable, a damaged one (not a database, or malformed: found at the start
or by a read) is set aside as `<file>.damaged` and an empty cache takes its place; before, the
cache stayed off, every request a miss, in every later run, until someone deleted the file. A
read notes the entry's use only where the disk allows it, so a full disk still gives what is
kept. What fails while it lasts (a file that cannot be opened, the last write refused) is in
`health()`, which `/health` shows.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llmgw_desktop.config.paths import ensure_private_file

__all__ = ["INDEX_ENTRY_BYTES", "CachedAnswer", "ResponseStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# After the cap is passed, entries go until the total is this share of it (not one per put).
_EVICT_TO = 0.9
# What an entry costs beyond its answer's bytes, counted into the cap: its place in the index in
# memory (a 32-byte digest, an expiry and a size). `python bench/cache_index.py` measured
# 207-230 bytes with tracemalloc and 237-261 resident at 20,000-200,000 entries (2026-11-25,
# Python 3.11), up to about 270 with the dict's table at its emptiest, just after it grew.
# It covers the file's own cost of a row too (about 139 bytes: its key, times and the last-used
# index), so many tiny answers keep both the memory and the file under the cap. The figure is
# said in `cache.max_mb`'s doc (config/settings_cache.py) and docs/CACHE.md.
INDEX_ENTRY_BYTES = 288
# Expired entries are deleted at most this often (on a put).
_PRUNE_EVERY_S = 60.0
# SQLite's answers for a file that is no database, or a damaged one: set aside, not fatal.
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    digest BLOB PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    last_used REAL NOT NULL,
    size INTEGER NOT NULL,
    streamed INTEGER NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    meta TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS answers_last_used ON answers (last_used);
"""


@dataclass(frozen=True)
class CachedAnswer:
    """One answer as the client was given it: a whole body, or a stream's chunks framed
    (`streamed`), the upstream's headers that went with it, and `meta` (JSON: the usage and
    cost of the call it saves, the provider and model that gave it)."""

    digest: bytes
    streamed: bool
    body: bytes
    headers: str
    meta: str
    created: float = 0.0
    expires: float = 0.0

    @property
    def size(self) -> int:
        return len(self.body) + len(self.headers) + len(self.meta)

    @property
    def charged(self) -> int:
        """What it counts against the cap: its bytes and its place in the index."""
        return self.size + INDEX_ENTRY_BYTES


class ResponseStore:
    """The cache's SQLite file, on one thread of its own."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
        max_ttl_s: float | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.clock = clock  # wall-clock seconds (a test's own clock may stand in)
        # No answer lives longer than this from now: expiries are wall-clock times, so a
        # clock set back (or a TTL shortened since they were kept) would stretch them.
        self.max_ttl_s = max_ttl_s if max_ttl_s is not None else float("inf")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmgw-cache")
        self._db: sqlite3.Connection | None = None
        # digest -> (expires, charged size), read and written on the loop; the thread sends
        # changes.
        self._index: dict[bytes, tuple[float, int]] = {}
        self._lock = threading.Lock()  # the index, between the loop and the cache's thread
        self._bytes = 0
        self._last_prune = 0.0
        self.ready = False
        self.failed: str | None = None
        # The last write the file refused (a full disk ...), until one succeeds again.
        self.last_error: str | None = None
        self._opening: Future[None] | None = None

    # -- on the loop ----------------------------------------------------------------------

    def start(self) -> None:
        """Open the file and read its index on the cache's thread (once); until it is read,
        every lookup is a miss."""
        if self._opening is None:
            self._opening = self._executor.submit(self._open)

    def holds(self, digest: bytes) -> bool:
        """Whether a live entry for `digest` is in the file (no I/O)."""
        with self._lock:
            found = self._index.get(digest)
        return found is not None and self._live(found[0], self.clock())

    def _live(self, expires: float, now: float) -> bool:
        return now < expires <= now + self.max_ttl_s

    def put(self, answer: CachedAnswer, ttl_s: float) -> Future[None]:
        """Keep `answer` for `ttl_s`: in the index now, in the file on the cache's thread (a
        read asked for after this waits behind the write, as the thread runs them in order)."""
        expires = self.clock() + ttl_s
        with self._lock:
            old = self._index.get(answer.digest)
            self._index[answer.digest] = (expires, answer.charged)
            self._bytes += answer.charged - (old[1] if old else 0)
        return self._executor.submit(self._write, answer, expires)

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Run `call` on the cache's thread."""
        return self._executor.submit(call)

    def health(self) -> dict[str, str | None]:
        """What `/health` says of the file (no path): `ok`, or `failing` with why."""
        problem = self.failed or self.last_error
        return {"state": "ok" if problem is None else "failing", "lastError": problem}

    @property
    def entries(self) -> int:
        return len(self._index)

    @property
    def bytes_held(self) -> int:
        """What counts against the cap: the answers' bytes and `INDEX_ENTRY_BYTES` each."""
        return self._bytes

    def close(self) -> None:
        """Finish queued writes and close the file (blocks: run off the loop)."""
        self._executor.submit(self._close)
        self._executor.shutdown(wait=True)

    # -- on the cache's thread -------------------------------------------------------------

    def _open(self) -> None:
        try:
            try:
                db, rows = self._connect()
            except sqlite3.DatabaseError as exc:
                if not _damaged(exc):
                    raise
                self._set_aside(exc)
                db, rows = self._connect()
        except (sqlite3.Error, OSError) as exc:
            self.failed = _said(exc)
            log.warning(
                "the response cache cannot open %s (%s): every request is a miss", self.path, exc
            )
            return
        self.failed = None
        self._db = db
        with self._lock:  # what was put before the file was read stays in the index
            read = {bytes(d): (e, s + INDEX_ENTRY_BYTES) for d, e, s in rows}
            self._index = read | self._index
            self._bytes = sum(size for _, size in self._index.values())
        del rows, read  # the index alone: what the cap counts
        if self._bytes > self.max_bytes:
            self._evict()  # a cap lowered since the last run holds from the start
            with self._lock:  # a dict keeps its table as large as it was: made again to fit
                self._index = dict(self._index)
        self.ready = True
        log.info(
            "response cache %s: %d answers, %.1f MB", self.path, len(self._index), self._bytes / 1e6
        )

    def _connect(self) -> tuple[sqlite3.Connection, list[Any]]:
        """The file opened, its schema made, what expired deleted, and its index read."""
        ensure_private_file(self.path)  # answers are the callers' words: the operator's alone
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            now = self.clock()
            db.execute(
                "DELETE FROM answers WHERE expires <= ? OR expires > ?",
                (now, now + self.max_ttl_s),
            )
            rows = db.execute("SELECT digest, expires, size FROM answers").fetchall()
        except BaseException:
            db.close()
            raise
        return db, rows

    def _set_aside(self, exc: sqlite3.DatabaseError) -> None:
        """Move a damaged file (and its journal) out of the way, keeping it for a look: what
        it held is derived, so an empty cache in its place loses nothing but hits.

        Raises:
            OSError: it cannot be moved.
        """
        aside = self.path.with_name(self.path.name + ".damaged")
        log.warning(
            "the response cache's file %s is damaged (%s): set aside as %s, the cache starts empty",
            self.path,
            exc,
            aside,
        )
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            journal = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                journal.replace(aside.with_name(aside.name + suffix))

    def _reopen_damaged(self, exc: sqlite3.DatabaseError) -> None:
        """A read found the open file damaged: the index is forgotten and the file set aside
        for an empty one (on the cache's thread, between reads and writes)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        with self._lock:
            self._index.clear()
            self._bytes = 0
        self.ready = False
        try:
            self._set_aside(exc)
        except OSError as moved:
            self.failed = _said(moved)
            log.warning("the response cache's damaged file cannot be moved: %s", moved)
            return
        self._open()

    def read(self, digest: bytes) -> CachedAnswer | None:
        """The live entry for `digest`, its use noted where the disk allows (None: gone or
        expired, or the file was found damaged and replaced)."""
        if self._db is None:
            return None
        now = self.clock()
        try:
            row = self._db.execute(
                "SELECT streamed, body, headers, meta, created, expires FROM answers "
                "WHERE digest = ? AND expires > ?",
                (digest, now),
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            self._reopen_damaged(exc)
            return None
        if row is None or not self._live(row[5], now):
            return None
        try:
            self._db.execute("UPDATE answers SET last_used = ? WHERE digest = ?", (now, digest))
        except sqlite3.OperationalError as exc:
            # A full disk (or a busy file) keeps the use from being noted: the answer is
            # still given, and only the eviction order is a little off.
            log.debug("the response cache could not note a use: %s", exc)
        streamed, body, headers, meta, created, expires = row
        return CachedAnswer(digest, bool(streamed), bytes(body), headers, meta, created, expires)

    def _write(self, answer: CachedAnswer, expires: float) -> None:
        """Write `answer` (already in the index), then keep the file under its cap."""
        if self._db is None:
            self._forget([answer.digest])
            return
        now = self.clock()
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO answers (digest, created, expires, last_used, size, "
                "streamed, body, headers, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.digest,
                    now,
                    expires,
                    now,
                    answer.size,
                    int(answer.streamed),
                    answer.body,
                    answer.headers,
                    answer.meta,
                ),
            )
        except sqlite3.Error as exc:
            if self.last_error is None:
                # Once a spell of failures (a full disk refuses every write: a line each would
                # flood the log); /health says it for as long as it lasts, and the next kept
                # answer ends it.
                log.warning("the response cache cannot keep answers: %s", exc)
            self.last_error = _said(exc)
            self._forget([answer.digest])
            return
        if self.last_error is not None:
            log.info("the response cache keeps answers again")
        self.last_error = None
        if now - self._last_prune >= _PRUNE_EVERY_S:
            self._prune(now)
        if self._bytes > self.max_bytes:
            self._evict()

    def _prune(self, now: float) -> None:
        """Delete what has expired."""
        assert self._db is not None
        self._last_prune = now
        gone = self._db.execute(
            "DELETE FROM answers WHERE expires <= ? OR expires > ? RETURNING digest",
            (now, now + self.max_ttl_s),
        ).fetchall()
        self._forget(bytes(d) for (d,) in gone)

    def _evict(self) -> None:
        """Delete the least recently used answers until the file is under its cap again."""
        assert self._db is not None
        target = self.max_bytes * _EVICT_TO
        gone: list[bytes] = []
        freed = 0
        for digest, size in self._db.execute("SELECT digest, size FROM answers ORDER BY last_used"):
            if self._bytes - freed <= target:
                break
            gone.append(bytes(digest))
            freed += size + INDEX_ENTRY_BYTES
        self._db.executemany("DELETE FROM answers WHERE digest = ?", [(d,) for d in gone])
        self._forget(gone)

    def _forget(self, digests: Iterable[bytes]) -> None:
        with self._lock:
            for digest in digests:
                found = self._index.pop(digest, None)
                if found is not None:
                    self._bytes -= found[1]

    def clear(self) -> int:
        """Delete every answer; how many there were."""
        if self._db is None:
            return 0
        count = self._db.execute("DELETE FROM answers").rowcount
        with self._lock:
            self._index.clear()
            self._bytes = 0
        return count

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.ready = False


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is no database, or a damaged one."""
    return getattr(exc, "sqlite_errorcode", None) in _DAMAGED


def _said(exc: BaseException) -> str:
    """An error as `/health` may show it: its kind and words, never a path."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"
