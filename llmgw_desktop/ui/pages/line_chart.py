"""A small line chart painted with QPainter: the widget behind the Overview's traffic charts.

pyqtgraph and the numpy it needs were about 40 MB of a desktop app that should idle under
150 MB, for four charts of a few hundred points redrawn once a second; QtCharts is not in
PySide6-Essentials. So this draws what those charts need and nothing more: a y axis from 0 with
round ticks, an x axis with labelled ticks, and a few lines.

The frame (background, axes, ticks, labels) is painted once into a pixmap and reused until the
size, the ranges or the palette change; a repaint copies it and draws the lines over it. A
curve asks for a repaint only when its points changed, so an idle gateway's charts stay still.
The maths (ticks, their labels, which labels fit, value to pixel) are plain functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llmgw_desktop.ui.qt import (
    QColor,
    QEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPointF,
    QPolygonF,
    QRectF,
    QResizeEvent,
    Qt,
    QWidget,
)

__all__ = [
    "Curve",
    "LineChart",
    "PlotArea",
    "XTicks",
    "nice_ceiling",
    "series_colour",
    "shown_labels",
    "tick_labels",
    "y_ticks",
]

MAX_Y_INTERVALS = 5  # a 180 px chart reads well with four or five steps up its axis
TICK_PX = 4  # a major tick's length outside the plot
MINOR_TICK_PX = 2
LABEL_GAP_PX = 3  # between a tick and its label
LABEL_SPACE_PX = 12  # at least this between two x labels
EDGE_PX = 8  # room at the top and right of the plot when no label needs more
DOT_PX = 7.0  # a lone point's dot: a line needs two points
GRID_ALPHA = 40  # horizontal grid lines: the text colour, faint
MIN_WIDTH_PX, MIN_HEIGHT_PX = 160, 80


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `value` (1 for none)."""
    if not value > 0 or math.isinf(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if value <= m * power)


def y_ticks(top: float) -> list[float]:
    """Round values from 0 to `top`, a 1, 2 or 5 times a power of ten apart, at most
    MAX_Y_INTERVALS steps ([0.0] when `top` is not a positive number)."""
    if not top > 0 or math.isinf(top):
        return [0.0]
    step = nice_ceiling(top / MAX_Y_INTERVALS)
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


def shown_labels(
    centres: Sequence[float], widths: Sequence[float], left: float, right: float
) -> list[int]:
    """Which x labels to draw (indices): every n-th counted from the right end, with the
    smallest n that keeps neighbours LABEL_SPACE_PX apart, less any that would stick out of
    [`left`, `right`] (pyqtgraph dropped those too; moving one off its tick would misread)."""
    picked: list[int] = []
    for stride in range(1, len(centres) + 1):
        picked = list(range(len(centres) - 1, -1, -stride))[::-1]
        pairs = itertools.pairwise(picked)
        if all(
            centres[b] - widths[b] / 2 - (centres[a] + widths[a] / 2) >= LABEL_SPACE_PX
            for a, b in pairs
        ):
            break
    return [
        i
        for i in picked
        if centres[i] - widths[i] / 2 >= left and centres[i] + widths[i] / 2 <= right
    ]


# Ten colours that stay distinct from each other and readable on both the light and the dark
# Base colour (Tableau 10, its yellow moved last): pyqtgraph's fully saturated wheel put lime
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


def series_colour(index: int) -> QColor:
    """The `index`th series colour (round again after the tenth)."""
    return QColor(SERIES_COLOURS[index % len(SERIES_COLOURS)])


@dataclass(frozen=True)
class XTicks:
    """The x axis' tick values (data units) and one label per major tick."""

    major: tuple[float, ...] = ()
    minor: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlotArea:
    """Where the data is drawn inside the widget (pixels), and the values its edges stand
    for: x from `x_lo` at the left to `x_hi` at the right, y from 0 at the bottom to `y_hi`
    at the top."""

    left: float
    top: float
    width: float
    height: float
    x_lo: float
    x_hi: float
    y_hi: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x_px(self, x: float) -> float:
        span = self.x_hi - self.x_lo
        return self.left + (x - self.x_lo) / span * self.width if span else self.left

    def y_px(self, y: float) -> float:
        return self.bottom - (y / self.y_hi * self.height if self.y_hi > 0 else 0.0)

    def point(self, x: float, y: float) -> QPointF:
        return QPointF(self.x_px(x), self.y_px(y))


class Curve:
    """One line of a chart: its finite points, colour and width."""

    def __init__(self, chart: LineChart, name: str, colour: QColor, width: float) -> None:
        self._chart = chart
        self.name = name
        self.colour = QColor(colour)
        self.width = width
        self.xs: tuple[float, ...] = ()
        self.ys: tuple[float, ...] = ()

    def set_data(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        """Show these points (pairs with a NaN or infinity are left out); repaints only if
        they differ from the points shown."""
        pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x + y)]
        new_xs = tuple(x for x, _ in pairs)
        new_ys = tuple(y for _, y in pairs)
        if (new_xs, new_ys) != (self.xs, self.ys):
            self.xs, self.ys = new_xs, new_ys
            self._chart.update()

    def data(self) -> tuple[list[float], list[float]]:
        return list(self.xs), list(self.ys)


class LineChart(QWidget):
    """A few lines over an x range and a y range from 0, on the palette's Base colour with
    axes and labels in its Text colour (so it follows the light and dark looks)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(MIN_WIDTH_PX, MIN_HEIGHT_PX)
        # Every pixel is painted (the frame covers the widget): Qt need not clear first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.curves: list[Curve] = []
        self._x_range = (0.0, 1.0)
        self._x_ticks = XTicks()
        self._y_hi = 1.0
        self._y_ticks: tuple[float, ...] = (0.0,)
        self._frame: QPixmap | None = None
        self._area: PlotArea | None = None
        self.frames_drawn = 0  # how often the frame was painted (tests check it is cached)

    def add_curve(self, name: str, colour: QColor, width: float = 1.0) -> Curve:
        curve = Curve(self, name, colour, width)
        self.curves.append(curve)
        return curve

    def set_x_axis(self, lo: float, hi: float, ticks: XTicks) -> None:
        """Span x from `lo` to `hi`, with these ticks; a no-op when nothing changes."""
        if ((lo, hi), ticks) != (self._x_range, self._x_ticks):
            self._x_range, self._x_ticks = (lo, hi), ticks
            self._invalidate()

    def set_y_axis(self, hi: float, ticks: Sequence[float]) -> None:
        """Span y from 0 to `hi`, with ticks (and labels) at `ticks`; a no-op when unchanged."""
        if (hi, tuple(ticks)) != (self._y_hi, self._y_ticks):
            self._y_hi, self._y_ticks = hi, tuple(ticks)
            self._invalidate()

    @property
    def y_ticks(self) -> tuple[float, ...]:
        return self._y_ticks

    def area(self) -> PlotArea:
        """Where the data goes at the widget's current size and font."""
        if self._area is None:
            self._area = self._layout()
        return self._area

    def map_point(self, x: float, y: float) -> QPointF:
        """The widget pixel the value (`x`, `y`) is drawn at."""
        return self.area().point(x, y)

    def x_labels_shown(self) -> list[str]:
        """The x labels there is room for at the current width."""
        return [self._x_ticks.labels[i] for i in self._shown_x_labels(self.area())]

    def _invalidate(self) -> None:
        self._frame = None
        self._area = None
        self.update()

    def _layout(self) -> PlotArea:
        metrics = self.fontMetrics()
        y_width = max((metrics.horizontalAdvance(t) for t in tick_labels(self._y_ticks)), default=0)
        left = y_width + LABEL_GAP_PX + TICK_PX
        top = max(float(EDGE_PX), metrics.height() / 2)
        right: float = EDGE_PX
        if self._x_ticks.labels and self._x_ticks.major[-1] >= self._x_range[1]:
            # A label on the right edge ("now") gets the room it needs to be drawn whole.
            right = max(right, metrics.horizontalAdvance(self._x_ticks.labels[-1]) / 2 + 1)
        bottom = TICK_PX + LABEL_GAP_PX + metrics.height()
        lo, hi = self._x_range
        return PlotArea(
            left=left,
            top=top,
            width=max(1.0, self.width() - left - right),
            height=max(1.0, self.height() - top - bottom),
            x_lo=lo,
            x_hi=hi,
            y_hi=self._y_hi,
        )

    def _shown_x_labels(self, area: PlotArea) -> list[int]:
        metrics = self.fontMetrics()
        centres = [area.x_px(x) for x in self._x_ticks.major]
        widths = [float(metrics.horizontalAdvance(label)) for label in self._x_ticks.labels]
        return shown_labels(centres, widths, 0.0, float(self.width()))

    def _draw_frame(self) -> QPixmap:
        ratio = self.devicePixelRatioF()
        frame = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
        frame.setDevicePixelRatio(ratio)
        palette = self.palette()
        frame.fill(palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        area = self.area()
        painter = QPainter(frame)
        painter.setFont(self.font())
        metrics = self.fontMetrics()
        grid = QColor(text)
        grid.setAlpha(GRID_ALPHA)
        # y: a tick, a label and a faint grid line per value (the grid is free here: the frame
        # is drawn once, not with every repaint of the lines).
        for value, label in zip(self._y_ticks, tick_labels(self._y_ticks), strict=True):
            y = area.y_px(value)
            if value:
                painter.setPen(grid)
                painter.drawLine(QPointF(area.left, y), QPointF(area.right, y))
            painter.setPen(text)
            painter.drawLine(QPointF(area.left - TICK_PX, y), QPointF(area.left, y))
            box = QRectF(
                0, y - metrics.height() / 2, area.left - TICK_PX - LABEL_GAP_PX, metrics.height()
            )
            painter.drawText(
                box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label
            )
        # x: minor ticks, then major ticks with the labels there is room for.
        painter.setPen(text)
        for x, length in [(x, MINOR_TICK_PX) for x in self._x_ticks.minor] + [
            (x, TICK_PX) for x in self._x_ticks.major
        ]:
            px = area.x_px(x)
            painter.drawLine(QPointF(px, area.bottom), QPointF(px, area.bottom + length))
        top = area.bottom + TICK_PX + LABEL_GAP_PX
        for i in self._shown_x_labels(area):
            label = self._x_ticks.labels[i]
            width = metrics.horizontalAdvance(label)
            px = area.x_px(self._x_ticks.major[i])
            box = QRectF(px - width / 2, top, width, metrics.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.drawLine(QPointF(area.left, area.top), QPointF(area.left, area.bottom))
        painter.drawLine(QPointF(area.left, area.bottom), QPointF(area.right, area.bottom))
        painter.end()
        self.frames_drawn += 1
        return frame

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._frame is None:
            self._frame = self._draw_frame()
        area = self.area()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._frame)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # A little past the plot, so a line along 0 or the top is drawn whole, not halved.
        margin = max((c.width for c in self.curves), default=1.0) + DOT_PX / 2
        painter.setClipRect(
            QRectF(area.left, area.top - margin, area.width + margin, area.height + 2 * margin)
        )
        for curve in self.curves:
            if len(curve.xs) == 1:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(curve.colour)
                centre = area.point(curve.xs[0], curve.ys[0])
                painter.drawEllipse(centre, DOT_PX / 2, DOT_PX / 2)
            elif curve.xs:
                pen = QPen(curve.colour, curve.width)
                pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
                painter.setPen(pen)
                painter.drawPolyline(
                    QPolygonF([area.point(x, y) for x, y in zip(curve.xs, curve.ys, strict=True)])
                )
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._frame = None
        self._area = None

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # The look (light or dark), the font or the style changed: the frame is drawn again.
        if event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.FontChange,
            QEvent.Type.StyleChange,
        ):
            self._invalidate()
