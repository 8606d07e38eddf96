"""The Overview page's live part: traffic charts over a chosen window, and provider health.

The charts read `engine.metrics` (the engine counts every finished request into time
buckets) on a timer that runs only while the page is shown, never per event: a flood of 500
requests a second costs the UI one redraw of each chart a second. Provider health follows the
bridge's toggle, pause and breaker signals, and asks the engine for CLI versions when shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

from llmgw_desktop.engine.api import (
    PRICES_REVISED,
    WINDOWS,
    Engine,
    MetricsSeries,
    MetricsWindow,
    format_usd,
)
from llmgw_desktop.ui.pages.line_chart import (
    Curve,
    LineChart,
    XTicks,
    nice_ceiling,
    series_colour,
    y_ticks,
)
from llmgw_desktop.ui.qt import (
    QColor,
    QComboBox,
    QHBoxLayout,
    QLabel,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import error_colour

__all__ = [
    "LiveCharts",
    "ago_ticks",
    "curve_colour",
    "describe_savings",
    "describe_totals",
    "errors_summary",
    "legend_html",
    "nice_ceiling",
]

REDRAW_MS = 1000
DEFAULT_WINDOW = "15m"
CHART_HEIGHT = 180  # px per chart: a glance, and four fit on a laptop screen
HEADROOM = 1.08  # above the top tick, so its label is not cut off


def describe_totals(series: MetricsSeries) -> str:
    """One line of window totals: requests, errors, tokens, hit rate and cost."""
    total = series.total
    label = series.window.label
    if not total.requests:
        return f"No requests in the last {label}."
    parts = [
        f"{total.requests:,} requests",
        errors_summary(total.errors, total.requests),
        f"{_count(total.input_tokens)} tokens in",
        f"{_count(total.output_tokens)} out",
    ]
    if total.hit_rate is not None:
        parts.append(f"cache hit rate {total.hit_rate:.0%}")
    if total.cost_usd:
        parts.append(f"cost {format_usd(total.cost_usd)} (reported or estimated)")
    return f"Last {label}: " + " · ".join(parts)


def errors_summary(errors: int, requests: int) -> str:
    """`no errors` or `26 errors (55%)`: requests whose provider was asked and failed."""
    if not errors:
        return "no errors"
    noun = "error" if errors == 1 else "errors"
    return f"{errors:,} {noun} ({errors / requests:.0%})" if requests else f"{errors:,} {noun}"


def describe_savings(series: MetricsSeries) -> str:
    """The estimated savings from cache reads, saying what the figure rests on."""
    total = series.total
    label = series.window.label
    if not total.cache_read_tokens:
        return f"Estimated savings: no cache reads in the last {label}."
    text = (
        f"Estimated savings from cache reads in the last {label}: {format_usd(total.saved_usd)} "
        f"(list prices of {PRICES_REVISED}, cache-read tokens at input minus cache-read price)"
    )
    if total.unpriced_cache_read_tokens:
        text += (
            f"; plus {_count(total.unpriced_cache_read_tokens)} cache-read tokens on models "
            "without a listed price (not priced)"
        )
    return text + "."


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def curve_colour(curve: Curve) -> str:
    """The colour name of `curve`'s line ("#rrggbb")."""
    return str(curve.colour.name())


def legend_html(curves: Iterable[tuple[str, Curve]]) -> str:
    """A legend as rich text: each name after a bar in its curve's colour."""
    parts = [
        f'<span style="color:{curve_colour(curve)}">&#9644;</span>&nbsp;{html.escape(name)}'
        for name, curve in curves
    ]
    # A plain space between entries (a non-breaking one inside each): a long legend wraps
    # between providers instead of being cut off at the window's edge.
    return " &nbsp;".join(parts)


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:  # an unchanged label must not schedule a repaint
        label.setText(text)


# Tick spacing (major, minor) in seconds, per window span.
_TICKS: dict[int, tuple[int, int]] = {900: (300, 60), 3600: (900, 300), 86400: (14400, 3600)}


def ago_ticks(span_s: int) -> XTicks:
    """A time axis in "minutes (or hours) ago" for a window of `span_s` seconds: x values are
    seconds before now (negative), fixed for a window, so the axis never moves as time passes."""
    major, minor = _TICKS.get(span_s, (span_s / 3, span_s / 15))
    unit, name = (3600, "h") if span_s > 3 * 3600 else (60, "min")
    majors = _multiples(major, span_s)
    return XTicks(
        major=majors,
        minor=tuple(v for v in _multiples(minor, span_s) if v not in majors),
        labels=tuple("now" if round(v) == 0 else f"{-v / unit:g} {name} ago" for v in majors),
    )


def _multiples(step: float, span_s: int) -> tuple[float, ...]:
    # From -span to 0, oldest first; the small slack keeps -span itself when span / step is
    # a whole number computed in floating point.
    count = int(span_s / step + 1e-9)
    return tuple(-n * step for n in range(count, -1, -1))


class LiveCharts(QWidget):
    """Requests/s, active jobs, tokens in/out and cache hit rate per provider, plus totals.

    Each chart is its own plot widget, and the timer updates one chart per quarter second
    (each chart once a second), so a repaint never covers more than one chart: the work a
    second is the same, but no single slice of it holds the loop for long.
    """

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self.window_choice = QComboBox()
        self.window_choice.setObjectName("metricsWindow")
        self.window_choice.setToolTip("How much time the charts show")
        for window in WINDOWS:
            self.window_choice.addItem(window.label, window.key)
        self.window_choice.setCurrentIndex([w.key for w in WINDOWS].index(DEFAULT_WINDOW))
        self.window_choice.currentIndexChanged.connect(lambda _index: self.redraw())
        self.totals_label = QLabel()
        self.totals_label.setObjectName("metricsTotals")
        self.savings_label = QLabel()
        self.savings_label.setObjectName("metricsSavings")
        self.savings_label.setWordWrap(True)

        header = QHBoxLayout()
        header.addWidget(QLabel("Show the last"))
        header.addWidget(self.window_choice)
        header.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(header)
        column.addWidget(self.totals_label)
        column.addWidget(self.savings_label)
        rows = (QHBoxLayout(), QHBoxLayout())
        for row in rows:
            column.addLayout(row)

        self.plot_widgets: list[LineChart] = []
        self._legends: list[QLabel] = []
        self._requests_plot = self._plot("Requests per second", rows[0])
        self._jobs_plot = self._plot("Active jobs", rows[0])
        self._tokens_plot = self._plot("Tokens per second", rows[1])
        self._hits_plot = self._plot("Cache hit rate per provider (%)", rows[1])
        self._hits_plot.set_y_axis(100 * HEADROOM, y_ticks(100))
        self.requests_curve = self._requests_plot.add_curve("requests", series_colour(0))
        # Failed requests per second on the same axis, in the theme's error red.
        self.errors_curve = self._requests_plot.add_curve("errors", QColor(error_colour()))
        self.jobs_curve = self._jobs_plot.add_curve("jobs", series_colour(4))
        self.input_curve = self._tokens_plot.add_curve("in", series_colour(1))
        self.output_curve = self._tokens_plot.add_curve("out", series_colour(0))
        self.hit_curves: dict[str, Curve] = {}
        # Legends are labels beside the titles, outside the plots: the top right of a plot is
        # where the newest points are drawn.
        self.tokens_legend, self.hits_legend = self._legends[2], self._legends[3]
        _set_text(
            self._legends[0],
            legend_html([("requests", self.requests_curve), ("errors", self.errors_curve)]),
        )
        _set_text(
            self.tokens_legend, legend_html([("in", self.input_curve), ("out", self.output_curve)])
        )
        self._all_plots = (self._requests_plot, self._jobs_plot, self._tokens_plot, self._hits_plot)
        self._painters: tuple[Callable[[MetricsSeries, list[float]], None], ...] = (
            self._draw_requests,
            self._draw_jobs,
            self._draw_tokens,
            self._draw_hits,
        )
        self._shown_window: MetricsWindow | None = None
        self._series: MetricsSeries | None = None
        self._times: list[float] = []
        self._next = 0

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS // len(self._painters))
        self._timer.timeout.connect(self.draw_next)
        self.redraws = 0  # full rounds drawn: every chart and the totals

    @property
    def window_key(self) -> str:
        return str(self.window_choice.currentData())

    def set_window(self, key: str) -> None:
        """Show the window `key` ("15m", "1h", "24h")."""
        self.window_choice.setCurrentIndex(self.window_choice.findData(key))

    def start(self) -> None:
        """Redraw now and then once a second (the page became visible)."""
        self.redraw()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def redraw(self) -> None:
        """Read the chosen window from the engine's counters and redraw every chart now."""
        self._next = 0
        for _ in self._painters:
            self.draw_next()

    def draw_next(self) -> None:
        """Draw the next chart in turn; a round starts by reading the counters once."""
        if self._next == 0 or self._series is None:
            self._read()
        assert self._series is not None
        self._painters[self._next](self._series, self._times)
        self._next = (self._next + 1) % len(self._painters)
        if self._next == 0:
            self.redraws += 1

    def _read(self) -> None:
        series = self._engine.metrics.series(self.window_key)
        # Seconds before the newest bucket's end: the axes stay put while the data moves, so
        # a redraw repaints the curves only, not the axes' text (the costly part of a paint).
        end = series.times[-1] + series.window.bucket_s
        self._series = series
        self._times = [t - end for t in series.times]
        if series.window != self._shown_window:
            self._shown_window = series.window
            ticks = ago_ticks(series.window.span_s)
            for plot in self._all_plots:
                plot.set_x_axis(-series.window.span_s, 0, ticks)
        _set_text(self.totals_label, describe_totals(series))
        _set_text(self.savings_label, describe_savings(series))

    def _draw_requests(self, series: MetricsSeries, times: list[float]) -> None:
        self.requests_curve.set_data(times, series.requests_per_s)
        self.errors_curve.set_data(times, series.errors_per_s)
        self._fit_height(self._requests_plot, series.requests_per_s)

    def _draw_jobs(self, series: MetricsSeries, times: list[float]) -> None:
        self.jobs_curve.set_data(times, series.active_jobs)
        self._fit_height(self._jobs_plot, series.active_jobs)

    def _draw_tokens(self, series: MetricsSeries, times: list[float]) -> None:
        self.input_curve.set_data(times, series.input_tokens_per_s)
        self.output_curve.set_data(times, series.output_tokens_per_s)
        self._fit_height(
            self._tokens_plot, [*series.input_tokens_per_s, *series.output_tokens_per_s]
        )

    def _draw_hits(self, series: MetricsSeries, times: list[float]) -> None:
        for provider, rates in series.hit_rate.items():
            curve = self.hit_curves.get(provider)
            if curve is None:
                colour = series_colour(len(self.hit_curves))
                curve = self._hits_plot.add_curve(provider, colour, width=2)
                self.hit_curves[provider] = curve
                shown = sorted(self.hit_curves.items())
                _set_text(self.hits_legend, legend_html(shown))
            # A bucket without requests has no rate (NaN). Drawn as gaps, sparse traffic looked
            # like a dashed line; the chart leaves NaN points out, so the line is joined over
            # the quiet buckets, and a lone point gets a dot, since a line needs two.
            curve.set_data(times, [r * 100 for r in rates])
        for provider, curve in self.hit_curves.items():
            if provider not in series.hit_rate:
                curve.set_data([], [])

    def _fit_height(self, plot: LineChart, values: list[float]) -> None:
        """Scale the y axis to a round ceiling over the data (the chart redraws its frame
        only when that ceiling changes)."""
        top = nice_ceiling(max(values, default=0.0))
        plot.set_y_axis(top * HEADROOM, y_ticks(top))

    def _plot(self, title: str, row: QHBoxLayout) -> LineChart:
        # A glance, not an explorer: the timer owns the view, so no pan, zoom or menu.
        chart = LineChart()
        chart.setObjectName(f"chart:{title}")
        chart.setFixedHeight(CHART_HEIGHT)
        legend = QLabel()
        legend.setObjectName(f"legend:{title}")
        # The legend takes the width the title leaves and wraps there (many providers).
        legend.setWordWrap(True)
        legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._legends.append(legend)
        heading = QHBoxLayout()
        heading.addWidget(QLabel(title))
        heading.addWidget(legend, 1)
        cell = QVBoxLayout()
        cell.addLayout(heading)
        cell.addWidget(chart, 1)
        row.addLayout(cell)
        self.plot_widgets.append(chart)
        return chart
