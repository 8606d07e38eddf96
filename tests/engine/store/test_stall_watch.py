"""The store's watch over a server that stops answering (`engine/store/stall_watch.py`).

The connections are real socket pairs (a thread blocked reading one is what a driver waiting
on a frozen server is); the clock and the probe's answer are the test's. The watch's own
thread is not started: each test takes its looks itself. A real frozen PostgreSQL is
`tests/reliability/test_store_frozen.py`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from llmgw_desktop.engine.store.stall_watch import (
    AT_STOP_AFTER_S,
    PROBE_EVERY_S,
    SUSPECT_AFTER_S,
    StallWatch,
)

JOIN_S = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """What the probe finds: whether the server answers, and how often it was asked."""

    def __init__(self, answers: bool) -> None:
        self.answers = answers
        self.asked = 0

    def probe(self) -> bool:
        self.asked += 1
        return self.answers


def _watch(server: Server, clock: Clock) -> StallWatch:
    return StallWatch("postgresql://db.example/team", server.probe, clock=clock)


@contextmanager
def _blocked_reader(
    watch: StallWatch, *, committing: bool = False
) -> Iterator[tuple[threading.Thread, list[bytes | BaseException]]]:
    """A thread waiting, under `watch`, on a socket nothing will ever be written to."""
    ours, theirs = socket.socketpair()
    got: list[bytes | BaseException] = []
    registered = threading.Event()

    def wait() -> None:
        with watch.waiting(ours):
            if committing:
                with watch.committing():
                    registered.set()
                    _read(ours, got)
            else:
                registered.set()
                _read(ours, got)

    reader = threading.Thread(target=wait)
    reader.start()
    assert registered.wait(JOIN_S)
    try:
        yield reader, got
    finally:
        theirs.close()  # ends the read if the watch did not
        reader.join(JOIN_S)
        ours.close()


def _read(sock: socket.socket, got: list[bytes | BaseException]) -> None:
    try:
        got.append(sock.recv(1))
    except OSError as exc:
        got.append(exc)


def test_a_wait_on_a_server_that_does_not_answer_is_cut_and_new_waits_are_refused() -> None:
    server, clock = Server(answers=False), Clock()
    watch = _watch(server, clock)
    with _blocked_reader(watch) as (reader, got):
        watch.look()
        assert server.asked == 0 and watch.refusal() is None  # not waited long enough yet
        clock.now += SUSPECT_AFTER_S + 0.1
        watch.look()
        reader.join(JOIN_S)
        assert not reader.is_alive() and got == [b""], got  # the wait ended: connection lost
    refusal = watch.refusal()
    assert refusal is not None and "not answering" in refusal


def test_a_slow_statement_on_a_server_that_answers_is_left_to_finish() -> None:
    server, clock = Server(answers=True), Clock()
    watch = _watch(server, clock)
    with _blocked_reader(watch) as (reader, got):
        clock.now += SUSPECT_AFTER_S + 0.1
        watch.look()
        clock.now += 0.5
        watch.look()
        assert server.asked == 1  # asked once, not at every look
        assert reader.is_alive() and not got
        assert watch.refusal() is None


def test_the_server_answering_again_ends_the_refusals() -> None:
    server, clock = Server(answers=False), Clock()
    watch = _watch(server, clock)
    with _blocked_reader(watch):
        clock.now += SUSPECT_AFTER_S + 0.1
        watch.look()
    assert watch.refusal() is not None
    server.answers = True
    clock.now += PROBE_EVERY_S
    watch.look()
    assert watch.refusal() is None


def test_a_commit_is_cut_only_once_the_gateway_stops() -> None:
    """Its COMMIT lands when the server resumes: cut, it would be taken for failed."""
    server, clock = Server(answers=False), Clock()
    watch = _watch(server, clock)
    with _blocked_reader(watch, committing=True) as (reader, got):
        clock.now += SUSPECT_AFTER_S + 0.1
        watch.look()
        assert watch.refusal() is not None  # still said: the server does not answer
        assert reader.is_alive() and not got
        watch.give_up_after(AT_STOP_AFTER_S)
        clock.now += PROBE_EVERY_S
        watch.look()
        reader.join(JOIN_S)
        assert not reader.is_alive() and got == [b""], got


def test_at_stop_a_shorter_wait_has_the_server_probed() -> None:
    server, clock = Server(answers=False), Clock()
    watch = _watch(server, clock)
    watch.give_up_after(AT_STOP_AFTER_S)
    with _blocked_reader(watch) as (reader, got):
        clock.now += AT_STOP_AFTER_S + 0.1
        watch.look()
        reader.join(JOIN_S)
        assert server.asked == 1 and got == [b""], got


def test_the_watch_thread_stops_when_closed() -> None:
    def watching() -> int:
        return sum(t.name == "llmgw-db-watch" for t in threading.enumerate())

    before = watching()
    watch = _watch(Server(answers=True), Clock())
    watch.start()
    assert watching() == before + 1
    watch.close()
    assert watching() == before
