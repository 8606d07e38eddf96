"""The desktop app's asyncio loop: qasync's, with cancelled timers actually stopped and
`call_soon` callbacks run from one ready queue.

qasync 0.28 keeps a cancelled `call_later` handle, its context and its Qt timer until the
original deadline. Every gateway request arms two ten-minute `asyncio.timeout`s and cancels
them when it is done, so under load tens of thousands of dead timers pile up: Qt walks them
on every timer event and the garbage collector walks their handles, until the loop costs
twice the CPU per request and a full collection takes over 100 ms (bench/dashboard_flood.py).
Here a cancelled handle stops its Qt timer and leaves qasync's table at once.

qasync also makes `call_soon` a `call_later(0)`: one Qt timer started, fired and killed per
callback, and asyncio calls it several times per awaited socket read, future and task step.
Here `call_soon` appends to a queue, as asyncio's own loops do, and one zero-delay Qt timer
runs the callbacks queued when it fires; ones queued meanwhile wait for the next turn, so
sockets and window events still get theirs between batches. A batch also ends after
`BATCH_BUDGET_S`: under a flood of gateway requests the queue never empties, and without
the bound a window event waited for everything queued before it (20-30 ms at 500 requests/s
on 2 cores, bench/dashboard_flood.py). What a socket's reader queues runs right after it, as
asyncio's loops run their ready callbacks after a poll (`_ReadyQueue.after_reader`): a
request's chain of wakes (the read wakes a task, which sets a future, which wakes another)
took a Qt turn per hop through the timer, each with a poll of every socket.

This reaches into qasync's private timer table, so qasync is pinned to 0.28.0 (pyproject.toml);
where the table is not there (another qasync version) the loop behaves as plain qasync, and
tests/ui/test_event_loop.py fails saying so.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import qasync

from llmgw_desktop.ui.qt import QObject, QSocketNotifier, QTimerEvent

__all__ = ["BATCH_BUDGET_S", "QASYNC_TIMER_TABLE", "GatewayEventLoop"]

# The longest run of `call_soon` callbacks before Qt's own events get a turn: a quarter of a
# 60 Hz frame, so a repaint or a key press waits at most about this plus one callback.
BATCH_BUDGET_S = 0.004

QASYNC_TIMER_TABLE = "_SimpleTimer__callbacks"  # qasync's dict: Qt timer id -> handle
_CALLBACKS = QASYNC_TIMER_TABLE


class _StoppableHandle(asyncio.Handle):
    """A timer handle that takes its Qt timer with it when cancelled."""

    __slots__ = ("_kill", "_running", "_table", "_timer_id")

    def __init__(
        self,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context | None = None,
    ) -> None:
        super().__init__(callback, args, loop, context=context)
        self._kill: Callable[[int], object] | None = None
        self._table: dict[int, Any] = {}
        self._timer_id = -1
        self._running = False

    def bind(self, table: dict[int, Any], kill: Callable[[int], object], timer_id: int) -> None:
        self._table, self._kill, self._timer_id = table, kill, timer_id

    def _run(self) -> None:
        self._running = True
        try:
            super()._run()
        finally:
            self._running = False
            self._kill = None  # fired: qasync has removed it already

    def cancel(self) -> None:
        super().cancel()
        kill, self._kill = self._kill, None
        if kill is None or self._running:
            return  # fired, or cancelling itself while running: qasync cleans up after it
        # Only our own entry: Qt reuses the ids of timers that have fired.
        if self._table.get(self._timer_id) is self:
            del self._table[self._timer_id]
            kill(self._timer_id)


# Types whose instances are C callables without a `__dict__`: never coroutine functions, and
# nothing can mark one as such. A task's step (`TaskStepMethWrapper`) and a future's
# `set_result` are most of what the loop schedules.
_PLAIN_C_CALLABLES: set[type] = set()


def _is_coroutine_function(callback: Callable[..., object]) -> bool:
    """`asyncio.iscoroutinefunction`, answered quickly for what the loop schedules most: a
    plain function or bound method from its code object's flags, a C callable from its type.
    `call_soon` and `call_later` ask it several times per gateway request, and the general
    check (partials, markers, signatures) was 5% of the loop's time under a flood
    (bench/dashboard_flood.py --profile)."""
    cls = type(callback)
    if cls in _PLAIN_C_CALLABLES:
        return False
    code = getattr(getattr(callback, "__func__", callback), "__code__", None)
    if code is not None and not hasattr(callback, "_is_coroutine"):
        return bool(code.co_flags & inspect.CO_COROUTINE)
    answer = asyncio.iscoroutinefunction(callback)
    if (
        not answer
        and code is None
        and cls.__module__ == "builtins"
        and not cls.__dictoffset__
        and not hasattr(cls, "_is_coroutine")
        and callable(callback)
    ):
        _PLAIN_C_CALLABLES.add(cls)
    return answer


class _ReadyQueue(QObject):
    """`call_soon` callbacks in order, run after a socket's reader or in batches by one
    zero-delay Qt timer."""

    def __init__(self) -> None:
        super().__init__()
        self._handles: deque[asyncio.Handle] = deque()
        self._timer_id = 0
        self._closed = False
        self._in_reader = False  # a socket's reader runs: `after_reader` runs what it queues
        self.turns = 0  # Qt turns asked for (the zero-delay timer started), for tests

    def add(self, handle: asyncio.Handle) -> None:
        if self._closed:
            return
        self._handles.append(handle)
        if not self._timer_id and not self._in_reader:
            self._start()

    def _start(self) -> None:
        self.turns += 1
        self._timer_id = self.startTimer(0)

    def after_reader(self, reader: asyncio.Handle) -> None:
        """Run a socket's reader, then what it queued (and what that queues in turn) until
        the queue is empty or `BATCH_BUDGET_S` is spent: what asyncio's own loops do after
        a poll. Through the timer, each hop of a request's chain (the read wakes a task,
        which sets a future, which wakes another task) was a Qt loop turn of its own, with
        a timer started, dispatched and killed; the rest, past the budget, still waits for
        the timer, so a flood of reads cannot keep the window's events waiting."""
        self._in_reader = True
        handles = self._handles
        try:
            reader._run()
            deadline = time.perf_counter() + BATCH_BUDGET_S
            while handles:
                handle = handles.popleft()
                if not handle._cancelled:
                    handle._run()
                if time.perf_counter() >= deadline:
                    break
        finally:
            self._in_reader = False
            if handles and not self._timer_id and not self._closed:
                self._start()

    def __len__(self) -> int:
        return len(self._handles)

    def timerEvent(self, event: QTimerEvent) -> None:
        handles = self._handles
        clock = time.perf_counter
        deadline = clock() + BATCH_BUDGET_S
        # Only what is queued now, and only for BATCH_BUDGET_S: a callback that queues another,
        # or a long queue, yields to Qt's events first.
        try:
            for _ in range(len(handles)):
                handle = handles.popleft()
                if not handle._cancelled:
                    handle._run()
                if clock() >= deadline:
                    break
        finally:
            if not handles and self._timer_id:
                self.killTimer(self._timer_id)
                self._timer_id = 0

    def close(self) -> None:
        # What is still queued stays referenced, never run, as qasync keeps its timers'
        # handles: dropping it would let a window's pending task be collected and reported as
        # "Task was destroyed but it is pending!" at every quit.
        self._closed = True
        if self._timer_id:
            self.killTimer(self._timer_id)
            self._timer_id = 0


class GatewayEventLoop(qasync.QEventLoop):
    """qasync's loop whose cancelled timers stop at once and whose `call_soon` is a queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready_queue = _ReadyQueue()  # before qasync's init, which may call_soon
        self._retired: list[Any] = []  # socket notifiers stopped this turn (`_retire`)
        super().__init__(*args, **kwargs)
        # qasync's timer object, its table and its two methods, looked up once: a gateway
        # request arms and cancels a timer, and each lookup on the QObject goes through PySide.
        qt_timer: Any = getattr(self, "_timer", None)
        self._timer_table: dict[int, Any] | None = getattr(qt_timer, _CALLBACKS, None)
        if self._timer_table is not None:
            self._start_timer: Callable[[int], int] = qt_timer.startTimer
            self._kill_timer: Callable[[int], object] = qt_timer.killTimer

    def call_soon(
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        # What the loop schedules most (a task's step and wake-up, a future's `set_result`)
        # is a C callable of a type already known to be a plain, callable one: checked by
        # its type alone, where the two general checks cost about 2 k instructions a call.
        if type(callback) not in _PLAIN_C_CALLABLES:
            if _is_coroutine_function(callback):
                raise TypeError("coroutines cannot be used with call_soon")
            if not callable(callback):
                raise TypeError(f"callback must be callable: {type(callback).__name__}")
        handle = asyncio.Handle(callback, args, self, context)
        self._ready_queue.add(handle)
        return handle

    def close(self) -> None:
        if not self.is_running() and not self.is_closed():
            self._ready_queue.close()
        super().close()

    def ready_callbacks(self) -> int:
        """How many `call_soon` callbacks wait for the next turn (for tests)."""
        return len(self._ready_queue)

    def queue_turns(self) -> int:
        """How many Qt turns the ready queue has asked for so far (for tests)."""
        return self._ready_queue.turns

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        table = self._timer_table
        if table is None or _is_coroutine_function(callback):
            return super().call_later(delay, callback, *args, context=context)
        handle = _StoppableHandle(callback, args, self, context)
        timer_id = self._start_timer(int(delay * 1000) if delay > 0 else 0)
        table[timer_id] = handle
        handle.bind(table, self._kill_timer, timer_id)
        return handle

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        """A socket's reader, run as Qt reports the socket readable. qasync disables the
        notifier, queues the callback with `call_soon`, and enables the notifier again after
        it ran: two notifier changes and a queue turn per read, about 12 us of the loop's time
        (a third of an echo's round trip here). The notifier is level-triggered, as asyncio's
        selector is: what the callback leaves unread is reported again."""
        self._check_closed()
        notifiers: dict[Any, Any] = self._read_notifiers
        old = notifiers.pop(fd, None)
        if old is not None:
            self._retire(old)
        notifier = QSocketNotifier(qasync._fileno(fd), QSocketNotifier.Type.Read)
        handle = asyncio.Handle(callback, args, self)
        after_reader = self._ready_queue.after_reader

        # No parameters: PySide passes a slot only the arguments it takes, and `activated`'s
        # two (the socket, its notifier's type) cost a wrapper and an enum made per read,
        # about 8 k instructions (callgrind), two reads a gateway request.
        def readable() -> None:
            if notifiers.get(fd) is notifier:  # not removed or replaced meanwhile
                after_reader(handle)

        notifier.activated.connect(readable)
        notifiers[fd] = notifier
        notifier.setEnabled(True)

    def _remove_reader(self, fd: Any) -> bool:
        if self.is_closed():
            return False
        notifier = self._read_notifiers.pop(fd, None)
        if notifier is None:
            return False
        self._retire(notifier)
        return True

    def _retire(self, notifier: Any) -> None:
        """Stop `notifier`; kept until the next turn, since this may run inside its own
        signal (a reader that pauses itself), where deleting it would free what Qt is using."""
        notifier.setEnabled(False)
        notifier.activated.disconnect()
        self._retired.append(notifier)
        if len(self._retired) == 1:
            self.call_soon(self._retired.clear)

    def pending_timers(self) -> int:
        """How many Qt timers the loop holds (for tests and benchmarks)."""
        return len(getattr(getattr(self, "_timer", None), _CALLBACKS, {}))
