"""Background tasks that are always referenced, named, logged on failure and stopped on exit.

A bare `asyncio.create_task` result can be garbage-collected while it runs and its exception is
lost; ruff bans it everywhere else so that every background task goes through here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

__all__ = ["TaskSupervisor", "to_its_end"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class TaskSupervisor:
    """Owns a set of named background tasks until they finish or `shutdown()` cancels them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._services: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str, service: bool = False
    ) -> asyncio.Task[T]:
        """Start `coro` as a task named `name`, keep it referenced, and log if it fails.

        A `service` task runs until cancelled (a watcher, a server loop): shutdown cancels it
        at once instead of waiting for it to end by itself.

        Raises:
            RuntimeError: the supervisor has been shut down.
        """
        if self._closed:
            coro.close()
            raise RuntimeError(f"cannot start task {name!r}: the engine is shutting down")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        if service:
            self._services.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._services.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background task %s failed", task.get_name(), exc_info=exc)

    def reopen(self) -> None:
        """Accept tasks again after a shutdown (the engine is starting again)."""
        self._closed = False

    @property
    def running(self) -> list[str]:
        """Names of the tasks still running."""
        return sorted(t.get_name() for t in self._tasks)

    async def shutdown(self, grace: float = 5.0) -> None:
        """Refuse new tasks, cancel services, give the rest `grace` seconds, then cancel them."""
        self._closed = True
        for task in self._services:
            task.cancel()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            log.warning("cancelling background task %s at shutdown", task.get_name())
            task.cancel()
        await asyncio.gather(*pending, *self._services, return_exceptions=True)


async def to_its_end(work: Awaitable[T]) -> T:
    """`work`'s result, `work` run to its end even when the awaiting task is cancelled (as the
    engine's stop cancels the writers still running after its grace); the cancellation goes on
    once it has ended. For a write and the bookkeeping of its outcome: the database thread
    commits a transaction it has begun whatever its awaiting task does, and one queued behind
    it never runs once cancelled, so a write cut between them was counted wrong (twice, or
    never). A second cancellation while waiting is passed on at once; `work` still ends itself."""
    ended = asyncio.Event()

    async def then_set() -> T:
        try:
            return await work
        finally:
            ended.set()

    try:
        return await asyncio.shield(then_set())
    except asyncio.CancelledError:
        await ended.wait()
        raise
