"""The store's stall watch cuts only what it means to cut (store red-team, 2026-11-25).

The watch (`engine/store/stall_watch.py`) shuts down the socket of every database thread
waiting on a server that does not answer, except a COMMIT's before the stop: a COMMIT sent to
a frozen server lands when it resumes, so a transaction cut there is taken for failed although
it is stored, and written again (a budget's spend counted twice; `LaneAccounts.flush` gives back
what it could not write). Two races let a cut reach what it must not:

- A thread said it was committing without the watch's lock: the watch chose the waits to cut
  (that one not yet committing), the thread then sent its COMMIT, and the watch shut its socket
  down under it.
- The watch read a connection's descriptor when it cut, from another thread than the one that
  owns the connection: the driver of that thread may close it meanwhile (libpq drops a
  connection that failed), and the number, free again, be taken by any socket the process
  opens next (a client's, another lane's), which the watch then shut down.

The connections are real socket pairs, the clock and the probe the test's, as in
`tests/engine/store/test_stall_watch.py`; each race is played in the order that loses.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest

from llmgw_desktop.engine.store import stall_watch
from llmgw_desktop.engine.store.stall_watch import SUSPECT_AFTER_S, StallWatch

JOIN_S = 5.0
# How long the first cut lets the committing thread, about to commit, go ahead (it cannot once
# the watch's lock holds it back: then the test waits this long for nothing).
RACE_S = 1.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _frozen(clock: Clock) -> StallWatch:
    """A watch over a server whose probe never answers."""
    return StallWatch("postgresql://db.example/team", lambda: False, clock=clock)


@contextmanager
def _pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    try:
        yield ours, theirs
    finally:
        ours.close()
        theirs.close()


def _cut(peer: socket.socket) -> bool:
    """Whether the other end of `peer` was shut down (it reads end of file, not nothing)."""
    peer.settimeout(0.2)
    try:
        return peer.recv(64) == b""
    except TimeoutError:
        return False


def test_a_commit_sent_while_the_watch_cuts_is_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    watch = _frozen(clock)
    attempting = threading.Event()
    committing = threading.Event()
    cut_once = threading.Event()
    real_shut_down = stall_watch._shut_down

    def slow_first_cut(*args: Any) -> None:
        # The watch, between choosing the waits to cut and cutting the second: a loaded
        # machine, or simply the first shutdown's system calls.
        if not cut_once.is_set():
            cut_once.set()
            assert attempting.wait(JOIN_S)
            committing.wait(RACE_S)
        real_shut_down(*args)

    monkeypatch.setattr(stall_watch, "_shut_down", slow_first_cut)
    with _pair() as (slow_ours, slow_theirs), _pair() as (ours, theirs):
        registered = threading.Barrier(3)
        sent: list[bool] = []
        got: list[bytes | BaseException] = []

        def slow_statement() -> None:  # a wait the server never answers: cut, as it should be
            with watch.waiting(slow_ours):
                registered.wait(JOIN_S)
                with suppress(OSError):
                    slow_ours.recv(1)

        def commit() -> None:  # the statements answered; the COMMIT is next
            with watch.waiting(ours):
                registered.wait(JOIN_S)
                cut_once.wait(JOIN_S)
                attempting.set()
                with watch.committing():
                    committing.set()
                    try:
                        ours.sendall(b"COMMIT")
                        sent.append(True)
                    except OSError:
                        sent.append(False)  # cut before it was sent: not stored, said failed
                        return
                    try:
                        got.append(ours.recv(1))
                    except OSError as exc:
                        got.append(exc)

        threads = [threading.Thread(target=slow_statement), threading.Thread(target=commit)]
        for thread in threads:
            thread.start()
        registered.wait(JOIN_S)
        clock.now += SUSPECT_AFTER_S + 0.1
        watch.look()
        assert watch.refusal() is not None
        assert _cut(slow_theirs)  # the legitimate cut: a wait that is not a COMMIT's
        if sent == [True]:
            # The COMMIT reached the server: its answer must be waited for, not cut.
            assert theirs.recv(64) == b"COMMIT"
            assert not _cut(theirs), "a COMMIT sent was cut: it would be written twice"
            theirs.sendall(b"C")  # the server resumes and answers it
        for thread in threads:
            thread.join(JOIN_S)
            assert not thread.is_alive()
        assert sent in ([True], [False]), sent
        if sent == [True]:
            assert got == [b"C"], got


class _DroppedWhileRead:
    """A driver's connection whose own thread drops it (libpq closes the socket of a connection
    that failed) while another thread reads its descriptor, the number then taken at once by
    the next socket the process opens (`innocent`)."""

    def __init__(self, sock: socket.socket, innocent: socket.socket) -> None:
        self.sock = sock
        self.innocent = innocent
        self.owner = threading.get_ident()
        self.reused: int | None = None

    def fileno(self) -> int:
        number = self.sock.fileno()
        if threading.get_ident() != self.owner and self.reused is None:
            self.sock.close()  # the driver's thread drops it...
            os.dup2(self.innocent.fileno(), number)  # ...and the number goes to another socket
            self.reused = number
        return number


def test_the_watch_shuts_down_the_waiting_socket_and_no_other() -> None:
    clock = Clock()
    watch = _frozen(clock)
    with _pair() as (ours, theirs), _pair() as (innocent, innocent_peer):
        release = threading.Event()
        registered = threading.Event()
        connection: list[_DroppedWhileRead] = []

        def wait() -> None:
            connection.append(_DroppedWhileRead(ours, innocent))
            with watch.waiting(connection[0]):
                registered.set()
                release.wait(JOIN_S)

        waiter = threading.Thread(target=wait)
        waiter.start()
        try:
            assert registered.wait(JOIN_S)
            clock.now += SUSPECT_AFTER_S + 0.1
            cutter = threading.Thread(target=watch.look)  # the watch's own thread
            cutter.start()
            cutter.join(JOIN_S)
            assert watch.refusal() is not None
            assert not _cut(innocent_peer), "the watch shut down a socket that was not waited on"
            if connection[0].reused is None:
                # The legitimate path: the socket the thread waits on is the one cut.
                assert _cut(theirs)
        finally:
            release.set()
            waiter.join(JOIN_S)
            reused = connection[0].reused if connection else None
            if reused is not None:
                os.close(reused)
