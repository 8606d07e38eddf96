"""The Overview's time charts: their numbers as plain functions (`chart_scale.py`), and the
pyqtgraph widget (`time_chart.py`) read back offscreen: colours, the look, a lone point,
hover text, zoom limits and the click that names a moment."""

from __future__ import annotations

import math
import zlib

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.pages.chart_scale import (
    MAX_Y_INTERVALS,
    ago_label,
    ago_spacing,
    fixed_colour_index,
    home_span,
    nice_ceiling,
    tick_labels,
    value_text,
    y_ticks,
)
from llmgw_desktop.ui.pages.overview_charts import MOMENT_LEAD_S, legend_html, moment_range
from llmgw_desktop.ui.pages.time_chart import HEADROOM, TimeChart, series_colour
from llmgw_desktop.ui.qt import QPalette, Qt
from llmgw_desktop.ui.theme import DARK, palette_for

RED = "#e15759"  # series colour 2
SIZE = (400, 180)
ORIGIN = 1_800_000_000.0  # x = 0 on the charts below, as a wall-clock time


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
    assert tick_labels(y_ticks(20_000)) == ["0", "5k", "10k", "15k", "20k"]
    assert tick_labels(y_ticks(0.005)) == ["0", "0.001", "0.002", "0.003", "0.004", "0.005"]
    assert tick_labels(y_ticks(5e7))[-1] == "50M"
    assert tick_labels([0.0]) == ["0"]


def test_the_time_axis_says_how_long_ago_in_round_steps_finer_when_zoomed() -> None:
    # The whole window: the round minutes or hours it always had.
    assert ago_spacing(900, 900) == (300, 60)
    assert ago_spacing(3600, 3600) == (900, 300)
    assert ago_spacing(86400, 86400) == (14400, 3600)
    assert ago_spacing(600, 600) == (200, 40)  # a window without its own row
    # Zoomed in: at most five steps of a round length, minor ticks dividing each.
    assert ago_spacing(200, 900) == (60, 15)
    assert ago_spacing(40, 900) == (10, 2)
    assert ago_spacing(7200, 86400) == (1800, 600)
    assert ago_label(0) == "now"
    assert ago_label(-45) == "45 s ago"
    assert ago_label(-300) == "5 min ago"
    assert ago_label(-150) == "2 min 30 s ago"
    assert ago_label(-14400, hours=True) == "4 h ago"
    assert ago_label(-1800, hours=True) == "30 min ago"


def test_a_hover_says_a_rate_with_its_count_a_level_and_a_percentage() -> None:
    assert value_text("rate", 0.2, 5) == "0.2/s, 1 in 5 s"
    assert value_text("rate", 1234.4, 5) == "1,234/s, 6,172 in 5 s"
    assert value_text("rate", 0.9, 5, filling=True) == "0.9/s so far"  # newest bucket
    assert value_text("level", 3.0, 5) == "3"
    assert value_text("percent", 42.456, 5) == "42.5%"


def test_a_clicked_bucket_lists_the_requests_started_from_a_minute_before_it() -> None:
    assert moment_range(ORIGIN, 5) == (ORIGIN - MOMENT_LEAD_S, ORIGIN + 5)


def test_series_colours_are_ten_distinct_ones_then_round_again() -> None:
    names = [series_colour(i).name() for i in range(10)]
    assert len(set(names)) == 10
    assert series_colour(2).name() == RED
    assert series_colour(10).name() == names[0]


def _chart(qtbot: QtBot) -> TimeChart:
    chart = TimeChart("rate")
    qtbot.addWidget(chart)
    chart.resize(*SIZE)
    chart.origin = ORIGIN
    chart.set_window(900, 5)
    return chart


def test_the_chart_follows_the_light_and_dark_looks(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    base = chart.palette().color(QPalette.ColorRole.Base).name()
    image = chart.grab().toImage()
    assert image.pixelColor(chart.map_point(-450, 0.5).toPoint()).name() == base
    chart.setPalette(palette_for(Qt.ColorScheme.Dark))
    image = chart.grab().toImage()
    assert image.pixelColor(chart.map_point(-450, 0.5).toPoint()).name() == DARK.base
    axis = chart.axis("left")
    text = palette_for(Qt.ColorScheme.Dark).color(QPalette.ColorRole.Text).name()
    assert axis.textPen().color().name() == text != "#000000"


def test_a_line_is_drawn_in_its_colour_and_a_lone_point_is_a_dot(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    chart.set_top(1)
    line = chart.add_series("requests", series_colour(2), width=3)
    line.set_data([-600.0, -300.0], [0.5, 0.5])
    image = chart.grab().toImage()
    assert image.pixelColor(chart.map_point(-450, 0.5).toPoint()).name() == RED
    lone = chart.add_series("hit", series_colour(0))
    lone.set_data([-100.0, -50.0], [math.nan, 0.8])  # NaN points are left out
    assert lone.data() == ([-50.0], [0.8])
    assert lone.item.opts["symbol"] == "o"
    lone.set_data([-100.0, -50.0], [0.2, 0.8])
    assert lone.item.opts["symbol"] is None


def test_unchanged_points_and_ceilings_are_not_set_again(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    series = chart.add_series("requests", series_colour(0))
    series.set_data([-10.0, -5.0], [0.1, 0.2])
    calls: list[object] = []
    series.item.sigPlotChanged.connect(calls.append)
    series.set_data([-10.0, -5.0], [0.1, 0.2])  # an idle gateway's next redraw
    assert calls == []
    series.set_data([-10.0, -5.0], [0.1, 0.3])
    assert len(calls) == 1
    chart.set_top(2)
    view = chart.view
    assert view.viewRange()[1] == pytest.approx([0, 2 * HEADROOM])
    assert [v for v, _ in chart.axis("left")._tickLevels[0]] == y_ticks(2)


def test_zoom_stays_inside_the_window_and_resets_to_all_of_it(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    assert chart.x_range() == (-900.0, 0.0) and not chart.zoomed
    chart.set_x_range(-1200, 300)  # past either end: held to the window
    low, high = chart.x_range()
    assert low >= -900 and high <= 0
    chart.set_x_range(-100, -99)  # narrower than six buckets: held to six
    low, high = chart.x_range()
    assert high - low == pytest.approx(30) and chart.zoomed
    chart.reset_zoom()
    assert chart.x_range() == (-900.0, 0.0) and not chart.zoomed


def test_the_legend_shows_each_name_in_its_curves_colour(qtbot: QtBot) -> None:
    chart = _chart(qtbot)
    first = chart.add_series("in", series_colour(1))
    second = chart.add_series("out <b>", series_colour(5))
    text = legend_html([("in", first), ("out <b>", second)])
    orange, purple = series_colour(1).name(), series_colour(5).name()
    assert orange in text and purple in text
    assert "out &lt;b&gt;" in text
    assert "&nbsp;in &nbsp;<span" in text  # entries break between them, never inside one


def test_the_charts_open_on_the_round_span_their_data_covers(qtbot: QtBot) -> None:
    """Issue 41, review finding 13: a gateway up for 48 s showed 15 minutes flat at zero with
    all its data in the last 40 px; the charts open on the span since the first request."""
    assert home_span(None, 900) == 900  # no data: the whole window
    assert home_span(48, 900, 60) == 60
    assert home_span(100, 900) == 120
    # Gallery review, finding 9: by the minute at first ("Running for 2 min" stood beside a
    # five-minute axis, holding three minutes before the gateway started).
    assert home_span(130, 900) == 180
    assert home_span(700, 900) == 900  # nearly the window: the window
    assert home_span(5000, 86_400, 3600) == 7200
    chart = TimeChart("rate")
    chart.set_window(900, 5)
    chart.set_home(120)
    assert chart.x_range() == (-120.0, 0.0) and not chart.zoomed
    chart.set_x_range(-60, 0)  # a person zoomed in: the home moving on leaves it be
    chart.set_home(300)
    assert chart.x_range() == (-60.0, 0.0) and chart.zoomed
    chart.reset_zoom()
    assert chart.x_range() == (-300.0, 0.0)


def test_a_count_is_ticked_in_whole_numbers(qtbot: QtBot) -> None:
    """Gallery review, finding 9: the Active jobs axis had ticks at 0.5 and 1.5 jobs. A level
    (a count of jobs) is ticked in whole numbers; a rate keeps its fractions."""
    assert y_ticks(2.0, whole=True) == [0.0, 1.0, 2.0]
    assert y_ticks(1.0, whole=True) == [0.0, 1.0]
    assert y_ticks(2.0) == [0.0, 0.5, 1.0, 1.5, 2.0]
    chart = TimeChart("level")
    qtbot.addWidget(chart)
    chart.set_top(2.0)
    ticks = chart._axes["left"]._tickLevels[0]
    assert [value for value, _label in ticks] == [0.0, 1.0, 2.0]
    assert [label for _value, label in ticks] == ["0", "1", "2"]


def test_a_provider_keeps_its_colour_whatever_order_its_calls_come_in() -> None:
    """A person's pass (2026-11-30, F7): OpenAI's hit-rate line was blue in one run and orange
    in the next, its colour the order this process first met it. Its colour is its place among
    the providers the engine knows; a second line on that colour moves to the next free one."""
    known = ["claude", "codex", "anthropic", "openai", "groq"]

    def colours(order: list[str]) -> dict[str, int]:
        taken: dict[str, int] = {}
        for name in order:
            taken[name] = fixed_colour_index(name, known, taken.values())
        return taken

    assert colours(["openai", "groq"]) == colours(["groq", "openai"]) == {"openai": 3, "groq": 4}
    # One no longer known: by a checksum of its name, the same in every process (not hash()).
    assert fixed_colour_index("gone", known, ()) == zlib.crc32(b"gone") % 10
    # Eleven providers on ten colours: the last goes where no line is.
    many = [f"p{i}" for i in range(11)]
    assert fixed_colour_index("p10", many, set(range(10)) - {7}) == 7
