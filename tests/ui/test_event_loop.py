"""The desktop loop stops cancelled timers at once (qasync alone keeps them to the deadline),
and runs `call_soon` callbacks from one ready queue (qasync makes a Qt timer for each)."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Callable, Iterator

import pytest

from llmgw_desktop.ui import event_loop as event_loop_module
from llmgw_desktop.ui.event_loop import QASYNC_TIMER_TABLE, GatewayEventLoop
from llmgw_desktop.ui.qt import QApplication


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[GatewayEventLoop]:
    event_loop = GatewayEventLoop(qapp)
    yield event_loop
    event_loop.close()


@pytest.fixture
def unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A turn's time budget no test run can spend: a turn runs all it has. The budget is wall
    time, so on a loaded machine a descheduled callback spends its 4 ms alone and the turn
    yields to Qt early, as it should; tests of what one turn runs set it aside (the budget has
    a test of its own)."""
    monkeypatch.setattr(event_loop_module, "BATCH_BUDGET_S", 60.0)


def test_qasync_still_has_the_private_timer_table_the_fix_uses(loop: GatewayEventLoop) -> None:
    # Without it the loop falls back to plain qasync, and the tests below would pass counting
    # an empty table: fail here instead, naming what to do.
    qt_timer = getattr(loop, "_timer", None)
    table = getattr(qt_timer, QASYNC_TIMER_TABLE, None)
    assert isinstance(table, dict), (
        f"qasync {importlib.metadata.version('qasync')} has no {QASYNC_TIMER_TABLE} on the loop's "
        "timer: ui/event_loop.py's stop of cancelled timers is off. Adapt it to this qasync, or "
        "keep qasync at the version pyproject.toml pins."
    )
    handle = loop.call_later(600, lambda: None)
    try:
        assert handle in table.values(), "call_later no longer registers in qasync's table"
    finally:
        handle.cancel()
    assert handle not in table.values()


def test_cancelled_timeouts_leave_no_timers_behind(loop: GatewayEventLoop) -> None:
    async def many_requests() -> None:
        for _ in range(500):  # each like a gateway request: a long timeout, done at once
            async with asyncio.timeout(600):
                await asyncio.sleep(0)

    loop.run_until_complete(many_requests())
    assert loop.pending_timers() < 5


def test_timers_still_fire_and_may_cancel_themselves(loop: GatewayEventLoop) -> None:
    fired: list[str] = []

    async def scenario() -> None:
        handles: list[asyncio.Handle] = []

        def cancel_self() -> None:
            fired.append("self")
            handles[0].cancel()  # a callback cancelling its own handle must not break qasync

        handles.append(loop.call_later(0.01, cancel_self))
        loop.call_later(0.02, fired.append, "later")
        dropped = loop.call_later(0.02, fired.append, "dropped")
        dropped.cancel()
        await asyncio.sleep(0.1)

    loop.run_until_complete(scenario())
    assert fired == ["self", "later"]
    assert loop.pending_timers() < 3


def test_the_quick_coroutine_check_agrees_with_asyncio_on_every_kind_of_callback() -> None:
    import functools

    from llmgw_desktop.ui.event_loop import _is_coroutine_function

    async def coroutine() -> None:
        return None

    def plain() -> None:
        return None

    class Owner:
        async def coroutine_method(self) -> None:
            return None

        def method(self) -> None:
            return None

    class AsyncCallable:
        async def __call__(self) -> None:
            return None

    owner = Owner()
    callbacks: list[Callable[..., object]] = [
        coroutine,
        plain,
        owner.coroutine_method,
        owner.method,
        functools.partial(coroutine),
        functools.partial(plain),
        print,
        [].append,
        lambda: None,
        AsyncCallable(),
    ]
    plain_loop = asyncio.new_event_loop()
    try:
        callbacks.append(plain_loop.create_future().set_result)
        for _ in range(2):  # the second pass answers C callables from the type it learnt
            for callback in callbacks:
                expected = asyncio.iscoroutinefunction(callback)
                assert _is_coroutine_function(callback) == expected, callback
    finally:
        plain_loop.close()


def test_call_soon_runs_in_order_skips_cancelled_and_lets_qt_in_between_turns(
    loop: GatewayEventLoop, unhurried: None
) -> None:
    from llmgw_desktop.ui.qt import QTimer

    ran: list[str] = []

    async def scenario() -> None:
        def first() -> None:
            ran.append("first")
            # Queued while a turn runs: it waits for the next turn, after Qt's own events.
            loop.call_soon(ran.append, "queued by first")
            QTimer.singleShot(0, lambda: ran.append("qt event"))

        loop.call_soon(first)
        loop.call_soon(ran.append, "second")
        loop.call_soon(ran.append, "cancelled").cancel()
        await asyncio.sleep(0.05)

    loop.run_until_complete(scenario())
    assert ran[:2] == ["first", "second"]
    assert "cancelled" not in ran
    assert ran.index("qt event") < ran.index("queued by first"), ran
    assert loop.ready_callbacks() == 0
    assert loop.pending_timers() < 3


def test_a_turn_past_its_time_budget_leaves_the_rest_for_the_next_turns(
    loop: GatewayEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long queue cannot keep the window's events waiting: once a turn has spent its budget
    (here none at all) the rest of the queue waits for Qt's next turn, one callback a turn."""
    monkeypatch.setattr(event_loop_module, "BATCH_BUDGET_S", 0.0)
    turns: list[int] = []
    ran: list[int] = []
    run_turn = event_loop_module._ReadyQueue.timerEvent

    def counted(queue: object, event: object) -> None:
        turns.append(len(ran))
        run_turn(queue, event)  # type: ignore[arg-type]

    monkeypatch.setattr(event_loop_module._ReadyQueue, "timerEvent", counted)

    async def scenario() -> None:
        for number in range(3):
            loop.call_soon(ran.append, number)
        await asyncio.sleep(0.05)

    loop.run_until_complete(scenario())
    assert ran == [0, 1, 2]
    # Each turn is noted with how many had run before it: one turn each means the counts
    # 0, 1, 2 and 3 in a row (the scenario's own steps take turns of their own around them).
    assert any(turns[i : i + 4] == [0, 1, 2, 3] for i in range(len(turns))), turns


def test_a_failing_callback_reaches_the_exception_handler_and_the_queue_goes_on(
    loop: GatewayEventLoop,
) -> None:
    errors: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["exception"]))
    ran: list[int] = []

    def boom() -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        loop.call_soon(boom)
        loop.call_soon(ran.append, 1)
        await asyncio.sleep(0.02)

    loop.run_until_complete(scenario())
    assert ran == [1]
    assert [str(e) for e in errors] == ["boom"]


def test_call_soon_refuses_a_coroutine_function_and_keeps_context(loop: GatewayEventLoop) -> None:
    import contextvars

    async def coroutine() -> None:
        return None

    with pytest.raises(TypeError):
        loop.call_soon(coroutine)
    for _ in range(2):  # the second time too: the quick check by type must not learn `int`
        with pytest.raises(TypeError):
            loop.call_soon(5)  # type: ignore[arg-type]

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []
    context = contextvars.copy_context()
    context.run(var.set, "from the caller")

    async def scenario() -> None:
        loop.call_soon(lambda: seen.append(var.get()), context=context)
        await asyncio.sleep(0.02)

    loop.run_until_complete(scenario())
    assert seen == ["from the caller"]


def test_threads_still_reach_the_loop(loop: GatewayEventLoop) -> None:
    async def scenario() -> str:
        return await asyncio.to_thread(lambda: "from a thread")

    assert loop.run_until_complete(scenario()) == "from a thread"


def test_a_reader_runs_as_its_socket_is_readable_and_again_for_what_it_left(
    loop: GatewayEventLoop,
) -> None:
    import socket

    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    got: list[bytes] = []
    errors: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["exception"]))

    async def scenario() -> None:
        done = loop.create_future()

        def read() -> None:
            got.append(ours.recv(2))  # less than was sent: the rest is reported again
            if b"".join(got) == b"hello":
                loop.remove_reader(ours)  # inside its own notifier's signal
                done.set_result(None)
            elif got[-1] == b"ll":
                raise RuntimeError("a failing reader")

        loop.add_reader(ours, read)
        theirs.sendall(b"hello")
        await asyncio.wait_for(done, 5)
        # Removed: more data is left alone until a reader is added again.
        theirs.sendall(b"!")
        await asyncio.sleep(0.05)
        assert b"".join(got) == b"hello"
        again = loop.create_future()
        loop.add_reader(ours, lambda: again.set_result(ours.recv(10)))
        assert await asyncio.wait_for(again, 5) == b"!"
        loop.remove_reader(ours)

    try:
        loop.run_until_complete(scenario())
    finally:
        ours.close()
        theirs.close()
    assert [str(e) for e in errors] == ["a failing reader"]


def test_a_socket_read_makes_no_queue_turn_on_the_desktop_loop(qapp: QApplication) -> None:
    """qasync queues every socket read with `call_soon` (and switches the notifier off and on
    around it): about 12 us of the loop's time per read, 1.6 times asyncio's echo round trip.
    The desktop loop runs the reader from the notifier's signal. Counted here, on both loops,
    so the test cannot pass by counting nothing; what it is worth in time is measured by
    `bench/loop_roundtrip.py`, where a noisy machine cannot fail a test with it."""
    import qasync

    from bench.loop_roundtrip import per_round

    rounds = 300

    def queue_turns(event_loop: asyncio.AbstractEventLoop) -> int:
        turns = 0
        queue = event_loop.call_soon

        def counting(*args: object, **kwargs: object) -> asyncio.Handle:
            nonlocal turns
            turns += 1
            return queue(*args, **kwargs)  # type: ignore[arg-type]

        event_loop.call_soon = counting  # type: ignore[method-assign]
        try:
            event_loop.run_until_complete(per_round(rounds))
        finally:
            del event_loop.call_soon  # type: ignore[method-assign]
        return turns

    ours = GatewayEventLoop(qapp)
    try:
        desktop = queue_turns(ours)
    finally:
        ours.close()
    theirs = qasync.QEventLoop(qapp)
    try:
        plain_qasync = queue_turns(theirs)
    finally:
        theirs.close()
    # Two reads a round trip: qasync queues each; ours only the connections' set-up and close.
    assert plain_qasync >= 2 * rounds, plain_qasync
    assert desktop < 20, desktop


def test_what_a_socket_read_wakes_runs_in_the_same_turn(
    loop: GatewayEventLoop, unhurried: None
) -> None:
    """A read that wakes a task (a stream's reader, a request's handler) runs the task's step
    after the reader, as asyncio's own loops do after a poll, rather than in a Qt turn of its
    own: each such turn was a timer started, dispatched and killed, and a poll of every
    socket."""
    import socket

    rounds = 50

    async def echo() -> int:
        a, b = socket.socketpair()
        left_in, left_out = await asyncio.open_connection(sock=a)
        right_in, right_out = await asyncio.open_connection(sock=b)
        before = loop.queue_turns()
        for _ in range(rounds):
            left_out.write(b"x")
            right_out.write(await right_in.readexactly(1))
            assert await left_in.readexactly(1) == b"x"
        turns = loop.queue_turns() - before
        left_out.close()
        right_out.close()
        return turns

    # Two reads a round, each waking this task: a turn each if the queue waited for Qt.
    assert loop.run_until_complete(echo()) < 5


def test_a_socket_read_makes_no_python_objects_for_the_notifiers_arguments(
    loop: GatewayEventLoop,
) -> None:
    """The reader's slot takes no parameters, so PySide makes nothing for `activated`'s two
    (the socket, the notifier's type: an enum made in Python per read), about 8 k
    instructions a read. Counted by the enum's Python calls during an echo."""
    import socket
    import sys
    from types import FrameType

    rounds = 50
    enum_calls = 0

    def count(frame: FrameType, event: str, _arg: object) -> None:
        nonlocal enum_calls
        if event == "call" and frame.f_code.co_filename.endswith("enum.py"):
            enum_calls += 1

    async def echo() -> None:
        a, b = socket.socketpair()
        left_in, left_out = await asyncio.open_connection(sock=a)
        right_in, right_out = await asyncio.open_connection(sock=b)
        sys.setprofile(count)
        try:
            for _ in range(rounds):
                left_out.write(b"x")
                right_out.write(await right_in.readexactly(1))
                await left_in.readexactly(1)
        finally:
            sys.setprofile(None)
        left_out.close()
        right_out.close()

    loop.run_until_complete(echo())
    assert enum_calls < 5, enum_calls
