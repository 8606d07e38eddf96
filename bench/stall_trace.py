"""What the loop thread was doing during a stall: `dashboard_flood.py --trace`'s tools.

Two views, because a stall can sit in Python or in Qt's own C++:
- `TimedApplication` times every event Qt delivers on the loop thread (its `notify`, nested
  deliveries included) and keeps the slow ones with their receiver's class and object name, so
  a layout request, a paint or a timer that holds the loop is named even when no Python runs.
- `StackSampler` is a thread that looks at the loop thread's Python stack every millisecond;
  the samples inside a stall say which Python call it was in (Qt's event loop itself when the
  time went to C++ with no Python frame of ours on top).

Both cost the loop some time of their own (every event passes through Python): figures taken
with `--trace` are for finding a stall, not for the tables in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.ui.qt import QApplication, QEvent, QObject

SLOW_EVENT_MS = 2.0  # an event delivery this long (on the CPU) is kept
SAMPLE_S = 0.001
STACK_DEPTH = 12
KEPT_SAMPLES = 200_000


@dataclass(frozen=True)
class SlowEvent:
    began: float  # perf_counter
    ms: float
    cpu_ms: float
    depth: int  # 0: delivered by the event loop; more: sent from inside another delivery
    what: str


class TimedApplication(QApplication):
    """A QApplication that times each event delivery on its thread."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.slow: list[SlowEvent] = []
        self._depth = 0
        self._thread = threading.get_ident()

    def notify(self, receiver: QObject, event: QEvent) -> bool:
        if threading.get_ident() != self._thread:
            return super().notify(receiver, event)
        began, cpu = time.perf_counter(), time.thread_time()
        self._depth += 1
        try:
            return super().notify(receiver, event)
        finally:
            self._depth -= 1
            ms = (time.perf_counter() - began) * 1000
            cpu_ms = (time.thread_time() - cpu) * 1000
            if cpu_ms >= SLOW_EVENT_MS:
                try:
                    name = receiver.objectName() if isinstance(receiver, QObject) else ""
                except RuntimeError:  # the event deleted its receiver (a closed window)
                    name = "(deleted)"
                what = f"{event.type().name} -> {type(receiver).__name__}"
                self.slow.append(
                    SlowEvent(
                        began,
                        ms,
                        cpu_ms,
                        self._depth,
                        what + (f" '{name}'" if name else ""),
                    )
                )

    def take(self) -> list[SlowEvent]:
        taken, self.slow = self.slow, []
        return taken


class StackSampler:
    """Samples one thread's Python stack every SAMPLE_S, from a thread of its own."""

    def __init__(self, thread_id: int) -> None:
        self._target = thread_id
        self.samples: collections.deque[tuple[float, tuple[str, ...]]] = collections.deque(
            maxlen=KEPT_SAMPLES
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            frame: Any = sys._current_frames().get(self._target)
            stack: list[str] = []
            while frame is not None and len(stack) < STACK_DEPTH:
                code = frame.f_code
                where = code.co_filename.rsplit("/", 2)
                stack.append(f"{'/'.join(where[-2:])}:{code.co_name}:{frame.f_lineno}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), tuple(stack)))

    def between(self, began: float, ended: float) -> list[tuple[str, ...]]:
        return [stack for at, stack in list(self.samples) if began <= at <= ended]


def by_kind(events: list[SlowEvent], indent: str) -> list[str]:
    """The slow deliveries of a phase by kind: how many, their CPU time in all and the worst,
    the costliest kinds first (the qasync timer that runs asyncio's callbacks is one kind)."""
    kinds: dict[str, list[float]] = collections.defaultdict(list)
    for event in events:
        kinds[event.what].append(event.cpu_ms)
    ranked = sorted(kinds.items(), key=lambda item: -max(item[1]))
    return [
        f"{indent}slow events: {len(cpus)} x {what}, cpu {sum(cpus):.0f} ms in all,"
        f" worst {max(cpus):.1f} ms"
        for what, cpus in ranked[:8]
    ]


def report(
    stalls: list[tuple[float, float, float]],
    events: list[SlowEvent],
    sampler: StackSampler | None,
    indent: str,
) -> list[str]:
    """Lines naming, for each stall (its start, end and on-CPU ms), the slow event deliveries
    that overlap it and the Python stacks sampled during it (most frequent first)."""
    lines: list[str] = []
    for began, ended, cpu_ms in stalls:
        lines.append(f"{indent}stall {(ended - began) * 1000:.1f} ms (cpu {cpu_ms:.1f}):")
        for event in events:
            if event.began < ended and event.began + event.ms / 1000 > began:
                lines.append(
                    f"{indent}  event {event.ms:6.1f} ms (cpu {event.cpu_ms:.1f})"
                    f" depth {event.depth}: {event.what}"
                )
        if sampler is not None:
            stacks = collections.Counter(sampler.between(began, ended))
            for stack, n in stacks.most_common(3):
                lines.append(f"{indent}  {n} samples in: " + " < ".join(stack[:6]))
    return lines
