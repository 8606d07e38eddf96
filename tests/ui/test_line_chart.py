"""The Overview's QPainter line chart: its maths (ticks, labels, value to pixel) as plain
functions, and what the widget paints, read back from `grab()` offscreen."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.pages.line_chart import (
    MAX_Y_INTERVALS,
    LineChart,
    PlotArea,
    nice_ceiling,
    series_colour,
    shown_labels,
    tick_labels,
    y_ticks,
)
from llmgw_desktop.ui.pages.overview_charts import HEADROOM, ago_ticks, curve_colour, legend_html
from llmgw_desktop.ui.qt import QColor, QPaintEvent, QPalette, QPointF, Qt
from llmgw_desktop.ui.theme import DARK, palette_for

RED = "#e15759"  # series colour 2
SIZE = (400, 180)


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (-3, 1), (math.nan, 1), (math.inf, 1), (0.3, 0.5), (3, 5), (50, 50), (51, 100)],
)
def test_nice_ceiling_is_the_next_one_two_or_five(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (2, [0, 0.5, 1.0, 1.5, 2.0]),
        (50, [0, 10, 20, 30, 40, 50]),
        (100, [0, 20, 40, 60, 80, 100]),
        (20_000, [0, 5000, 10_000, 15_000, 20_000]),
        (0, [0]),  # an empty or all-zero chart still has its baseline
        (math.nan, [0]),
    ],
)
def test_y_ticks_are_round_steps_from_zero_to_the_ceiling(top: float, ticks: list[float]) -> None:
    assert y_ticks(top) == ticks  # exact: 3 x 0.2 must not be 0.6000000000000001


def test_y_ticks_never_crowd_the_axis_whatever_the_ceiling() -> None:
    for exponent in range(-4, 8):
        for mantissa in (1, 2, 5):
            top = mantissa * 10.0**exponent
            ticks = y_ticks(nice_ceiling(top))
            assert 3 <= len(ticks) <= MAX_Y_INTERVALS + 1, (top, ticks)
            assert ticks[-1] == pytest.approx(nice_ceiling(top))


def test_tick_labels_carry_the_decimals_their_step_needs_and_thousands_as_k() -> None:
    assert tick_labels(y_ticks(2)) == ["0", "0.5", "1.0", "1.5", "2.0"]
    assert tick_labels(y_ticks(50)) == ["0", "10", "20", "30", "40", "50"]
    assert tick_labels(y_ticks(5000)) == ["0", "1000", "2000", "3000", "4000", "5000"]
    assert tick_labels(y_ticks(20_000)) == ["0", "5k", "10k", "15k", "20k"]
    assert tick_labels(y_ticks(0.005)) == ["0", "0.001", "0.002", "0.003", "0.004", "0.005"]
    assert tick_labels(y_ticks(5e7))[-1] == "50M"
    assert tick_labels([0.0]) == ["0"]


def test_the_ago_axis_labels_whole_minutes_or_hours_before_now() -> None:
    ticks = ago_ticks(900)
    assert ticks.major == (-900, -600, -300, 0)
    assert ticks.labels == ("15 min ago", "10 min ago", "5 min ago", "now")
    assert len(ticks.minor) == 12 and -60 in ticks.minor and -300 not in ticks.minor
    assert ago_ticks(3600).labels[:2] == ("60 min ago", "45 min ago")
    day = ago_ticks(86400)
    assert day.labels == (
        "24 h ago",
        "20 h ago",
        "16 h ago",
        "12 h ago",
        "8 h ago",
        "4 h ago",
        "now",
    )
    assert ago_ticks(600).major == (-600, -400, -200, 0)  # a span without its own table row


def test_shown_labels_thin_out_from_the_right_and_drop_those_past_the_edges() -> None:
    widths = [40.0] * 4
    assert shown_labels([100, 200, 300, 400], widths, 0, 500) == [0, 1, 2, 3]
    # 30 px apart: too close for 40 px labels; every other one, counted from "now".
    assert shown_labels([100, 130, 160, 190], widths, 0, 500) == [1, 3]
    # The leftmost would start before the widget's edge: left out, not moved off its tick.
    assert shown_labels([10, 200, 300, 400], widths, 0, 500) == [1, 2, 3]
    assert shown_labels([], [], 0, 500) == []


def test_plot_area_maps_the_ranges_onto_its_pixels() -> None:
    area = PlotArea(left=40, top=10, width=300, height=100, x_lo=-900, x_hi=0, y_hi=50)
    assert (area.x_px(-900), area.x_px(0), area.x_px(-450)) == (40, 340, 190)
    assert (area.y_px(0), area.y_px(50), area.y_px(25)) == (110, 10, 60)
    flat = PlotArea(left=40, top=10, width=300, height=100, x_lo=0, x_hi=0, y_hi=0)
    assert (flat.x_px(5), flat.y_px(5)) == (40, 110)  # empty ranges: no division by zero


def test_series_colours_are_ten_distinct_ones_then_round_again() -> None:
    names = [series_colour(i).name() for i in range(10)]
    assert len(set(names)) == 10
    assert series_colour(2).name() == RED
    assert series_colour(10).name() == names[0]


class CountingChart(LineChart):
    """Counts its paints, so a test can tell a repaint happened (or did not)."""

    paints = 0

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        super().paintEvent(event)


def _chart(qtbot: QtBot) -> CountingChart:
    chart = CountingChart()
    qtbot.addWidget(chart)
    chart.resize(*SIZE)
    chart.set_x_axis(-900, 0, ago_ticks(900))
    chart.set_y_axis(HEADROOM, y_ticks(1))
    return chart


def _colour_at(image: Any, point: QPointF) -> str:
    return str(image.pixelColor(point.toPoint()).name())


def _red_at(image: Any, point: QPointF) -> bool:
    """Whether the pixel is the red curve's, give or take its antialiased edge."""
    colour = image.pixelColor(point.toPoint())
    red = QColor(RED)
    return all(
        abs(a - b) < 40
        for a, b in zip(
            (colour.red(), colour.green(), colour.blue()),
            (red.red(), red.green(), red.blue()),
            strict=True,
        )
    )


def test_an_empty_chart_paints_its_axes_on_the_base_colour(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    chart.add_curve("requests", series_colour(2))
    image = chart.grab().toImage()
    base = chart.palette().color(QPalette.ColorRole.Base).name()
    assert _colour_at(image, chart.map_point(-450, 0.5)) == base
    # "15 min ago" would stick out past the left edge, so it is left out (as pyqtgraph did).
    assert chart.x_labels_shown() == ["10 min ago", "5 min ago", "now"]
    area = chart.area()
    assert area.left > 0 and area.right < SIZE[0] and area.bottom < SIZE[1]


def test_one_point_is_a_dot_in_its_colour(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    curve = chart.add_curve("anthropic", series_colour(2), width=2)
    curve.set_data([-300.0, -200.0, -100.0], [math.nan, 0.64, math.nan])
    assert curve.data() == ([-200.0], [0.64])
    image = chart.grab().toImage()
    assert _colour_at(image, chart.map_point(-200, 0.64)) == RED
    assert _colour_at(image, chart.map_point(-300, 0.64)) != RED


def test_an_all_zero_series_is_a_line_along_the_baseline(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    curve = chart.add_curve("requests", series_colour(2), width=2)
    xs = [float(t) for t in range(-900, 0, 5)]
    curve.set_data(xs, [0.0] * len(xs))
    image = chart.grab().toImage()
    for x in (-800, -450, -10):
        assert _colour_at(image, chart.map_point(x, 0)) == RED
    assert chart.y_ticks == (0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_a_line_joins_its_points_at_their_values(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    curve = chart.add_curve("requests", series_colour(2), width=2)
    curve.set_data([-900.0, -450.0, 0.0], [0.0, 1.0, 0.0])
    image = chart.grab().toImage()
    peak = chart.map_point(-450, 1.0)
    assert _red_at(image, peak + QPointF(0, 1))  # just inside the peak's joint
    assert not _red_at(image, chart.map_point(-450, 0.5))  # nothing under the peak
    assert _red_at(image, chart.map_point(-225, 0.5))  # halfway down the slope


def test_unchanged_data_does_not_repaint_and_new_data_reuses_the_frame(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    curve = chart.add_curve("requests", series_colour(2))
    curve.set_data([-10.0, -5.0], [0.1, 0.2])
    chart.show()
    qtbot.waitUntil(lambda: chart.paints > 0, timeout=2000)
    qtbot.wait(50)  # any paint still queued from showing
    frames, paints = chart.frames_drawn, chart.paints
    curve.set_data([-10.0, -5.0], [0.1, 0.2])  # the same points, as on an idle gateway
    chart.set_y_axis(HEADROOM, y_ticks(1))
    qtbot.wait(50)
    assert chart.paints == paints
    curve.set_data([-10.0, -5.0], [0.1, 0.3])
    qtbot.waitUntil(lambda: chart.paints > paints, timeout=2000)
    assert chart.frames_drawn == frames  # the lines moved, the axes were not drawn again
    chart.set_y_axis(2 * HEADROOM, y_ticks(2))
    qtbot.waitUntil(lambda: chart.frames_drawn > frames, timeout=2000)


def test_the_frame_follows_the_dark_look(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    chart.grab()
    chart.setPalette(palette_for(Qt.ColorScheme.Dark))
    image = chart.grab().toImage()
    assert _colour_at(image, chart.map_point(-450, 0.5)) == DARK.base
    label_row = [
        image.pixelColor(x, round(chart.area().bottom) + 12).name() for x in range(SIZE[0])
    ]
    assert DARK.base in label_row and any(c != DARK.base for c in label_row)  # labels drawn


def test_a_narrow_chart_keeps_now_and_drops_labels_that_would_collide(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    chart.set_x_axis(-86400, 0, ago_ticks(86400))
    chart.resize(220, 180)
    shown = chart.x_labels_shown()
    assert shown[-1] == "now" and 1 < len(shown) < 7


def test_the_legend_shows_each_name_in_its_curves_colour(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    first = chart.add_curve("in", series_colour(1))
    second = chart.add_curve("out <b>", series_colour(5))
    text = legend_html([("in", first), ("out <b>", second)])
    orange, purple = series_colour(1).name(), series_colour(5).name()
    assert curve_colour(first) == orange and orange in text and purple in text
    assert "out &lt;b&gt;" in text
    assert "&nbsp;in &nbsp;<span" in text  # entries break between them, never inside one
