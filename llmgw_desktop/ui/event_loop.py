"""The desktop app's asyncio loop: qasync's, with cancelled timers actually stopped.

qasync 0.28 keeps a cancelled `call_later` handle, its context and its Qt timer until the
original deadline. Every gateway request arms two ten-minute `asyncio.timeout`s and cancels
them when it is done, so under load tens of thousands of dead timers pile up: Qt walks them
on every timer event and the garbage collector walks their handles, until the loop costs
twice the CPU per request and a full collection takes over 100 ms (bench/dashboard_flood.py).
Here a cancelled handle stops its Qt timer and leaves qasync's table at once.

This reaches into qasync's private timer table, so qasync is pinned to 0.28.0 (pyproject.toml);
where the table is not there (another qasync version) the loop behaves as plain qasync, and
tests/ui/test_event_loop.py fails saying so.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable
from typing import Any

import qasync

__all__ = ["QASYNC_TIMER_TABLE", "GatewayEventLoop"]

QASYNC_TIMER_TABLE = "_SimpleTimer__callbacks"  # qasync's dict: Qt timer id -> handle
_CALLBACKS = QASYNC_TIMER_TABLE


class _StoppableHandle(asyncio.Handle):
    """A timer handle that takes its Qt timer with it when cancelled."""

    __slots__ = ("_qt_timer", "_running", "_timer_id")

    def __init__(
        self,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context | None = None,
    ) -> None:
        super().__init__(callback, args, loop, context=context)
        self._qt_timer: Any = None
        self._timer_id = -1
        self._running = False

    def bind(self, qt_timer: Any, timer_id: int) -> None:
        self._qt_timer, self._timer_id = qt_timer, timer_id

    def _run(self) -> None:
        self._running = True
        try:
            super()._run()
        finally:
            self._running = False
            self._qt_timer = None  # fired: qasync has removed it already

    def cancel(self) -> None:
        super().cancel()
        qt_timer, self._qt_timer = self._qt_timer, None
        if qt_timer is None or self._running:
            return  # fired, or cancelling itself while running: qasync cleans up after it
        callbacks = getattr(qt_timer, _CALLBACKS, None)
        # Only our own entry: Qt reuses the ids of timers that have fired.
        if callbacks is not None and callbacks.get(self._timer_id) is self:
            del callbacks[self._timer_id]
            qt_timer.killTimer(self._timer_id)


def _is_coroutine_function(callback: Callable[..., object]) -> bool:
    """`asyncio.iscoroutinefunction`, answered from the code object's flags for a plain
    function or bound method: qasync's `call_soon` is a `call_later(0)`, so this runs several
    times per gateway request, and the general check (partials, markers) was 5% of the loop's
    time under a flood (bench/dashboard_flood.py --profile)."""
    code = getattr(getattr(callback, "__func__", callback), "__code__", None)
    if code is not None and not hasattr(callback, "_is_coroutine"):
        return bool(code.co_flags & inspect.CO_COROUTINE)
    return asyncio.iscoroutinefunction(callback)


class GatewayEventLoop(qasync.QEventLoop):
    """qasync's loop whose cancelled timers stop at once."""

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        qt_timer: Any = getattr(self, "_timer", None)
        callbacks = getattr(qt_timer, _CALLBACKS, None)
        if qt_timer is None or callbacks is None or _is_coroutine_function(callback):
            return super().call_later(delay, callback, *args, context=context)
        handle = _StoppableHandle(callback, args, self, context=context)
        timer_id = qt_timer.startTimer(int(max(0.0, delay) * 1000))
        callbacks[timer_id] = handle
        handle.bind(qt_timer, timer_id)
        return handle

    def pending_timers(self) -> int:
        """How many Qt timers the loop holds (for tests and benchmarks)."""
        return len(getattr(getattr(self, "_timer", None), _CALLBACKS, {}))
