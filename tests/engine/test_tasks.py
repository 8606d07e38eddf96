from __future__ import annotations

import asyncio
import logging

import pytest

from llmgw_desktop.engine.tasks import TaskSupervisor


async def test_spawned_task_is_referenced_until_it_finishes() -> None:
    tasks = TaskSupervisor()
    release = asyncio.Event()

    async def work() -> int:
        await release.wait()
        return 7

    task = tasks.spawn(work(), name="work")
    assert tasks.running == ["work"]
    release.set()
    assert await task == 7
    assert tasks.running == []


async def test_failure_is_logged_with_the_task_name(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSupervisor()

    async def broken() -> None:
        raise RuntimeError("kaput")

    with caplog.at_level(logging.ERROR):
        task = tasks.spawn(broken(), name="broken-task")
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert "broken-task" in caplog.text and "kaput" in caplog.text


async def test_shutdown_cancels_services_at_once_and_waits_for_the_rest() -> None:
    tasks = TaskSupervisor()
    finished: list[str] = []

    async def service() -> None:
        await asyncio.Event().wait()

    async def short() -> None:
        await asyncio.sleep(0.01)
        finished.append("short")

    svc = tasks.spawn(service(), name="svc", service=True)
    tasks.spawn(short(), name="short")
    await asyncio.wait_for(tasks.shutdown(grace=5), timeout=2)
    assert svc.cancelled()
    assert finished == ["short"]


async def test_shutdown_cancels_what_outlives_the_grace() -> None:
    tasks = TaskSupervisor()
    slow = tasks.spawn(asyncio.sleep(30), name="slow")
    await asyncio.wait_for(tasks.shutdown(grace=0.05), timeout=2)
    assert slow.cancelled()


async def test_no_new_tasks_after_shutdown() -> None:
    tasks = TaskSupervisor()
    await tasks.shutdown()
    with pytest.raises(RuntimeError, match="shutting down"):
        tasks.spawn(asyncio.sleep(0), name="late")
