"""A time chart drawn with pyqtgraph: a few series over the last minutes or hours, x in seconds
before now, with the exact values under the mouse, zoom and pan along time, and a click that
names the moment under it.

Only `overview_charts.py` imports this module, and the Overview builds its charts when it is
first shown: pyqtgraph and numpy are about 38 MB and a third of a second of imports that a
tray-only or headless start never pays (`tests/test_startup_imports.py` holds that).

The x axis stays put while the data moves (values are seconds before the newest bucket's end),
so a redraw repaints the curves, not the axis text. The y range changes only when its round
ceiling does. Hover and click look the nearest point up by bisection in the data already held;
neither redraws anything but the crosshair and the marks.

A chart is a view box and its two axes on a graphics view, not pyqtgraph's PlotWidget: a
PlotItem also builds a plot-options form and two context menus (none of which a chart shows)
and two hidden axes, two thirds of its set-up; without them a chart is built in about a third
of the time, so building one never holds the loop for a frame (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# ui.qt first: pyqtgraph binds to whichever Qt binding is already loaded (else the first it
# finds installed, which could be another one).
from llmgw_desktop.ui.qt import (
    QColor,
    QEvent,
    QGraphicsGridLayout,
    QPalette,
    QPointF,
    Qt,
    QToolTip,
    QWidget,
    Signal,
)

# isort: split
import pyqtgraph as pg

from llmgw_desktop.ui.pages.chart_scale import (
    SERIES_COLOURS,
    Unit,
    ago_label,
    ago_spacing,
    clock_span,
    hours_for,
    tick_labels,
    value_text,
    y_ticks,
)

__all__ = ["HEADROOM", "Moment", "Series", "TimeChart", "series_colour", "warm_up"]

HEADROOM = 1.08  # above the top tick, so its label is not cut off
HOVER_PX = 12.0  # how far (pixels, along time) the mouse may be from a point it describes
DOT_PX = 7  # a lone point's dot: a line needs two points
MARK_PX = 8  # the marks on the hovered points
MIN_ZOOM_BUCKETS = 6  # the narrowest zoom shows this many buckets
CROSSHAIR_ALPHA = 110


def series_colour(index: int) -> QColor:
    """The `index`th series colour (round again after the tenth)."""
    return QColor(SERIES_COLOURS[index % len(SERIES_COLOURS)])


@dataclass(frozen=True)
class Moment:
    """One bucket under the mouse: its x (seconds before the chart's origin), its start as a
    wall-clock time, and each series' value there (series without a point there left out)."""

    x: float
    start: float
    length_s: float
    values: tuple[tuple[str, float], ...]


def warm_up() -> None:
    """Pay for pyqtgraph's first use in a process (its first rich-text layout, in an axis'
    title) on its own, so the first chart costs what the others do: half of the first chart's
    build was this (`bench/chart_costs.py`)."""
    pg.AxisItem("left")


def _no_unit_prefix(axis: pg.AxisItem) -> pg.AxisItem:
    """`axis` without the automatic unit prefix (k, M) on its title: these axes have no title,
    and the prefix check re-renders the hidden title's HTML at every change of range, a third
    of a chart's build and a part of every zoom and pan."""
    axis.enableAutoSIPrefix(False)
    return axis


class AgoAxis(pg.AxisItem):
    """The time axis in "minutes (or hours) ago": round ticks for the whole window, finer ones
    when zoomed in."""

    def __init__(self) -> None:
        super().__init__("bottom")
        _no_unit_prefix(self)
        self.window_s = 900

    def set_window(self, span_s: int) -> None:
        self.window_s = span_s
        self.picture = None  # pyqtgraph's cached drawing of the axis
        self.update()

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        major, minor = ago_spacing(maxVal - minVal, self.window_s)
        return [(major, 0), (minor, 0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        low, high = self.range
        hours = hours_for(high - low)
        return [ago_label(v, hours=hours) for v in values]


class Series:
    """One line of a chart: its finite points, name and colour."""

    def __init__(self, chart: TimeChart, name: str, colour: QColor, width: float) -> None:
        self.name = name
        self.colour = QColor(colour)
        self.width = width
        self.xs: tuple[float, ...] = ()
        self.ys: tuple[float, ...] = ()
        self.item = pg.PlotDataItem(
            pen=pg.mkPen(self.colour, width=width),
            name=name,
            skipFiniteCheck=True,
            antialias=True,
        )
        chart.view.addItem(self.item)

    def set_data(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        """Show these points (pairs with a NaN or infinity are left out, the line joined over
        them); redraws only when they differ from the points shown."""
        pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x + y)]
        new_xs = tuple(x for x, _ in pairs)
        new_ys = tuple(y for _, y in pairs)
        if (new_xs, new_ys) == (self.xs, self.ys):
            return
        lone = len(new_xs) == 1
        if lone != (len(self.xs) == 1):
            self.item.setSymbol("o" if lone else None)
            self.item.setSymbolSize(DOT_PX)
            self.item.setSymbolPen(None)
            self.item.setSymbolBrush(self.colour)
        self.xs, self.ys = new_xs, new_ys
        self.item.setData(list(new_xs), list(new_ys))

    def set_colour(self, colour: QColor) -> None:
        self.colour = QColor(colour)
        self.item.setPen(pg.mkPen(self.colour, width=self.width))
        self.item.setSymbolBrush(self.colour)

    def data(self) -> tuple[list[float], list[float]]:
        return list(self.xs), list(self.ys)

    def value_at(self, x: float) -> float | None:
        """The value of the point at exactly `x`, or None when there is none."""
        index = bisect.bisect_left(self.xs, x)
        if index < len(self.xs) and self.xs[index] == x:
            return self.ys[index]
        return None

    def nearest_x(self, x: float) -> float | None:
        index = bisect.bisect_left(self.xs, x)
        near = [self.xs[i] for i in (index - 1, index) if 0 <= i < len(self.xs)]
        return min(near, key=lambda v: abs(v - x), default=None)


class TimeChart(pg.GraphicsView):
    """Series over a time window, on the palette's Base colour with axes in its Text colour.

    Hover shows the bucket's time and each series' exact value (tooltip and `hover_text`);
    a drag pans and the wheel zooms along time only (the y axis is the timer's); a click on a
    point emits `momentClicked` with the bucket's start, its length and the nearest series.
    """

    momentClicked = Signal(float, float, str)
    zoomChanged = Signal(bool)

    def __init__(self, unit: Unit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unit: Unit = unit
        self.series: list[Series] = []
        self.window_s = 900
        self.bucket_s = 5.0
        self.origin = 0.0  # the wall-clock time of x = 0 (the newest bucket's end)
        self.hover_text = ""
        self._top: float | None = None
        # What a PlotItem lays out, less its title, buttons, hidden axes and menus: the value
        # axis left of the view, the time axis under it.
        self._view = pg.ViewBox(enableMenu=False)
        self._view.disableAutoRange()
        self._view.setMouseEnabled(x=True, y=False)
        self._axis = AgoAxis()
        self._axes = {"left": _no_unit_prefix(pg.AxisItem("left")), "bottom": self._axis}
        frame = pg.GraphicsWidget()
        grid = QGraphicsGridLayout()
        grid.setContentsMargins(1, 1, 1, 1)
        grid.setSpacing(0)
        grid.addItem(self._axes["left"], 0, 0)
        grid.addItem(self._view, 0, 1)
        grid.addItem(self._axis, 1, 1)
        grid.setColumnStretchFactor(1, 100)
        grid.setRowStretchFactor(0, 100)
        frame.setLayout(grid)
        for axis in self._axes.values():
            axis.linkToView(self._view)
            axis.setZValue(0.5)  # as a PlotItem places them: over the view's background
        self.setCentralItem(frame)
        self._crosshair = pg.InfiniteLine(angle=90, movable=False)
        self._crosshair.hide()
        self._view.addItem(self._crosshair, ignoreBounds=True)
        self._marks = pg.ScatterPlotItem(size=MARK_PX, pen=None)
        self._view.addItem(self._marks, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._hovered)
        self.scene().sigMouseClicked.connect(self._clicked)
        self._view.sigXRangeChanged.connect(lambda *_args: self.zoomChanged.emit(self.zoomed))
        self.set_window(self.window_s, self.bucket_s)
        self.set_top(1.0)
        self._apply_palette()

    @property
    def view(self) -> pg.ViewBox:
        """The view box the series are drawn in."""
        return self._view

    def axis(self, name: str) -> pg.AxisItem:
        """The "left" (values) or "bottom" (time) axis."""
        return self._axes[name]

    # -- what the owner sets -------------------------------------------------------------

    def add_series(self, name: str, colour: QColor, width: float = 1.0) -> Series:
        series = Series(self, name, colour, width)
        self.series.append(series)
        return series

    def set_window(self, span_s: int, bucket_s: float) -> None:
        """Show the whole window of `span_s` seconds in buckets of `bucket_s` (zoom reset)."""
        self.window_s, self.bucket_s = span_s, bucket_s
        self.home_s = span_s
        self._axis.set_window(span_s)
        self._view.setLimits(
            xMin=-span_s, xMax=0, minXRange=min(span_s, MIN_ZOOM_BUCKETS * bucket_s)
        )
        self.reset_zoom()

    def set_top(self, top: float) -> None:
        """Span y from 0 to `top` (and a little headroom), with round ticks; a no-op when
        unchanged (laying an axis' labels out again is most of a repaint's cost)."""
        if top == self._top:
            return
        self._top = top
        ticks = y_ticks(top, whole=self.unit == "level")
        self._axes["left"].setTicks([list(zip(ticks, tick_labels(ticks), strict=True)), []])
        self._view.setYRange(0, top * HEADROOM, padding=0)

    @property
    def zoomed(self) -> bool:
        """Whether less than the chart's home span is shown (a person zoomed in)."""
        low, high = self._view.viewRange()[0]
        return high - low < self.home_s * 0.999

    def set_home(self, home_s: int) -> None:
        """Open on the last `home_s` seconds (at most the window): what Reset zoom returns to;
        shown now unless a person has zoomed."""
        if home_s == self.home_s:
            return
        at_home = not self.zoomed
        self.home_s = min(home_s, self.window_s)
        if at_home:
            self.reset_zoom()

    def reset_zoom(self) -> None:
        """Show the home span again (the whole window, or since the data began)."""
        self._view.setXRange(-self.home_s, 0, padding=0)

    def set_x_range(self, low: float, high: float) -> None:
        """Show x from `low` to `high` (seconds before now)."""
        self._view.setXRange(low, high, padding=0)

    def x_range(self) -> tuple[float, float]:
        low, high = self._view.viewRange()[0]
        return float(low), float(high)

    def map_point(self, x: float, y: float) -> QPointF:
        """The widget pixel (viewport coordinates) the value (`x`, `y`) is drawn at."""
        scene = self._view.mapViewToScene(QPointF(x, y))
        return QPointF(self.mapFromScene(scene))

    # -- hover and click -----------------------------------------------------------------

    def moment_at(self, scene_pos: QPointF) -> Moment | None:
        """The bucket nearest the scene position along time, if a point is within HOVER_PX
        of it and the position is inside the plot."""
        if not self._view.sceneBoundingRect().contains(scene_pos):
            return None
        x = float(self._view.mapSceneToView(scene_pos).x())
        near = [n for s in self.series if (n := s.nearest_x(x)) is not None]
        if not near:
            return None
        best = min(near, key=lambda v: abs(v - x))
        low, high = self.x_range()
        per_px = (high - low) / max(1.0, float(self._view.width()))
        if abs(best - x) > HOVER_PX * per_px:
            return None
        values = tuple(
            (s.name, value) for s in self.series if (value := s.value_at(best)) is not None
        )
        return Moment(best, self.origin + best, self.bucket_s, values)

    def describe(self, moment: Moment) -> str:
        """What a hover on `moment` says: its clock time and how long ago, then each series'
        exact value."""
        hours = hours_for(self.window_s)
        when = clock_span(moment.start, moment.length_s)
        filling = moment.x + moment.length_s >= 0  # the newest bucket, still counting
        ago = "this bucket, still filling" if filling else ago_label(moment.x, hours=hours)
        lines = [f"{when} ({ago})"]
        for name, value in moment.values:
            lines.append(
                f"{name}: {value_text(self.unit, value, moment.length_s, filling=filling)}"
            )
        return "\n".join(lines)

    def _hovered(self, scene_pos: QPointF) -> None:
        moment = self.moment_at(scene_pos)
        if moment is None:
            self.clear_hover()
            return
        self.hover_text = self.describe(moment)
        self._crosshair.setPos(moment.x)
        self._crosshair.show()
        colours = {s.name: s.colour for s in self.series}
        self._marks.setData(
            [moment.x] * len(moment.values),
            [value for _, value in moment.values],
            brush=[pg.mkBrush(colours[name]) for name, _ in moment.values],
        )
        where = self.mapToGlobal(self.mapFromScene(scene_pos))
        QToolTip.showText(where, self.hover_text, self)

    def clear_hover(self) -> None:
        if self.hover_text:
            self.hover_text = ""
            self._crosshair.hide()
            self._marks.setData([], [])
            QToolTip.hideText()

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        moment = self.moment_at(event.scenePos())
        if moment is None or not moment.values:
            return
        # The series whose point is nearest the click, in pixels up the axis.
        y = float(self._view.mapSceneToView(event.scenePos()).y())
        name, _ = min(moment.values, key=lambda item: abs(item[1] - y))
        self.momentClicked.emit(moment.start, moment.length_s, name)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self.clear_hover()

    # -- the look ------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # pyqtgraph's own constructor sets a palette before this one has built its parts.
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_crosshair"):
            self._apply_palette()

    def _apply_palette(self) -> None:
        """Follow the light or dark look instead of pyqtgraph's black."""
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        self.setBackground(palette.color(QPalette.ColorRole.Base))
        for axis in self._axes.values():
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
        faint = QColor(text)
        faint.setAlpha(CROSSHAIR_ALPHA)
        self._crosshair.setPen(pg.mkPen(faint, style=Qt.PenStyle.DashLine))
