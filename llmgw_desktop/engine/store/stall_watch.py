"""The watch over a PostgreSQL server that stops answering without going away.

A server frozen (its processes SIGSTOPped, a VM paused, a debugger holding it) keeps its
sockets open, and its host's kernel acknowledges everything sent to it: nothing at the TCP
level ends a wait on it (keepalives are answered by the kernel, `tcp_user_timeout` needs data
left unacknowledged, `statement_timeout` runs on the frozen server itself; each measured still
waiting after 12 s). A database thread waiting on such a server waited for as long as it
stayed frozen, holding peewee's connection lock, so every other lane waited behind it, and so
did the gateway's stop: more than a minute, with the thread in the pool's `SELECT 1` check of
a connection it was about to reuse (docs/RELIABILITY.md).

So each database thread says when it starts and ends a wait on a connection (`waiting`). A
wait longer than `SUSPECT_AFTER_S` may still be a slow statement or a lock a peer holds, so
the watch asks the server on a connection of its own (`probe`, bounded by `PROBE_TIMEOUT_S`):
a server that answers is left to finish. One that does not is taken as not answering: every
wait on it is cut (its socket shut down, so the driver fails at once rather than blocking),
and until a probe is answered again the pool refuses at once (`refusal`) instead of opening
connections that would each wait their connect timeout. At stop the wait tolerated shrinks
to `AT_STOP_AFTER_S`, so a stop gives up on a frozen server within a few seconds.

A wait for a COMMIT's answer is cut only at stop (`committing`): the COMMIT sits in the
server's socket buffer and lands when it resumes, so a transaction cut there would be taken
for failed although it is stored, and written again (a budget's spend counted twice). Until
the server resumes or the gateway stops, that one lane waits, as it did before the watch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "AT_STOP_AFTER_S",
    "PROBE_TIMEOUT_S",
    "SUSPECT_AFTER_S",
    "StallWatch",
    "Waitable",
]

log = logging.getLogger(__name__)

# A wait on the server longer than this has the server probed. Well above the slowest statement
# measured (a count over a million rows, 1.4 s), below the 10 s the store's other bounds give
# (connect timeout, TCP user timeout).
SUSPECT_AFTER_S = 5.0
# The probe's connect timeout: a server that answers no connection in this long is not
# answering. A connect is about two round trips (three or four with TLS), so a link slower than
# about a second each way is taken for it too: calls then fail rather than crawl, and serve
# again at the first probe answered.
PROBE_TIMEOUT_S = 3
# While the server is taken as not answering, it is probed this often, so the gateway serves
# again within about this long after it resumes.
PROBE_EVERY_S = 1.0
# From the start of a stop, a wait longer than this has the server probed.
AT_STOP_AFTER_S = 1.0
# How often the watch looks at the waits.
TICK_S = 0.25


class Waitable(Protocol):
    """A connection whose socket a wait is on (psycopg's `Connection`)."""

    def fileno(self) -> int: ...


class StallWatch:
    """Cuts every wait on a server that stops answering; its thread runs between `start` and
    `close`."""

    def __init__(
        self,
        where: str,
        probe: Callable[[], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`where` names the server in the log; `probe` says whether it answers a connection
        of its own within `PROBE_TIMEOUT_S` (blocking; any answer counts, a refusal too)."""
        self._where = where
        self._probe = probe
        self._clock = clock
        self._lock = threading.Lock()
        self._waits: dict[int, _Wait] = {}  # by thread id
        self._suspect_after = SUSPECT_AFTER_S
        self._stopping_now = False
        self._last_probe = float("-inf")
        self._silent_since: float | None = None  # the start of the wait it never answered
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def waiting(self, connection: Waitable) -> Iterator[None]:
        """This thread waits on `connection`'s server for the length of the block."""
        ident = threading.get_ident()
        # Its socket, held by this thread (the connection's owner) for as long as it waits: a
        # descriptor read at the cut, from the watch's thread, may have been closed by the driver
        # meanwhile (libpq drops a connection that failed) and its number taken by any socket
        # the process opens next, which the cut would shut down instead.
        sock = _socket_of(connection)
        with self._lock:
            self._waits[ident] = _Wait(self._clock(), sock)
        try:
            yield
        finally:
            with self._lock:
                self._waits.pop(ident, None)
            if sock is not None:
                sock.close()  # after the pop, under the lock: no cut is using it

    @contextmanager
    def committing(self) -> Iterator[None]:
        """This thread's wait, for the length of the block, is for a COMMIT's answer: cut only
        at stop (see the module docstring)."""
        # Said under the lock: a cut chooses its waits and shuts them under it, so the COMMIT is
        # sent either before the choice (and spared) or after the cut (on a shut socket: not sent).
        with self._lock:
            wait = self._waits.get(threading.get_ident())
            if wait is not None:
                wait.committing = True
        try:
            yield
        finally:
            if wait is not None:
                with self._lock:
                    wait.committing = False

    def refusal(self) -> str | None:
        """Why a new wait on the server is refused now (None: it is not)."""
        since = self._silent_since
        if since is None:
            return None
        return f"not answering for {self._clock() - since:.0f} s: frozen or overloaded?"

    def give_up_after(self, seconds: float) -> None:
        """Tolerate waits of only `seconds` from now on (the gateway is stopping)."""
        self._suspect_after = min(self._suspect_after, seconds)
        self._stopping_now = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="llmgw-db-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the watch's thread (within a probe's length)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(PROBE_TIMEOUT_S + 1)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(TICK_S):
            try:
                self.look()
            except Exception:  # the watch must outlive a bug in one look
                log.exception("the store's watch failed")

    def look(self) -> None:
        """One look at the waits: probe when one is too long, cut them all when the server
        does not answer, and learn when it answers again."""
        now = self._clock()
        if self._silent_since is not None:
            self._cut_all()  # anything that began a wait before the refusals did
            if now - self._last_probe >= PROBE_EVERY_S:
                self._last_probe = now
                if self._probe():
                    log.warning("the database %s answers again", self._where)
                    self._silent_since = None
            return
        with self._lock:
            oldest = min((wait.since for wait in self._waits.values()), default=None)
        if oldest is None or now - oldest < self._suspect_after:
            return
        if now - self._last_probe < self._suspect_after:
            return  # a slow statement the last probe found the server answering beside
        self._last_probe = now
        if self._probe():
            return
        self._silent_since = oldest
        cut = self._cut_all()
        log.warning(
            "the store is not answering: the database %s has answered nothing for %.0f s and "
            "a connection of its own got no answer in %d s (frozen or overloaded?); %d wait(s) "
            "on it cut, and calls that need the store fail at once until it answers again",
            self._where,
            now - oldest,
            PROBE_TIMEOUT_S,
            cut,
        )

    def _cut_all(self) -> int:
        """Shut down the socket of every wait but a COMMIT's before the stop (under the lock,
        each on the wait's own duplicate of its descriptor: `waiting`); how many."""
        with self._lock:
            cut = [w for w in self._waits.values() if self._stopping_now or not w.committing]
            for wait in cut:
                if wait.sock is not None:
                    _shut_down(wait.sock)
            return len(cut)


@dataclass
class _Wait:
    """A database thread's wait on the server."""

    since: float
    sock: socket.socket | None  # its connection's socket, on a descriptor of the wait's own
    committing: bool = False


def _socket_of(connection: Waitable) -> socket.socket | None:
    """`connection`'s socket on a duplicate descriptor (the driver owns, and closes, its own);
    None when it has none (closed already: nothing waits on it)."""
    try:
        duplicate = os.dup(connection.fileno())
    except Exception:
        return None
    try:
        return socket.socket(fileno=duplicate)
    except OSError:  # not a socket
        os.close(duplicate)
        return None


def _shut_down(sock: socket.socket) -> None:
    """Both directions of `sock` shut: its driver's wait returns at once, with the connection
    lost."""
    # Not connected any more (OSError): nothing to cut.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
