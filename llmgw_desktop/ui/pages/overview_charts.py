"""The Overview page's live part: traffic charts over a chosen window, and provider health.

The charts read `engine.metrics` (the engine counts every finished request into time
buckets) on a timer that runs only while the page is shown, never per event: a flood of 500
requests a second costs the UI one redraw of each chart a second. Provider health follows the
bridge's toggle, pause and breaker signals, and asks the engine for CLI versions when shown.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable

# ui.qt first: pyqtgraph binds to whichever Qt binding is already loaded (else the first it
# finds installed, which could be another one).
from llmgw_desktop.ui.qt import (
    QComboBox,
    QEvent,
    QHBoxLayout,
    QLabel,
    QPalette,
    QTimer,
    QVBoxLayout,
    QWidget,
)

# isort: split
import pyqtgraph as pg

from llmgw_desktop.engine.api import PRICES_REVISED, WINDOWS, Engine, MetricsSeries, MetricsWindow

__all__ = [
    "AgoAxis",
    "LiveCharts",
    "curve_colour",
    "describe_savings",
    "describe_totals",
    "legend_html",
    "nice_ceiling",
]

REDRAW_MS = 1000
DEFAULT_WINDOW = "15m"
CHART_HEIGHT = 180  # px per chart: a glance, and four fit on a laptop screen
HEADROOM = 1.08  # above the top tick, so its label is not cut off


def describe_totals(series: MetricsSeries) -> str:
    """One line of window totals: requests, tokens, hit rate and cost."""
    total = series.total
    label = series.window.label
    if not total.requests:
        return f"No requests in the last {label}."
    parts = [
        f"{total.requests:,} requests",
        f"{_count(total.input_tokens)} tokens in",
        f"{_count(total.output_tokens)} out",
    ]
    if total.hit_rate is not None:
        parts.append(f"cache hit rate {total.hit_rate:.0%}")
    if total.cost_usd:
        parts.append(f"cost {_usd(total.cost_usd)} (reported or estimated)")
    return f"Last {label}: " + " · ".join(parts)


def describe_savings(series: MetricsSeries) -> str:
    """The estimated savings from cache reads, saying what the figure rests on."""
    total = series.total
    label = series.window.label
    if not total.cache_read_tokens:
        return f"Estimated savings: no cache reads in the last {label}."
    text = (
        f"Estimated savings from cache reads in the last {label}: {_usd(total.saved_usd)} "
        f"(list prices of {PRICES_REVISED}, cache-read tokens at input minus cache-read price)"
    )
    if total.unpriced_cache_read_tokens:
        text += (
            f"; plus {_count(total.unpriced_cache_read_tokens)} cache-read tokens on models "
            "without a listed price (not priced)"
        )
    return text + "."


def _usd(amount: float) -> str:
    # Cents hide what a few cached requests save; show tenths of a cent below a cent.
    return f"${amount:,.2f}" if amount >= 0.01 or not amount else f"${amount:.4f}"


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `value` (1 for none)."""
    if not value > 0 or math.isinf(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if value <= m * power)


def curve_colour(curve: pg.PlotDataItem) -> str:
    """The colour name of `curve`'s line (its pen may have been given as a colour)."""
    return str(pg.mkPen(curve.opts["pen"]).color().name())


def legend_html(curves: Iterable[tuple[str, pg.PlotDataItem]]) -> str:
    """A legend as rich text: each name after a bar in its curve's colour."""
    parts = [
        f'<span style="color:{curve_colour(curve)}">&#9644;</span>&nbsp;{html.escape(name)}'
        for name, curve in curves
    ]
    return "&nbsp;&nbsp;".join(parts)


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:  # an unchanged label must not schedule a repaint
        label.setText(text)


# Tick spacing (major, minor) in seconds, per window span.
_TICKS: dict[int, tuple[int, int]] = {900: (300, 60), 3600: (900, 300), 86400: (14400, 3600)}


class AgoAxis(pg.AxisItem):
    """A time axis in "minutes (or hours) ago", fixed for a window, so it never repaints
    as time passes; x values are seconds before now (negative)."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self._span = WINDOWS[0].span_s

    def set_window(self, window: MetricsWindow) -> None:
        self._span = window.span_s
        self.picture = None  # pyqtgraph's cached drawing of the axis
        self.update()

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        major, minor = _TICKS.get(self._span, (self._span / 3, self._span / 15))
        return [(major, 0), (minor, 0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        unit, name = (3600, "h") if self._span > 3 * 3600 else (60, "min")
        return ["now" if round(v) == 0 else f"{-v / unit:g} {name} ago" for v in values]


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

        self.plot_widgets: list[pg.PlotWidget] = []
        self._legends: list[QLabel] = []
        self._requests_plot = self._plot("Requests per second", rows[0])
        self._jobs_plot = self._plot("Active jobs", rows[0])
        self._tokens_plot = self._plot("Tokens per second", rows[1])
        self._hits_plot = self._plot("Cache hit rate per provider (%)", rows[1])
        self._hits_plot.setYRange(0, 100 * HEADROOM, padding=0)
        self.requests_curve = self._requests_plot.plot(pen=pg.intColor(0), skipFiniteCheck=True)
        self.jobs_curve = self._jobs_plot.plot(pen=pg.intColor(3), skipFiniteCheck=True)
        self.input_curve = self._tokens_plot.plot(
            pen=pg.intColor(1), name="in", skipFiniteCheck=True
        )
        self.output_curve = self._tokens_plot.plot(
            pen=pg.intColor(5), name="out", skipFiniteCheck=True
        )
        self.hit_curves: dict[str, pg.PlotDataItem] = {}
        # Legends are labels beside the titles, outside the plots: pyqtgraph's sits in a corner
        # of the plot, and the top right is where the newest points are drawn.
        self.tokens_legend, self.hits_legend = self._legends[2], self._legends[3]
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
        self._heights: dict[int, float] = {}
        self._series: MetricsSeries | None = None
        self._times: list[float] = []
        self._next = 0
        self._apply_palette()

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
            for plot in self._all_plots:
                plot.getAxis("bottom").set_window(series.window)
                plot.setXRange(-series.window.span_s, 0, padding=0)
        _set_text(self.totals_label, describe_totals(series))
        _set_text(self.savings_label, describe_savings(series))

    def _draw_requests(self, series: MetricsSeries, times: list[float]) -> None:
        self.requests_curve.setData(times, series.requests_per_s)
        self._fit_height(self._requests_plot, series.requests_per_s)

    def _draw_jobs(self, series: MetricsSeries, times: list[float]) -> None:
        self.jobs_curve.setData(times, series.active_jobs)
        self._fit_height(self._jobs_plot, series.active_jobs)

    def _draw_tokens(self, series: MetricsSeries, times: list[float]) -> None:
        self.input_curve.setData(times, series.input_tokens_per_s)
        self.output_curve.setData(times, series.output_tokens_per_s)
        self._fit_height(
            self._tokens_plot, [*series.input_tokens_per_s, *series.output_tokens_per_s]
        )

    def _draw_hits(self, series: MetricsSeries, times: list[float]) -> None:
        for provider, rates in series.hit_rate.items():
            curve = self.hit_curves.get(provider)
            if curve is None:
                pen = pg.mkPen(pg.intColor(len(self.hit_curves), hues=9), width=2)
                curve = self._hits_plot.plot(
                    pen=pen, name=provider, symbolPen=None, symbolBrush=pen.color(), symbolSize=7
                )
                self.hit_curves[provider] = curve
                shown = sorted(self.hit_curves.items())
                _set_text(self.hits_legend, legend_html(shown))
            # A bucket without requests has no rate (NaN). Drawn as gaps, sparse traffic looked
            # like a dashed line; joined over the quiet buckets the line stays solid, and a lone
            # point gets a dot, since a line needs two.
            xs = [t for t, r in zip(times, rates, strict=True) if not math.isnan(r)]
            ys = [r * 100 for r in rates if not math.isnan(r)]
            symbol = "o" if len(xs) == 1 else None
            if curve.opts["symbol"] != symbol:
                curve.setSymbol(symbol)
            curve.setData(xs, ys)
        for provider, curve in self.hit_curves.items():
            if provider not in series.hit_rate:
                curve.setData([], [])

    def _fit_height(self, plot: pg.PlotItem, values: list[float]) -> None:
        """Scale the y axis to a round ceiling over the data, changed only when that ceiling
        changes: re-laying out an axis' labels is most of a repaint's cost."""
        top = nice_ceiling(max(values, default=0.0))
        if self._heights.get(id(plot)) != top:
            self._heights[id(plot)] = top
            plot.setYRange(0, top * HEADROOM, padding=0)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()

    def _plot(self, title: str, row: QHBoxLayout) -> pg.PlotItem:
        # The title is a plain label outside the plot: pyqtgraph's is rich text in the scene,
        # laid out again whenever the plot repaints.
        widget = pg.PlotWidget(axisItems={"bottom": AgoAxis()})
        widget.setFixedHeight(CHART_HEIGHT)
        legend = QLabel()
        legend.setObjectName(f"legend:{title}")
        self._legends.append(legend)
        heading = QHBoxLayout()
        heading.addWidget(QLabel(title))
        heading.addStretch(1)
        heading.addWidget(legend)
        cell = QVBoxLayout()
        cell.addLayout(heading)
        cell.addWidget(widget, 1)
        row.addLayout(cell)
        self.plot_widgets.append(widget)
        plot = widget.getPlotItem()
        # A glance, not an explorer: the timer owns the view, so no pan, zoom or menu. No grid
        # either: grid lines belong to the axis, which would then repaint with every curve.
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.disableAutoRange()
        return plot

    def _apply_palette(self) -> None:
        """Follow the system's light or dark look instead of pyqtgraph's black."""
        palette = self.palette()
        text = pg.mkPen(palette.color(QPalette.ColorRole.Text))
        for widget in self.plot_widgets:
            widget.setBackground(palette.color(QPalette.ColorRole.Base))
        for plot in self._all_plots:
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(text)
                axis.setTextPen(text)
