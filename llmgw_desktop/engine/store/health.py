"""Whether the store can be trusted and written: what `/health`, the tray and Overview show.

Three things make the store `degraded`: the start-up `PRAGMA quick_check` found damage, a write
failed because the file is damaged or the disk is full (any part: recorder, jobs, sessions),
or the flight recorder cannot write. Each part reports and clears its own problem, so the
status goes back to `ok` when writes recover (the damage found at start-up stays until the
next start, since nothing repairs it). A listener is told on every change.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llmgw_desktop.engine.outage import Outage

__all__ = [
    "QUICK_CHECK_BUDGET_S",
    "StoreHealth",
    "check_store",
    "is_write_failure",
    "quick_check",
    "refused_by_disk",
]

log = logging.getLogger(__name__)

# How long the start-up check may read; it runs on its own connection and thread, so it never
# holds the gateway's database thread, and a bigger store is checked in part (and said so).
QUICK_CHECK_BUDGET_S = 10.0
QUICK_CHECK_MAX_ERRORS = 5
REASON_CHARS = 200
_CHAIN_MAX = 5  # exceptions followed back through `__cause__`/`__context__` (no cycle held)
_DISK_ERRNOS = {
    errno.ENOSPC: "it is full",
    errno.EDQUOT: "it is over its quota",
    errno.EROFS: "it is read-only",
}
# sqlite3 messages of a store that cannot take writes (as opposed to a query's own mistake).
_FAILURE_WORDS = (
    "disk is full",
    "database or disk is full",
    "malformed",
    "disk i/o error",
    "not a database",
    "readonly",
    "read-only",
    "corrupt",
    "no space left",
)


def refused_by_disk(exc: BaseException) -> tuple[str, str] | None:
    """When `exc` (an SQLite error or an `OSError`, or what it hides) is the disk's refusal of
    a write: what that means ("it is full", "it is read-only" ...) and the words it came in;
    None for any other failure (damage included: that is the file, not the disk)."""
    for seen in _chain(exc):
        if isinstance(seen, OSError):
            if seen.errno in _DISK_ERRNOS:
                return _DISK_ERRNOS[seen.errno], seen.strerror or ""
            continue
        if not isinstance(seen, sqlite3.DatabaseError) and type(seen).__module__ != "peewee":
            continue
        text = str(seen).lower()
        if "disk is full" in text or "no space left" in text:
            return "it is full", str(seen)
        if "readonly" in text or "read-only" in text:
            return "it is read-only", str(seen)
    return None


def is_write_failure(exc: BaseException) -> bool:
    """True when `exc` (or what it hides) says the file is damaged, read-only or out of
    space."""
    for seen in _chain(exc):
        if isinstance(seen, OSError):
            if seen.errno in (errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT):
                return True
        elif isinstance(seen, sqlite3.DatabaseError) or type(seen).__module__ == "peewee":
            text = str(seen).lower()
            if any(word in text for word in _FAILURE_WORDS):
                return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from or while handling, nearest first. After SQLITE_FULL,
    SQLite has already rolled back, and peewee's `atomic()` then fails its own rollback
    ("cannot rollback - no transaction is active"): the disk's refusal is the context."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < _CHAIN_MAX:
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


class StoreHealth:
    """The problems each part of the gateway has with the store now, by part.

    Each part's problem is one outage: a WARNING when it starts, one when it ends with how many
    failures it counted and for how long; new wording meanwhile (a reset, then a refusal) only
    updates the reason (and tells the listener), at DEBUG."""

    def __init__(
        self,
        on_change: Callable[[str | None], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`on_change` hears the new `reason` (None when all is well) at every change."""
        self._problems: dict[str, str] = {}
        self._outages: dict[str, Outage] = {}
        self._clock = clock
        self._on_change = on_change

    @property
    def degraded(self) -> bool:
        return bool(self._problems)

    @property
    def reason(self) -> str | None:
        """One line naming every part's problem, or None when all is well."""
        if not self._problems:
            return None
        return "; ".join(f"{part}: {problem}" for part, problem in sorted(self._problems.items()))

    def report(self, part: str, problem: str) -> None:
        """`part` failed (again) because of `problem`: said when its outage starts."""
        problem = " ".join(problem.split())[:REASON_CHARS]
        outage = self._outages.setdefault(part, Outage(self._clock))
        if outage.failed(problem):
            log.warning("store degraded (%s): %s", part, problem)
        elif self._problems.get(part) != problem:
            log.debug("store still degraded (%s), now: %s", part, problem)
        if self._problems.get(part) == problem:
            return
        self._problems[part] = problem
        self._changed()

    def clear_if(self, part: str, words: str) -> None:
        """`clear(part)` if its problem is the one said in `words` (its beginning): a look
        that found the server answering ends "cannot reach", not a disk that refuses writes."""
        problem = self._problems.get(part)
        if problem is not None and problem.startswith(words):
            self.clear(part)

    def clear(self, *parts: str) -> None:
        """`parts` write again: each outage's end said once, with its count and length."""
        ended: list[str] = []
        for part in parts:
            if self._problems.pop(part, None) is None:
                continue
            outage = self._outages.pop(part, None)
            end = None if outage is None else outage.recovered()
            ended.append(part if end is None else f"{part}, {end.describe()}")
        if ended:
            log.warning("store writable again (%s)", "; ".join(ended))
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.reason)


async def check_store(path: Path, stop: threading.Event) -> str | None:
    """`quick_check` on a thread of its own (not the loop's shared executor, which DNS look-ups
    wait on); setting `stop` ends it within a few milliseconds, so a stop never waits for it
    (a reader would also hold up the checkpoint at close)."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmgw-store-check") as pool:
        try:
            return await loop.run_in_executor(pool, quick_check, path, QUICK_CHECK_BUDGET_S, stop)
        finally:
            stop.set()


def quick_check(
    path: Path, budget_s: float = QUICK_CHECK_BUDGET_S, stop: threading.Event | None = None
) -> str | None:
    """`PRAGMA quick_check` on its own read-only connection, stopped after `budget_s` or when
    `stop` is set; None when the file is fine (or the check was cut short: logged), else what it
    found. Blocking: run it off the event loop."""
    deadline = time.monotonic() + budget_s
    timed_out = False

    def over_budget() -> int:
        nonlocal timed_out
        timed_out = time.monotonic() > deadline or (stop is not None and stop.is_set())
        return 1 if timed_out else 0

    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return f"cannot read the database to check it: {exc}"
    try:
        connection.set_progress_handler(over_budget, 10_000)
        found = connection.execute(f"PRAGMA quick_check({QUICK_CHECK_MAX_ERRORS})").fetchall()
    except sqlite3.Error as exc:
        if timed_out:
            log.info("store check cut short (time budget or stop); not a fault")
            return None
        return f"integrity check failed: {exc}"
    finally:
        connection.close()
    lines = [str(row[0]) for row in found]
    if lines == ["ok"]:
        return None
    return "damaged: " + "; ".join(lines)
