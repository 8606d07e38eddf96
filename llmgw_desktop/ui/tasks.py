"""Run engine coroutines from widgets without blocking the UI.

Under qasync the asyncio loop runs inside Qt's, so a slot can start a task on the running
loop; the widget hears back when it ends. Database work happens on the engine's DB thread
behind those awaitables, never in the slot. Without a running loop (unit tests that build a
widget but no gateway) the work is dropped, which is right: there is nothing to ask.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["OnceMore", "UiTasks"]

log = logging.getLogger(__name__)

# What shiboken says when Python touches a Qt object whose C++ side was deleted.
_WIDGET_GONE = "already deleted"


class UiTasks:
    """Keeps the tasks a widget started alive, and reports their failures."""

    def __init__(self, on_error: Callable[[str], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_error = on_error

    def spawn(self, work: Coroutine[Any, Any, Any], *, what: str = "update") -> bool:
        """Start `work`; False (and `work` closed) when no loop runs."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return False

        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except RuntimeError as exc:
                if _WIDGET_GONE not in str(exc):
                    self._report(what, exc)
                    return
                # The widget was closed while its work awaited the engine (a page closed with
                # the window, a dialog dismissed): nothing is left to show the result on.
                log.debug("dashboard %s ended after its widget was closed", what)
            except Exception as exc:  # a failed refresh must not take the window down
                self._report(what, exc)

        # The UI's one task owner (the layering test allows it, with engine/tasks.py): a
        # widget's work outlives the slot that starts it, so no TaskGroup can scope it, and its
        # failure goes to the window; it also runs with no engine, where no supervisor exists.
        task = loop.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Cancelled before its first step, `guarded` never ran `work`: closed, it is not
        # reported as "never awaited" (closing a finished coroutine does nothing).
        task.add_done_callback(lambda _task: work.close())
        return True

    def _report(self, what: str, exc: Exception) -> None:
        log.error("dashboard %s failed", what, exc_info=exc)
        if self._on_error is None:
            return
        try:
            self._on_error(f"Could not {what}: {exc}")
        except RuntimeError as gone:  # the window that would show it is closed
            if _WIDGET_GONE not in str(gone):
                raise

    async def settled(self) -> None:
        """Wait until every task started so far has ended (its failure already reported)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    @property
    def running(self) -> int:
        return len(self._tasks)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class OnceMore:
    """One background load at a time: asked while one runs, it loads once more after it (what
    changed meanwhile is read by that one). A load that fails asks for none."""

    def __init__(
        self, tasks: UiTasks, load: Callable[[], Coroutine[Any, Any, None]], what: str
    ) -> None:
        self._tasks, self._load, self._what = tasks, load, what
        self.running = False
        self._again = False

    def request(self) -> None:
        if self.running:
            self._again = True
            return
        self.running = self._tasks.spawn(self._run(), what=self._what)

    async def _run(self) -> None:
        try:
            await self._load()
        finally:
            self.running = False
        if self._again:
            self._again = False
            self.request()
