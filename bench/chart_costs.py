"""What one Overview chart costs the loop thread: building it, a new set of points, a resize.

Usage: python bench/chart_costs.py [--rounds 10] [--json]

Each figure is the loop thread's CPU time (not wall time: the machine is shared), on Qt's
offscreen platform with pyqtgraph already imported:
- warm-up: pyqtgraph's first use, paid in a turn of its own (`time_chart.warm_up`; 0 for a
  checkout without it); one sample;
- first chart built and painted: the process's first chart (without a warm-up it pays for
  pyqtgraph's first use: the Overview's first turn when it is first shown); one sample;
- then the median over `--rounds` of the next charts':
- build: a `TimeChart` with two series, as the Overview builds one per turn of the loop;
- first paint: its first render at the Overview's size (361 x 180);
- update: a new 180-point window of both series (the 15-minute view), then a render;
- resize: 5 pixels wider or narrower (what a page relayout did to all four plots under a flood
  before the totals line wrapped), then a render.

To compare two versions in one run, run it for each with PYTHONPATH naming the checkout to
measure (docs/PERFORMANCE.md, "The dashboard under a flood").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

WIDTH, HEIGHT = 361, 180
POINTS = 180


def _cpu_ms(work: Callable[[], Any]) -> float:
    began = time.thread_time()
    work()
    return (time.thread_time() - began) * 1000


def measure(rounds: int) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from llmgw_desktop.ui.qt import QApplication, QColor

    app = QApplication.instance() or QApplication([])
    from llmgw_desktop.ui.pages.time_chart import TimeChart

    def build() -> Any:
        chart = TimeChart("rate")
        chart.add_series("requests", QColor("#1f77b4"))
        chart.add_series("errors", QColor("#d62728"))
        return chart

    # The first chart also pays for pyqtgraph's own first use, unless a warm-up (a turn of its
    # own on the Overview, where the checkout has one) paid for it.
    from llmgw_desktop.ui.pages import time_chart

    warm_up = getattr(time_chart, "warm_up", None)
    warm_ms = _cpu_ms(warm_up) if warm_up is not None else 0.0
    first: list[Any] = []
    first_ms = _cpu_ms(lambda: first.append(build()))
    first[0].resize(WIDTH, HEIGHT)
    first_ms += _cpu_ms(first[0].grab)
    figures: dict[str, list[float]] = {"build": [], "first paint": [], "update": [], "resize": []}
    xs = [float(-900 + 5 * i) for i in range(POINTS)]
    for turn in range(rounds):
        holder: list[Any] = []
        figures["build"].append(_cpu_ms(lambda held=holder: held.append(build())))
        chart = holder[0]
        chart.resize(WIDTH, HEIGHT)
        figures["first paint"].append(_cpu_ms(chart.grab))
        ys = [float((i * 7 + turn) % 50) for i in range(POINTS)]

        def update(chart: Any = chart, ys: list[float] = ys) -> None:
            for series in chart.series:
                series.set_data(xs, ys)
            chart.grab()

        figures["update"].append(_cpu_ms(update))
        wider = WIDTH + (5 if turn % 2 else -5)
        figures["resize"].append(_cpu_ms(lambda c=chart, w=wider: (c.resize(w, HEIGHT), c.grab())))
        chart.deleteLater()
        app.processEvents()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {"warm-up": warm_ms, "first chart built and painted": first_ms, **medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, not {args.rounds}")
    figures = measure(args.rounds)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        ", ".join(f"{name} {ms:.2f} ms" for name, ms in figures.items())
        + f" (median CPU of {args.rounds}, load {' '.join(f'{v:.1f}' for v in os.getloadavg())})"
    )


if __name__ == "__main__":
    main()
