"""The recorder's flush loop, stopped while a flush is under way, lets that flush end first.

A CI run (2026-11-25) stopped a gateway during a PostgreSQL outage while its flush was writing
the spill file on a worker thread: the loop's task was cancelled at that await, so the flush's
bookkeeping after it never ran; the rows were in the file, but the log never said the recorder
could not write, and the final flush, finding nothing pending, reported every row stored.
"""

from __future__ import annotations

import asyncio
import contextlib

from llmgw_desktop.engine.recorder.writer import flush_forever


async def test_a_flush_under_way_ends_before_the_loop_stops() -> None:
    steps: list[str] = []
    began = asyncio.Event()

    async def flush() -> bool:
        steps.append("spilling")
        began.set()
        await asyncio.sleep(0.2)  # the spill file written on a worker thread
        steps.append("said")  # the bookkeeping after it: the log line, the counts
        return False

    wake = asyncio.Event()
    wake.set()
    loop_task = asyncio.create_task(flush_forever(flush, wake))
    await began.wait()
    loop_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop_task
    assert steps == ["spilling", "said"]
    assert loop_task.cancelled()


async def test_a_stop_between_flushes_stops_at_once() -> None:
    calls = 0

    async def flush() -> bool:
        nonlocal calls
        calls += 1
        return True

    loop_task = asyncio.create_task(flush_forever(flush, asyncio.Event()))
    await asyncio.sleep(0)
    loop_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(loop_task, 1.0)
    assert loop_task.cancelled() and calls == 0
