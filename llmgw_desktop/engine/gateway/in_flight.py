"""The calls choosing or asking a target now, which a stop ends (`Lifecycle.interrupt_work`).

A call whose answer has not begun when the gateway stops is ended by cancelling its task, and
its route (`GatewayService._route`) tells its caller `gateway_stopping` in its door's form
instead of leaving it to the front doors' close, a bare disconnect. A cancellation that is not
the stop's (its caller left) stays one.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

__all__ = ["CallsInFlight"]


class CallsInFlight:
    """The tasks of the calls being routed, and those a stop ended."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()
        self._ended: set[asyncio.Task[Any]] = set()

    def began(self) -> asyncio.Task[Any]:
        """The running call's task, counted until `left`."""
        task = cast("asyncio.Task[Any]", asyncio.current_task())  # a route runs in a task
        self._running.add(task)
        return task

    def left(self, task: asyncio.Task[Any]) -> None:
        """The call of `task` is routed (answered, refused or cancelled)."""
        self._running.discard(task)
        self._ended.discard(task)  # one the stop cancelled as it ended is not waited for

    def end_all(self) -> int:
        """Cancel every call being routed, as the stop's (once each); how many."""
        ending = self._running - self._ended
        for task in ending:
            self._ended.add(task)
            task.cancel()
        return len(ending)

    @property
    def ending(self) -> bool:
        """Whether a call `end_all` cancelled has not yet become its caller's answer."""
        return bool(self._ended)

    def stopped(self, task: asyncio.Task[Any]) -> bool:
        """Whether `task`'s cancellation is the stop's (`end_all`): then it is no longer
        cancelling, free to answer its caller."""
        if task not in self._ended:
            return False
        self._ended.discard(task)
        task.uncancel()
        return True
