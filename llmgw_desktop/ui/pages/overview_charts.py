"""The Overview page's live part: traffic charts over a chosen window.

The charts read `engine.metrics` (the engine counts every finished request into time
buckets) on a timer that runs only while the page is shown, never per event: a flood of 500
requests a second costs the UI one redraw of each chart a second. They are pyqtgraph plots
(`time_chart.py`): hover a point for its exact values, drag or scroll along time to pan and
zoom (all four charts together), and click a point to open the Flight recorder at that moment.
This module imports pyqtgraph; the Overview imports it when it first shows its charts.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

from llmgw_desktop.engine.api import (
    WINDOWS,
    Engine,
    MetricsSeries,
    MetricsWindow,
)
from llmgw_desktop.ui.design import SPACE, scaled_font
from llmgw_desktop.ui.pages.chart_scale import (
    SERIES_COLOURS,
    Unit,
    first_active,
    fixed_colour_index,
    home_span,
    nice_ceiling,
    span_words,
)
from llmgw_desktop.ui.pages.overview_totals import describe_savings, describe_totals
from llmgw_desktop.ui.pages.time_chart import Series, TimeChart, series_colour, warm_up
from llmgw_desktop.ui.provider_names import NOT_ROUTED, ProviderNames
from llmgw_desktop.ui.qt import (
    QColor,
    QComboBox,
    QEvent,
    QFont,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import error_colour, set_tone, tone_colour

__all__ = [
    "MOMENT_LEAD_S",
    "LiveCharts",
    "curve_colour",
    "legend_html",
    "moment_range",
]

REDRAW_MS = 1000
DEFAULT_WINDOW = "15m"
CHART_HEIGHT = 150  # px per chart until the page fits them to its first screen
MIN_HOME_BUCKETS = 12  # the charts never open on fewer buckets than this
# The recorder lists requests by their start; the charts count them when they finish. A click
# on a bucket lists the requests started from this long before it to its end, so one that took
# a while and finished in the bucket is on the list too.
MOMENT_LEAD_S = 60.0


def curve_colour(curve: Series) -> str:
    """The colour name of `curve`'s line ("#rrggbb")."""
    return str(curve.colour.name())


def legend_html(curves: Iterable[tuple[str, Series]], idle: Iterable[str] = ()) -> str:
    """A legend as rich text: each name after a bar in its curve's colour; the `idle` names
    (nothing to draw in the chart's window) after them, greyed, bar and name, so none reads
    as a line on the chart."""
    parts = [
        f'<span style="color:{curve_colour(curve)}">&#9644;</span>&nbsp;{html.escape(name)}'
        for name, curve in curves
    ]
    grey = tone_colour("muted")
    parts += [
        f'<span style="color:{grey}">&#9643;&nbsp;{html.escape(name)}</span>' for name in idle
    ]
    # A plain space between entries (a non-breaking one inside each): a long legend wraps
    # between providers instead of being cut off at the window's edge.
    return " &nbsp;".join(parts)


def moment_range(start: float, length_s: float) -> tuple[float, float]:
    """The start times (from, until) the Flight recorder lists for a clicked bucket."""
    return start - MOMENT_LEAD_S, start + length_s


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:  # an unchanged label must not schedule a repaint
        label.setText(text)


# The four plots, in the order they are built: title, row, unit.
_PLOTS: tuple[tuple[str, int, Unit], ...] = (
    ("Requests per second", 0, "rate"),
    ("Active jobs", 0, "level"),
    ("Tokens per second", 1, "rate"),
    ("Prompt-cache hit rate per provider (%)", 1, "percent"),
)


# What each chart shows, in words a newcomer knows (its title's tooltip).
_MEANINGS = {
    "Requests per second": (
        "Requests clients sent each second, and in red those their client got no answer for"
        " (a call that failed over to another target is counted once, by the request)."
    ),
    "Active jobs": "Coding-tool runs (jobs) in progress at each moment.",
    "Tokens per second": (
        "Prompt tokens the models processed afresh (fresh in: not read from a prompt cache) "
        "and tokens they wrote (out)."
    ),
    "Prompt-cache hit rate per provider (%)": (
        "How much of each prompt the provider read from its own cache instead of processing "
        "it again: cache reads cost a fraction of the input price and answer sooner."
    ),
}


class LiveCharts(QWidget):
    """Requests/s (and errors/s), active jobs, tokens in/out and cache hit rate per provider,
    plus totals.

    Each chart is its own plot widget, and the timer updates one chart per quarter second
    (each chart once a second), so a repaint never covers more than one chart: the work a
    second is the same, but no single slice of it holds the loop for long.

    `momentChosen(since, until, failed_only)` asks for the Flight recorder at a clicked point:
    a click on the errors line asks for the failed requests only.
    """

    momentChosen = Signal(float, float, bool)

    ready = Signal()  # the four plots are built (`build_next` returned True)

    def __init__(
        self, engine: Engine, parent: QWidget | None = None, *, build_now: bool = True
    ) -> None:
        """The charts' frame; the four plots now, or (without `build_now`) one per call of
        `build_next`, so the page can build them one per turn of the loop (after a turn that
        warms pyqtgraph up): all four at once stalled the loop for 50-70 ms, and a plot is
        about 10 ms of pyqtgraph set-up (docs/PERFORMANCE.md)."""
        super().__init__(parent)
        self._engine = engine
        header = self._header()
        self.totals_label = QLabel()
        self.totals_label.setObjectName("metricsTotals")
        # Wrapped, so its width never pushes the page: unwrapped, each longer figure widened
        # the page past the window and resized all four plots, a relayout of pyqtgraph's axes
        # and views each time (20-50 ms stalls at 500 requests/s; docs/PERFORMANCE.md).
        self.totals_label.setWordWrap(True)
        self.savings_label = QLabel()
        self.savings_label.setObjectName("metricsSavings")
        self.savings_label.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(header)
        self._rows = (QHBoxLayout(), QHBoxLayout())
        for row in self._rows:
            column.addLayout(row)
        # The totals in words under the charts: the plots come first on a small screen.
        column.addWidget(self.totals_label)
        column.addWidget(self.savings_label)
        self._plot_height = CHART_HEIGHT

        self.plot_widgets: list[TimeChart] = []
        self._legends: list[QLabel] = []
        self._shown_window: MetricsWindow | None = None
        self._series: MetricsSeries | None = None
        self._times: list[float] = []
        self._origin = 0.0
        self._next = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS // len(_PLOTS))
        self._timer.timeout.connect(self.draw_next)
        self.redraws = 0  # full rounds drawn: every chart and the totals
        self.built = False
        self._warmed = False
        if build_now:
            self.finish_building()

    def _header(self) -> QHBoxLayout:
        """Over the charts: the time they show, Reset zoom, since when there is data (when
        that is less than the window), and how to use them."""
        self.window_choice = QComboBox()
        self.window_choice.setObjectName("metricsWindow")
        self.window_choice.setToolTip("How much time the charts show")
        for window in WINDOWS:
            self.window_choice.addItem(window.label, window.key)
        self.window_choice.setCurrentIndex([w.key for w in WINDOWS].index(DEFAULT_WINDOW))
        self.window_choice.currentIndexChanged.connect(lambda _index: self.redraw())
        self.reset_button = QPushButton("Reset zoom")
        self.reset_button.setObjectName("chartsResetZoom")
        self.reset_button.setToolTip("Show the whole window again")
        self.reset_button.setEnabled(False)
        self.reset_button.clicked.connect(self.reset_zoom)
        hint = QLabel("Hover, drag, scroll or click a point")
        hint.setObjectName("chartsHint")
        hint.setToolTip(
            "Hover a point for its exact values. "
            "Drag a chart along time to pan and scroll to zoom (all four move together). "
            "Click a point to open the Flight recorder at that moment: the requests started "
            f"from {MOMENT_LEAD_S:g} s before it to its end (the charts count a request when "
            "it finishes). A click on the errors line lists the failed ones."
        )
        # Said when the charts open on less than the window (the data is younger than it).
        self.since_label = QLabel()
        self.since_label.setObjectName("chartsSince")
        set_tone(self.since_label, "muted")
        self._home = 0
        self._home_words = ""  # the caption while the charts show their home span
        header = QHBoxLayout()
        header.addWidget(QLabel("Show the last"))
        header.addWidget(self.window_choice)
        header.addWidget(self.reset_button)
        header.addWidget(self.since_label)
        # The hint wraps rather than widening the page past a small window.
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(hint, 1)
        return header

    def build_next(self) -> bool:
        """Build the next plot; True once all four are built (and their series wired). The
        first call only warms pyqtgraph up (see `warm_up`), a turn of its own."""
        if not self._warmed:
            self._warmed = True
            warm_up()
            return False
        if not self.built:
            title, row, unit = _PLOTS[len(self.plot_widgets)]
            self._plot(title, self._rows[row], unit)
            if len(self.plot_widgets) == len(_PLOTS):
                self._wire()
        return self.built

    def finish_building(self) -> None:
        """Build whatever plots are left, now."""
        while not self.build_next():
            pass

    def _wire(self) -> None:
        """The series, legends and the shared time axis, once the four plots exist."""
        self._requests_plot, self._jobs_plot, self._tokens_plot, self._hits_plot = self.plot_widgets
        self._hits_plot.set_top(100)
        self.requests_curve = self._requests_plot.add_series("requests", series_colour(0))
        # Failed requests per second on the same axis, in the theme's error red.
        self.errors_curve = self._requests_plot.add_series("failed", QColor(error_colour()))
        self.jobs_curve = self._jobs_plot.add_series("jobs", series_colour(4))
        self.input_curve = self._tokens_plot.add_series("fresh in", series_colour(1))
        self.output_curve = self._tokens_plot.add_series("out", series_colour(0))
        self.hit_curves: dict[str, Series] = {}
        # Legends are labels beside the titles, outside the plots: the top right of a plot is
        # where the newest points are drawn.
        self.tokens_legend, self.hits_legend = self._legends[2], self._legends[3]
        self._show_requests_legend()
        _set_text(
            self.tokens_legend,
            legend_html([("fresh in", self.input_curve), ("out", self.output_curve)]),
        )
        self._all_plots = (self._requests_plot, self._jobs_plot, self._tokens_plot, self._hits_plot)
        # One time axis: a zoom or pan on any chart moves the other three to the same range.
        # (pyqtgraph's own link lines the views up on screen, and these sit side by side.)
        for plot in self._all_plots:
            plot.zoomChanged.connect(lambda _zoomed, source=plot: self._follow(source))
        self._painters: tuple[Callable[[MetricsSeries, list[float]], None], ...] = (
            self._draw_requests,
            self._draw_jobs,
            self._draw_tokens,
            self._draw_hits,
        )
        self.built = True
        self.ready.emit()

    @property
    def window_key(self) -> str:
        return str(self.window_choice.currentData())

    def set_window(self, key: str) -> None:
        """Show the window `key` ("15m", "1h", "24h")."""
        self.window_choice.setCurrentIndex(self.window_choice.findData(key))

    def start(self) -> None:
        """Redraw now and then once a second (the page became visible)."""
        self.finish_building()
        self.redraw()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        for plot in self.plot_widgets:
            plot.clear_hover()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @property
    def zoomed(self) -> bool:
        return self._requests_plot.zoomed

    def reset_zoom(self) -> None:
        """Show the whole window on every chart (they share one time axis)."""
        self._requests_plot.reset_zoom()

    def _follow(self, source: TimeChart) -> None:
        shown = source.x_range()
        for plot in self._all_plots:
            if plot is not source and plot.x_range() != shown:
                plot.set_x_range(*shown)
        self.reset_button.setEnabled(source.zoomed)
        self._say_span()

    def redraw(self) -> None:
        """Read the chosen window from the engine's counters and redraw every chart now."""
        self.finish_building()
        self._next = 0
        for _ in self._painters:
            self.draw_next()

    def draw_next(self) -> None:
        """Draw the next chart in turn; a round starts by reading the counters once."""
        if self._next == 0 or self._series is None:
            self._read()
        assert self._series is not None
        plot = self._all_plots[self._next]
        # The chart's points and the time they count from change together, so a hover or a
        # click between two rounds names the right moment.
        plot.origin = self._origin
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
        self._origin = end
        self._times = [t - end for t in series.times]
        if series.window != self._shown_window:
            self._shown_window = series.window
            self._home = 0  # each window opens on its own home span
            for plot in self._all_plots:
                plot.set_window(series.window.span_s, series.window.bucket_s)
        self._go_home(series, end)
        _set_text(self.totals_label, describe_totals(series))
        _set_text(self.savings_label, describe_savings(series))

    def _go_home(self, series: MetricsSeries, end: float) -> None:
        """Open the charts on the span the data covers (a gateway up for two minutes: the
        last two minutes, not a 15-minute window flat at zero but for its last sliver)."""
        window = series.window
        first = first_active(series)
        home = home_span(
            None if first is None else end - first,
            window.span_s,
            MIN_HOME_BUCKETS * window.bucket_s,
        )
        if home == self._home:
            return
        self._home = home
        for plot in self._all_plots:
            plot.set_home(home)
        self.reset_button.setEnabled(self._requests_plot.zoomed)
        # The span is rounded up to a step (1, 2, 5 min ...): it holds the first request, it
        # does not date it ("since the first request: 5 min" read beside "Running for 2 min").
        # Said as a zoom into the window chosen beside it ("Show the last 15 min" beside
        # "showing the last 1 min" read as two answers to one question).
        since = (
            ""
            if home >= window.span_s
            else f"zoomed in to the last {span_words(home)}, which hold every request"
        )
        self._home_words = since
        self.since_label.setToolTip(
            f"The charts open on the last {span_words(home)}, which holds every request of "
            f"the window; scroll out (or Reset zoom) to see all of the {window.label}."
            if since
            else ""
        )
        self._say_span()

    def _say_span(self) -> None:
        """The caption of the span shown: the home's words while the charts show their home,
        none once a person scrolled away from it (a review read "zoomed in to the last 1 min"
        above the whole window it had zoomed out to)."""
        low, high = self._requests_plot.x_range()
        at_home = abs((high - low) - self._requests_plot.home_s) < 1.0 and abs(high) < 1.0
        _set_text(self.since_label, self._home_words if at_home else "")

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

    def _hit_colour(self, provider: str, names: ProviderNames) -> QColor:
        """The same colour for `provider` in every run (`fixed_colour_index`)."""
        used = {curve_colour(curve) for curve in self.hit_curves.values()}
        taken = {index for index, colour in enumerate(SERIES_COLOURS) if colour in used}
        return series_colour(fixed_colour_index(provider, list(names.by_id), taken))

    def _draw_hits(self, series: MetricsSeries, times: list[float]) -> None:
        with_rate = []
        for provider, rates in series.hit_rate.items():
            if provider in ("", NOT_ROUTED):  # refused before any provider: no prompt cache
                continue  # (the legend read "never sent" beside OpenAI, a review found)
            curve = self.hit_curves.get(provider)
            if curve is None:
                names = ProviderNames.of(self._engine)
                curve = self._hits_plot.add_series(
                    # Named as every page names it (`mistral-api` is "Mistral API"), in the
                    # legend and on hover.
                    names.name(provider),
                    self._hit_colour(provider, names),
                    width=2,
                )
                self.hit_curves[provider] = curve
            if any(rate == rate for rate in rates):  # NaN != NaN: a bucket without a rate
                with_rate.append((curve.name, curve))
            # A bucket whose calls reported no prompt tokens (none, or failed or estimated ones
            # only) has no rate (NaN), never 0 %. Drawn as gaps, sparse traffic looked
            # like a dashed line; the chart leaves NaN points out, so the line is joined over
            # the quiet buckets, and a lone point gets a dot, since a line needs two.
            curve.set_data(times, [r * 100 for r in rates])
        for provider, curve in self.hit_curves.items():
            if provider not in series.hit_rate:
                curve.set_data([], [])
        # The providers with a line to see, in their colours; those seen before or only
        # refused or failed here (no tokens, so no rate) greyed after them (review 41-3,
        # finding 18: four names over one line read as four lines on top of each other).
        # Set after the loop: a window with no traffic at all clears the names too.
        drawn = {curve.name for _name, curve in with_rate}
        idle = sorted(c.name for c in self.hit_curves.values() if c.name not in drawn)
        _set_text(self.hits_legend, legend_html(sorted(with_rate), idle))
        self.hits_legend.setToolTip(
            f"Greyed: no cache-hit rate in this window ({', '.join(idle)})" if idle else ""
        )

    def _fit_height(self, plot: TimeChart, values: list[float]) -> None:
        """Scale the y axis to a round ceiling over the data (changed only when that ceiling
        changes)."""
        plot.set_top(nice_ceiling(max(values, default=0.0)))

    def set_plot_height(self, height: int) -> None:
        """Each plot `height` px tall (the page fits them to its first screen)."""
        if height == self._plot_height:
            return
        self._plot_height = height
        for plot in self.plot_widgets:
            plot.setFixedHeight(height)

    def _plot(self, title: str, row: QHBoxLayout, unit: Unit) -> TimeChart:
        chart = TimeChart(unit)
        chart.setObjectName(f"chart:{title}")
        chart.setFixedHeight(self._plot_height)
        chart.momentClicked.connect(self._moment_clicked)
        legend = QLabel()
        legend.setObjectName(f"legend:{title}")
        # The legend on its own line under its title, inside the chart's frame: beside the
        # title it ran into the next chart's title ("errors Active jobs"). It wraps between
        # entries when there are many providers.
        legend.setWordWrap(True)
        self._legends.append(legend)
        name = QLabel(title)
        name.setFont(scaled_font(name.font(), 1.0, weight=QFont.Weight.DemiBold))
        name.setToolTip(_MEANINGS.get(title, ""))
        frame = QFrame()
        frame.setObjectName(f"chartCell:{title}")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        cell = QVBoxLayout(frame)
        cell.setContentsMargins(SPACE["s"], SPACE["xs"], SPACE["s"], SPACE["xs"])
        cell.setSpacing(2)
        cell.addWidget(name)
        cell.addWidget(legend)
        cell.addWidget(chart, 1)
        row.addWidget(frame)
        if self.isVisible():
            # Built after the frame was shown: a layout would show them on the loop's next
            # turn only, and whoever finished the build may look at them before that.
            for widget in (frame, name, legend, chart):
                widget.show()
        self.plot_widgets.append(chart)
        return chart

    def _moment_clicked(self, start: float, length_s: float, series: str) -> None:
        since, until = moment_range(start, length_s)
        self.momentChosen.emit(since, until, series == self.errors_curve.name)

    def _show_requests_legend(self) -> None:
        _set_text(
            self._legends[0],
            legend_html([("requests", self.requests_curve), ("failed", self.errors_curve)]),
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # The errors line is the look's own error red (light and dark differ).
        if event.type() == QEvent.Type.PaletteChange and self.built:
            self.errors_curve.set_colour(QColor(error_colour()))
            self._show_requests_legend()
