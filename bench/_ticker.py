"""How late the desktop's event loop wakes: the instrument of `dashboard_flood.py`.

`Ticker` sleeps `TICK_S` again and again two ways, as an asyncio task (how long a coroutine
waits for its turn) and as a precise Qt timer (how long the window's own events, its paints and
key presses, wait), and notes how late each wake is. Each late wake is split into the loop
thread's CPU time and its wait for a CPU (Linux's schedstat), so a stall other processes caused
on a busy machine can be told from one our code caused. `Stalls` sums up a phase's wakes; a
wake later than a frame (`FRAME_MS`) is a stall the person at the desk can see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import threading
import time
from dataclasses import dataclass

TICK_S = 0.001
FRAME_MS = 16.0


@dataclass(frozen=True)
class Tick:
    """One wake-up of the ticker: how late it came, and where the main thread's time went
    meanwhile (running Python or Qt on the CPU, or waiting for a CPU the machine's other
    processes held). The rest of a late wake is waiting for the GIL or in a blocking call."""

    late_ms: float
    cpu_ms: float
    runqueue_ms: float
    woke_at: float = 0.0  # perf_counter


@dataclass
class Stalls:
    """The ticks of one phase, summarised in milliseconds."""

    ticks: list[Tick]

    def summary(self) -> str:
        if not self.ticks:
            return "no ticks"
        late = sorted(t.late_ms for t in self.ticks)
        p99 = late[min(len(late) - 1, round(0.99 * (len(late) - 1)))]
        over = [t for t in self.ticks if t.late_ms > FRAME_MS]
        worst = max(self.ticks, key=lambda t: t.late_ms)
        # A stall is ours to fix when the loop thread was on the CPU for most of it.
        busy = max(self.ticks, key=lambda t: min(t.late_ms, t.cpu_ms))
        return (
            f"worst {worst.late_ms:6.2f} ms (cpu {worst.cpu_ms:.1f}, waiting for a cpu "
            f"{worst.runqueue_ms:.1f})  p99 {p99:5.2f}  median {statistics.median(late):4.2f}  "
            f"over {FRAME_MS:.0f} ms: {len(over)}/{len(late)}  worst on-cpu stall "
            f"{min(busy.late_ms, busy.cpu_ms):5.2f} ms"
        )

    def on_cpu_stalls(self) -> list[tuple[float, float, float]]:
        """(start, end, on-CPU ms) of each wake later than a frame with more than a frame on
        the CPU: the stalls that are ours."""
        return [
            (t.woke_at - (t.late_ms + TICK_S * 1000) / 1000, t.woke_at, t.cpu_ms)
            for t in self.ticks
            if min(t.late_ms, t.cpu_ms) > FRAME_MS
        ]


class Ticker:
    """Sleeps TICK_S again and again and notes how late each wake-up is."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self._task: asyncio.Task[None] | None = None
        # Linux: this thread's CPU time and run-queue wait, in ns (zeros elsewhere).
        path = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        self._schedstat = os.open(path, os.O_RDONLY) if os.path.exists(path) else None

    def _runqueue_ns(self) -> int:
        if self._schedstat is None:
            return 0
        return int(os.pread(self._schedstat, 128, 0).split()[1])

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._start_qt()

    async def _run(self) -> None:
        while True:
            asked, cpu, waited = time.perf_counter(), time.thread_time(), self._runqueue_ns()
            await asyncio.sleep(TICK_S)
            woke = time.perf_counter()
            late = max(0.0, (woke - asked - TICK_S) * 1000)
            self.ticks.append(
                Tick(
                    late,
                    (time.thread_time() - cpu) * 1000,
                    (self._runqueue_ns() - waited) / 1e6,
                    woke,
                )
            )

    def take(self) -> Stalls:
        taken, self.ticks = self.ticks, []
        return Stalls(taken)

    def take_window(self) -> Stalls:
        taken, self._qt_ticks = self._qt_ticks, []
        return Stalls(taken)

    def _start_qt(self) -> None:
        """The window's view: a precise 1 ms Qt timer, delivered like a paint or a key press."""
        from llmgw_desktop.ui.qt import Qt, QTimer

        self._qt_ticks: list[Tick] = []
        self._qt_timer = QTimer()
        self._qt_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._qt_timer.setInterval(round(TICK_S * 1000))
        last = [time.perf_counter(), time.thread_time(), self._runqueue_ns()]

        def tick() -> None:
            woke, cpu, waited = time.perf_counter(), time.thread_time(), self._runqueue_ns()
            self._qt_ticks.append(
                Tick(
                    max(0.0, (woke - last[0] - TICK_S) * 1000),
                    (cpu - last[1]) * 1000,
                    (waited - last[2]) / 1e6,
                    woke,
                )
            )
            last[:] = [woke, cpu, waited]

        self._qt_timer.timeout.connect(tick)
        self._qt_timer.start()

    async def stop(self) -> None:
        self._qt_timer.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._schedstat is not None:
            os.close(self._schedstat)
