"""The numbers behind the Overview's charts, as plain functions: round y ticks and their labels,
the "minutes ago" time axis, the series colours, and the text a hovered point shows.

No Qt and no chart library here, so they are tested without a widget and the chart module
(`time_chart.py`, which imports pyqtgraph) holds only drawing and mouse handling.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Collection, Sequence
from typing import Literal

from llmgw_desktop.engine.api import MetricsSeries

__all__ = [
    "MAX_Y_INTERVALS",
    "SERIES_COLOURS",
    "Unit",
    "ago_label",
    "ago_spacing",
    "clock_span",
    "first_active",
    "fixed_colour_index",
    "home_span",
    "nice_ceiling",
    "span_words",
    "tick_labels",
    "value_text",
    "y_ticks",
]

MAX_Y_INTERVALS = 5  # a 180 px chart reads well with four or five steps up its axis
MAX_X_INTERVALS = 5  # time ticks on a zoomed axis
# Major and minor time-tick spacing (seconds) for each whole window: labels on round minutes
# or hours that never move as time passes.
WINDOW_TICKS: dict[int, tuple[int, int]] = {
    900: (300, 60),
    3600: (900, 300),
    86400: (14400, 3600),
}
# Spacings a zoomed time axis picks from (seconds).
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600)
HOURS_FROM_S = 3 * 3600  # a visible span longer than this is labelled in hours
# The spans the charts open on when the data is younger than the chosen window (seconds): by
# the minute at first, so a gateway up for two minutes is not drawn on a five-minute axis
# beside "Running for 2 min".
HOME_STEPS = (60, 120, 180, 240, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)

# What a series' value is: a rate per second (requests, tokens), a level (active jobs) or a
# percentage (cache hit rate).
Unit = Literal["rate", "level", "percent"]

# Ten colours that stay distinct from each other and readable on both the light and the dark
# Base colour (Tableau 10, its yellow moved last): a fully saturated colour wheel put lime
# and yellow on white, where they all but vanished.
SERIES_COLOURS = (
    "#4e79a7",  # blue
    "#f28e2b",  # orange
    "#e15759",  # red
    "#76b7b2",  # teal
    "#59a14f",  # green
    "#b07aa1",  # purple
    "#9c755f",  # brown
    "#ff9da7",  # pink
    "#bab0ac",  # grey
    "#edc948",  # yellow
)


def fixed_colour_index(name: str, known: Sequence[str], taken: Collection[int]) -> int:
    """The colour (index into `SERIES_COLOURS`) of the series `name`: its place among the
    `known` names (a name not among them by a checksum of it), so it keeps its colour from one
    run to the next whatever order its data comes in; moved on to the next colour no series in
    `taken` holds, where one does."""
    count = len(SERIES_COLOURS)
    start = known.index(name) if name in known else zlib.crc32(name.encode())
    free = (i % count for i in range(start, start + count) if i % count not in taken)
    return next(free, start % count)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `value` (1 for none)."""
    if not value > 0 or math.isinf(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if value <= m * power)


def y_ticks(top: float, *, whole: bool = False) -> list[float]:
    """Round values from 0 to `top`, a 1, 2 or 5 times a power of ten apart, at most
    MAX_Y_INTERVALS steps ([0.0] when `top` is not a positive number); `whole`: a count (jobs
    running), so never a step under one (no tick at 0.5 jobs)."""
    if not top > 0 or math.isinf(top):
        return [0.0]
    step = nice_ceiling(top / MAX_Y_INTERVALS)
    if whole:
        step = max(step, 1.0)
    count = int(top / step + 1e-9)
    # Twelve significant digits: 3 * 0.1 is 0.30000000000000004, and its label would say so.
    return [float(f"{n * step:.12g}") for n in range(count + 1)]


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels for evenly spaced `ticks`, with the decimals their step needs; from 10,000 up
    in thousands (k), from 10 million up in millions (M)."""
    if len(ticks) < 2:
        return [f"{value:g}" for value in ticks]
    step, top = ticks[1] - ticks[0], max(ticks)
    scale, suffix = next(((s, x) for s, x in ((1e6, "M"), (1e3, "k")) if top >= 10 * s), (1.0, ""))
    decimals = max(0, -math.floor(math.log10(step / scale) + 1e-9))
    return ["0" if v == 0 else f"{v / scale:.{decimals}f}{suffix}" for v in ticks]


def ago_spacing(visible_s: float, window_s: int) -> tuple[float, float]:
    """Major and minor time-tick spacing in seconds for `visible_s` seconds of a `window_s`
    window: the window's own round ticks when all of it shows, else at most MAX_X_INTERVALS
    steps of a round length, and a minor tick that divides it three to six times."""
    if visible_s >= window_s * 0.999:
        fixed = WINDOW_TICKS.get(window_s)
        return fixed if fixed is not None else (window_s / 3, window_s / 15)
    major = next((s for s in TIME_STEPS if visible_s / s <= MAX_X_INTERVALS), TIME_STEPS[-1])
    minor = next((s for s in reversed(TIME_STEPS) if s < major and 3 <= major / s <= 6), 0)
    if minor and major % minor:
        minor = 0
    return float(major), float(minor or major / 2)


def ago_label(x: float, *, hours: bool = False) -> str:
    """An x value (seconds before now, negative) as the axis says it: "now", "45 s ago",
    "5 min ago", "2 min 30 s ago", or with `hours` "4 h ago"."""
    seconds = -x
    if abs(seconds) < 0.5:
        return "now"
    if hours and seconds >= 3600:
        return f"{seconds / 3600:g} h ago"
    if seconds < 60:
        return f"{seconds:g} s ago"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min ago" if not rest else f"{minutes} min {rest} s ago"


def hours_for(visible_s: float) -> bool:
    """Whether a time axis showing `visible_s` seconds is labelled in hours."""
    return visible_s > HOURS_FROM_S


def clock_span(start: float, length_s: float) -> str:
    """A bucket as local clock times, "14:03:05–14:03:10"."""
    first = time.strftime("%H:%M:%S", time.localtime(start))
    last = time.strftime("%H:%M:%S", time.localtime(start + length_s))
    return f"{first}–{last}"


def value_text(unit: Unit, value: float, bucket_s: float, *, filling: bool = False) -> str:
    """A point's exact value as a hover says it: a rate with the count in its bucket
    ("0.2/s, 1 in 5 s"), a level ("3"), a percentage ("42.5%"). The newest bucket is still
    `filling`: the engine gives its rate over the time it has run so far, so no count."""
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "level":
        return f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"
    rate = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    if filling:
        return f"{rate}/s so far"
    return f"{rate}/s, {value * bucket_s:,.0f} in {bucket_s:g} s"


def home_span(first_ago_s: float | None, span_s: int, min_s: float = 0.0) -> int:
    """The span the charts open on: the whole window, or, when the first data point is
    younger than it (a gateway up for two minutes), the nearest round span that still shows
    all of it (at least `min_s`), so the data fills the chart rather than its last sliver."""
    if first_ago_s is None:
        return span_s
    wanted = max(first_ago_s, min_s)
    return next((step for step in HOME_STEPS if step >= wanted and step < span_s), span_s)


def first_active(series: MetricsSeries) -> float | None:
    """The start of the window's first bucket with any traffic or job, or None without any."""
    for index, start in enumerate(series.times):
        if (
            series.requests_per_s[index]
            or series.active_jobs[index]
            or series.input_tokens_per_s[index]
        ):
            return start
    return None


def span_words(seconds: int) -> str:
    """`2 min` or `1 h`: a span the charts open on, in words."""
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"
