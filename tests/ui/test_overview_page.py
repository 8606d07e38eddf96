"""The Overview page's live charts and provider health, fed by a real running gateway.

Traffic goes through the real paths that publish RequestFinished: a gateway request over
HTTP to the scripted upstream (Anthropic dialect, which reports cache reads and writes), and
flight-recorder records started and finished through the engine. Everything runs on a qasync
loop, offscreen; waits are awaited and bounded, never blocking sleeps.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QMouseEvent
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import PathLabel
from llmgw_desktop.ui.main_window import DEFAULT_SIZE, MainWindow
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.chart_scale import clock_span, value_text
from llmgw_desktop.ui.pages.overview import CHARTS_AFTER_PAINT_MS, OverviewPage
from llmgw_desktop.ui.pages.overview_charts import LiveCharts, moment_range
from llmgw_desktop.ui.pages.provider_health import FIGURES, STATUS
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import (
    QApplication,
    QCheckBox,
    QEvent,
    QFrame,
    QLabel,
    QPointF,
    QScrollArea,
    Qt,
    QTimer,
    QToolTip,
)
from llmgw_desktop.ui.theme import error_colour, tone_colour
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    Reply,
    ScriptedUpstream,
)
from tests.ui.desk_gateway import Desk as GatewayDesk
from tests.ui.desk_gateway import OnGateway, OnWindow, post_messages
from tests.ui.input_events import wheel
from tests.waiting import until

RECORDED_REQUESTS = 40
SDK_CALLS = 3
ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 120.0
# The desktop app in a fresh interpreter, offscreen, its window opening on the Jobs page (as it
# does for a person who left it there): up and painted, then the Overview shown until its
# charts are built and painted, then quit. It prints the chart libraries loaded before and
# after. Every wait is bounded (WINDOW_WAIT_TURNS x 50 ms).
SHOW_OVERVIEW = """
import asyncio, json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.ui.event_loop import GatewayEventLoop
from llmgw_desktop.ui.qt import QApplication

WINDOW_WAIT_TURNS = 600
SETTLE_TURNS = 10  # half a second on the Jobs page: longer than the charts' wait after a paint

def chart_libraries():
    return sorted({m.split(".")[0] for m in sys.modules} & {"pyqtgraph", "numpy"})

app = QApplication([])
loaded = load_settings()
data = loaded.settings.data_path
data.mkdir(parents=True, exist_ok=True)
(data / "ui.ini").write_text("[General]\\npage=jobs\\n")
lock = InstanceLock(data)
assert lock.acquire()
desktop = DesktopApp(loaded, lock)

async def scenario():
    run = asyncio.get_running_loop().create_task(desktop.run())
    for _ in range(WINDOW_WAIT_TURNS):
        if desktop.window is not None and desktop.window.isVisible():
            break
        await asyncio.sleep(0.05)
    window = desktop.window
    window.grab()
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0.05)
    before = {
        "page": window.current_page.KEY,
        "built": window.overview.charts_built,
        "loaded": chart_libraries(),
    }
    window.show_page("overview")
    for _ in range(WINDOW_WAIT_TURNS):
        if window.overview.charts_built:
            break
        await asyncio.sleep(0.05)
    charts = window.overview.charts
    charts.redraw()
    window.grab()
    report = {
        "before": before,
        "charts": len(charts.plot_widgets),
        "shown": all(plot.isVisible() for plot in charts.plot_widgets),
        "loaded": chart_libraries(),
    }
    desktop.request_quit()
    await run
    return report

loop = GatewayEventLoop(app)
asyncio.set_event_loop(loop)
with loop:
    print(json.dumps(loop.run_until_complete(scenario())))
lock.release()
"""
CELL_MARGINS = 6  # px a table cell keeps beside its text (Fusion: focus frame margin + 1, twice)


@dataclass(frozen=True)
class Desk:
    """A started gateway pointed at the scripted upstream, and an Overview page on it (not
    shown: each test shows it when it needs)."""

    runtime: GatewayRuntime
    page: OverviewPage
    upstream: ScriptedUpstream


# `on_overview(body)`: `await body(desk)` (see the fixture).
OnOverview = Callable[[Callable[[Desk], Awaitable[None]]], None]


@pytest.fixture
def on_overview(on_gateway: OnGateway, qtbot: QtBot) -> OnOverview:
    """`on_overview(body)`: an Overview page on a desk gateway (no CLI on PATH: the health
    table's version checks answer at once); `await body(desk)`."""

    def run(body: Callable[[Desk], Awaitable[None]]) -> None:
        async def on_page(gateway: GatewayDesk) -> None:
            context = PageContext(
                bridge=gateway.bridge, actions=gateway.actions, facts=gateway.facts
            )
            page = OverviewPage(context)
            qtbot.addWidget(page)
            try:
                await body(Desk(gateway.runtime, page, gateway.upstream))
            finally:
                page.page_hidden()

        on_gateway(on_page)

    return run


def _last_value(curve: Any) -> float:
    _x, y = curve.data()
    finite = [v for v in y if not math.isnan(v)]
    return float(finite[-1]) if finite else 0.0


def _peak(curve: Any) -> float:
    """The highest point: the traffic's bucket, even after a newer, empty bucket has begun
    (on a loaded machine the wait for a redraw can cross a bucket's end)."""
    _x, y = curve.data()
    return max((v for v in y if not math.isnan(v)), default=0.0)


async def _gateway_request(runtime: GatewayRuntime, expect: int | None = 200) -> None:
    await post_messages(runtime, expect=expect)


def _record_requests(runtime: GatewayRuntime, count: int) -> None:
    recorder = runtime.engine.recorder
    for n in range(count):
        record = recorder.start(principal="local", provider="codex", caller="test", model="gpt-5")
        recorder.finish(record, state="completed", input_tokens=100 + n, output_tokens=10)


def test_charts_show_live_traffic_after_the_timer_and_switch_windows(
    on_overview: OnOverview,
) -> None:
    async def body(desk: Desk) -> None:
        page, charts = desk.page, desk.page.charts
        page.show()
        page.page_shown()
        assert charts.running
        assert "No requests" in charts.totals_label.text()
        drawn = charts.redraws

        await _gateway_request(desk.runtime)
        _record_requests(desk.runtime, RECORDED_REQUESTS)
        # Events alone never redraw: the timer does, one chart per quarter second.
        assert charts.redraws == drawn
        await until(
            lambda: "anthropic" in charts.hit_curves and _peak(charts.requests_curve) > 0,
            "a timed redraw of every chart",
        )
        assert charts.redraws > drawn

        assert _peak(charts.requests_curve) > 0
        assert _peak(charts.input_curve) > 0
        hit = _last_value(charts.hit_curves["anthropic"])
        prompt = ANTHROPIC_INPUT_TOKENS + ANTHROPIC_CACHE_READ_TOKENS
        prompt += ANTHROPIC_CACHE_CREATION_TOKENS
        assert hit == pytest.approx(100 * ANTHROPIC_CACHE_READ_TOKENS / prompt)
        assert _last_value(charts.hit_curves["codex"]) == 0.0
        assert f"{RECORDED_REQUESTS + 1} requests" in charts.totals_label.text()
        # 200 cache-read tokens on claude-sonnet at (3.00 - 0.30) USD per million.
        assert "$0.0005" in charts.savings_label.text()
        assert "list prices" in charts.savings_label.text()
        series = desk.runtime.engine.metrics.series("15m")
        assert series.total.saved_usd == pytest.approx(200 * 2.70 / 1_000_000)

        x, _ = charts.requests_curve.data()
        assert len(x) == 180
        charts.set_window("24h")
        assert charts.window_key == "24h"
        x, _ = charts.requests_curve.data()
        assert len(x) == 288
        assert "Last 24 h" in charts.totals_label.text()
        assert _peak(charts.requests_curve) > 0

        page.page_hidden()
        assert not charts.running

    on_overview(body)


def test_provider_health_lists_every_provider_with_true_status_switches_and_circuits(
    on_overview: OnOverview, tmp_path: Path
) -> None:
    async def body(desk: Desk) -> None:
        page, engine = desk.page, desk.runtime.engine
        health = page.health
        assert set(health.rows) == {state.id for state in engine.providers.states()}
        assert {"claude", "anthropic", "openai", "mistral", "mistral-api", "ollama"} <= set(
            health.rows
        )
        page.show()
        page.page_shown()

        # An uninstalled CLI says so; it has no switch (none would help), and it is folded
        # away until asked for: the table opens on what can answer.
        await until(lambda: health.cell("claude", "Status") == "Not installed", "the CLIs")
        assert health.cell("claude", "Switch") == "—"
        assert "claude" not in health.switch_cells.switches
        assert health.isRowHidden(health.rows["claude"])
        assert page.unfold_button.isVisible() and "more that cannot answer" in (
            page.unfold_button.text()
        )
        page.unfold_button.click()
        assert not health.isRowHidden(health.rows["claude"])
        page.unfold_button.click()
        # API providers with true figures: one served request, one without a key.
        await _gateway_request(desk.runtime)
        await until(lambda: health.cell("anthropic", "Calls 15 min") == "1", "the count")
        # Its figures right-aligned, headings too, as on every other list (review 41-3,
        # finding 11: calls, failed calls and latency were the window's left-aligned ones).
        right = Qt.AlignmentFlag.AlignRight
        for column in FIGURES:
            item = health.item(health.rows["anthropic"], column)
            assert item is not None and Qt.AlignmentFlag(item.textAlignment()) & right
            heading = health.horizontalHeaderItem(column)
            assert heading is not None and Qt.AlignmentFlag(heading.textAlignment()) & right
        assert health.cell("anthropic", "Status") == "Ready"
        assert (health.cell("anthropic", "Kind"), health.cell("anthropic", "Switch")) == (
            "API",
            "on",
        )
        assert health.cell("openai", "Status") == "No API key"
        assert health.cell("ollama", "Kind") == "Local"

        # Calls failing with a lasting code: the status says so, in red.
        desk.upstream.script(Reply.error(401))
        await _gateway_request(desk.runtime, expect=None)
        await until(lambda: health.cell("anthropic", "Status").startswith("Key refused"), "refused")
        assert "answered 401" in health.cell("anthropic", "Status")
        assert health.colour("anthropic", "Status") == error_colour()
        await _gateway_request(desk.runtime)  # a later success clears it: ready, and its
        # failure in the window's figures said beside it, in amber (review 41-3, finding 4)
        ready = "Ready, 1 recent failure"
        await until(lambda: health.cell("anthropic", "Status") == ready, "recovered")
        assert health.colour("anthropic", "Status") == tone_colour("warning")  # one status cell

        # Switched off with its switch in the table (the Overview's only switches): every
        # view follows.
        switch = health.switch_cells.switches["anthropic"]
        assert switch.isChecked() and switch.text() == "on"
        switch.click()
        assert not engine.providers.is_enabled("anthropic")
        assert not desk.page.context.actions.providers["anthropic"].isChecked()
        await until(lambda: health.cell("anthropic", "Switch") == "off", "switch shown")
        await until(lambda: health.cell("anthropic", "Status").startswith("Switched off"), "status")
        assert switch.text() == "off"
        switch.click()
        assert engine.providers.is_enabled("anthropic")
        engine.providers.set_paused(OPERATOR, True)
        await until(lambda: health.cell("anthropic", "Switch") == "on (paused)", "pause")
        assert page.pause_switch.isChecked()  # the Gateway box's switch says it too
        engine.providers.set_paused(OPERATOR, False)

        # An open circuit: red, with the time it retries.
        breaker = engine.calls.breakers["codex"]
        for _ in range(breaker.threshold):
            breaker.record_failure(ProviderFailure("boom", code=ErrorCode.PROVIDER_ERROR))
        await until(lambda: health.cell("codex", "Circuit").endswith("(open)"), "circuit")
        assert health.cell("codex", "Circuit").startswith("calls refused until ")
        assert health.colour("codex", "Circuit") == error_colour()
        page.grab().save(str(tmp_path / "overview.png"))

    on_overview(body)


def _record_outcomes(runtime: GatewayRuntime, provider: str, failed: list[bool]) -> None:
    """Calls to `provider` ended through the flight recorder, as the gateway ends them: each
    `True` one failed with the upstream's 500."""
    recorder = runtime.engine.recorder
    for fails in failed:
        record = recorder.start(principal="local", provider=provider, caller="test", model="m")
        if fails:
            recorder.finish(record, state="failed", error_code="upstream_500")
        else:
            recorder.finish(record, state="completed", input_tokens=10, output_tokens=5)


def test_a_rows_status_counts_the_calls_its_calls_cell_counts(on_overview: OnOverview) -> None:
    """A row's status counts the calls its Calls and Failed cells count, from the same read of
    the live figures on the same tick (never the engine's count at the last load: "2 of 14"
    beside 16 calls), and so does the Providers line's verdict."""

    async def body(desk: Desk) -> None:
        page, runtime = desk.page, desk.runtime
        health = page.health
        page.show()
        page.page_shown()
        await until(lambda: health.cell("anthropic", "Status") == "Ready", "ready")
        # Two of fourteen failed, the last answered: some calls fail, not failing.
        _record_outcomes(runtime, "anthropic", [False] * 10 + [True, False, True, False])
        health.request_refresh()
        await until(
            lambda: health.cell("anthropic", "Status").startswith("Some calls fail"), "the row"
        )
        assert health.cell("anthropic", "Status") == (
            "Some calls fail: 2 of 14 calls failed in 15 min"
        )
        # Two more answered: the Overview's next tick counts them, before the rows load again
        # (no await between: no load can run).
        _record_outcomes(runtime, "anthropic", [False, False])
        page.refresh_status()
        assert health.cell("anthropic", "Calls 15 min") == "16"
        assert health.cell("anthropic", "Failed 15 min") == "2 (12%)"
        status = health.cell("anthropic", "Status")
        assert status == "Some calls fail: 2 of 16 calls failed in 15 min", status
        item = health.item(health.rows["anthropic"], STATUS)
        assert item is not None and item.toolTip() == status
        assert health.colour("anthropic", "Status") == tone_colour("warning")
        # The Providers line under the table counts as the row does.
        failing = page.failing_label.accessibleName()
        assert failing.startswith("Anthropic (some calls fail): 2 of 16 calls failed"), failing
        assert failing.splitlines()[-1].startswith("2 of 16 calls to providers failed")
        # The next load, with its own verdict, says the same.
        health.request_refresh()
        await until(lambda: health.cell("anthropic", "Status") == status, "loaded again")

    on_overview(body)


def test_a_long_store_problem_wraps_in_amber_and_refusals_add_up(on_overview: OnOverview) -> None:
    """Seen on screen: sqlite's long damage message widened the page past the window (the
    Providers box and half the charts scrolled off), the degraded status looked like any other,
    and the Refused line named 9 of 10 refusals."""

    async def body(desk: Desk) -> None:
        page, engine = desk.page, desk.runtime.engine
        page.resize(980, 680)
        page.show()
        page.page_shown()
        damage = (
            "integrity: "
            + "*** in database main *** On tree page 12 cell 3: Rowid out of order " * 6
        )
        engine.store.health.report("integrity", damage)
        for code, count in (("401 unauthorized", 4), ("429 rate_limited", 3), ("403 forbidden", 2)):
            status, name = code.split(" ")
            for _ in range(count):
                engine.refusals.count("127.0.0.1", "/v1", int(status), name)
        engine.refusals.count("127.0.0.1", "/v1", 413, "too_large")
        page.refresh_status()
        await until(lambda: "degraded" in page.status_label.text(), "the degraded status")

        status = page.status_label
        assert status.wordWrap()
        assert "…" in status.text() and len(status.text()) < 300
        assert engine.store.health.reason in status.toolTip()  # the whole reason on hover
        assert status.styleSheet()  # amber, not plain text
        assert page.sizeHint().width() <= 980 or page.minimumSizeHint().width() <= 980
        assert status.minimumSizeHint().width() < 980
        refused = page.refused_label.text()
        assert refused.startswith("10 since start")
        assert "4 × no or wrong gateway key (401 unauthorized)" in refused and "1 other" in refused
        # The response cache is off by default, and the line says how to turn it on.
        assert page.response_cache_label.text().startswith("off ([cache] enabled = true")

    on_overview(body)


def test_at_the_default_size_the_figures_and_charts_are_above_the_fold_and_legends_clear_the_data(
    on_window: OnWindow, tmp_path: Path
) -> None:
    """Issue 54.2: the first screen was a table of text with the charts below the fold. The
    four figures and the charts are seen without scrolling, provider health right under them;
    no duplicate grid of check boxes; each chart's legend on its own line inside its frame
    (beside the title it ran into the next chart's title); paths never broken mid-word. Seen on
    screen before: the page was wider than the window, and the cache-hit chart drew dashes
    with its legend over the newest points."""

    async def body(desk: GatewayDesk, window: MainWindow) -> None:
        facts = desk.facts
        assert (window.width(), window.height()) == DEFAULT_SIZE
        page = window.overview
        await _gateway_request(desk.runtime)
        _record_requests(desk.runtime, 3)
        charts = page.charts
        await until(lambda: "anthropic" in charts.hit_curves, "the cache-hit curves")
        await until(lambda: _last_value(charts.hit_curves["anthropic"]) > 0, "a hit rate drawn")

        scroll = page.findChild(QScrollArea)
        viewport = scroll.viewport()
        health = page.health
        await until(lambda: health.cell("anthropic", "Status") == "Ready", "the health rows")
        _assert_first_screen(page)
        last_chart = charts.plot_widgets[-1]
        charts_end = last_chart.mapTo(viewport, last_chart.rect().bottomLeft()).y()
        assert health.mapTo(viewport, health.rect().topLeft()).y() > charts_end
        # No grid of provider check boxes: the only toggles are the health table's switches.
        assert all(isinstance(box, Switch) for box in page.findChildren(QCheckBox))
        assert not scroll.horizontalScrollBar().isVisible()
        # Each legend sits under its own title, inside its chart's frame.
        for legend, plot in zip(charts._legends, charts.plot_widgets, strict=True):
            frame = plot.parentWidget()
            assert legend.parentWidget() is frame and frame.frameShape() == QFrame.Shape.StyledPanel
            title = next(w for w in frame.findChildren(QLabel) if w is not legend and w.text())
            assert legend.geometry().top() >= title.geometry().bottom()
            assert legend.geometry().bottom() <= plot.geometry().top()
        # The log's path is one line, cut in the middle if it must be, whole in its tooltip.
        log = next(w for w in page.findChildren(PathLabel) if w.path == str(facts.log_file))
        assert "\n" not in log.text() and log.toolTip() == str(facts.log_file)
        assert log.fontMetrics().horizontalAdvance(log.text()) <= log.width()

        # The totals line wraps: a longer one never widens the page and resizes the four plots
        # (each resize lays pyqtgraph's axes and views out again: 20-50 ms stalls under load).
        widths = [chart.width() for chart in charts.plot_widgets]
        totals = charts.totals_label
        # Paused: a round of the charts' timer writes the true (short) totals back, and under
        # load one came before the layout pass, so the long line was never laid out.
        charts.stop()
        totals.setText(
            "Last 15 min: 1,234,567 requests · 123,456 errors (10%) · 1,234.5M prompt tokens"
            " (987.6M fresh) · 123.4M out · prompt-cache hit rate 97% · cost $12,345.678901"
            " (reported or estimated)"
        )
        two_lines = 2 * totals.fontMetrics().lineSpacing()
        await until(lambda: totals.height() >= two_lines, "the long totals line laid out")
        assert [chart.width() for chart in charts.plot_widgets] == widths
        assert not scroll.horizontalScrollBar().isVisible()
        charts.start()  # the true totals again, and the timer

        # The cache-hit line is joined over quiet buckets (no NaN gaps).
        curve = charts.hit_curves["anthropic"]
        _x, y = curve.data()
        assert len(y) and not any(math.isnan(v) for v in y)
        # Its legend names each provider in its colour, and is not over the newest point.
        plot = charts.plot_widgets[3]
        legend = charts.hits_legend
        assert "Anthropic" in legend.text() and curve.colour.name() in legend.text()
        x, y = curve.data()
        newest = plot.mapToGlobal(plot.map_point(x[-1], y[-1]).toPoint())
        shown = legend.rect().translated(legend.mapToGlobal(legend.rect().topLeft()))
        assert legend.isVisible() and not shown.contains(newest)
        window.grab().save(str(tmp_path / "overview-default-size.png"))

        # A failing provider and an open circuit: no state word is cut or wrapped.
        engine = desk.runtime.engine
        desk.upstream.script(Reply.error(401))
        await _gateway_request(desk.runtime, expect=None)
        breaker = engine.calls.breakers["codex"]
        for _ in range(breaker.threshold):
            breaker.record_failure(ProviderFailure("boom", code=ErrorCode.PROVIDER_ERROR))
        await until(lambda: health.cell("anthropic", "Status").startswith("Key refused"), "refused")
        await until(lambda: health.cell("codex", "Circuit").endswith("(open)"), "open circuit")
        scroll.widget().grab().save(str(tmp_path / "overview-whole.png"))
        metrics = health.fontMetrics()
        for row in range(health.rowCount()):
            if health.isRowHidden(row):
                continue  # folded away (cannot answer): measured when shown
            for column in range(health.columnCount()):
                if health.isColumnHidden(column):
                    continue  # given way for the status's reason: the hint above says so
                text = health.cell_text(row, column)
                # The Status column stretches: its reason may be cut (it is in the tooltip),
                # never the state word before it.
                word = text.split(":")[0] if column == STATUS else text
                room = health.columnWidth(column) - CELL_MARGINS
                assert metrics.horizontalAdvance(word) <= room, (word, room)
        # At the default size even the open circuit's retry time fits without sideways scrolling.
        assert health.horizontalHeader().length() <= health.viewport().width()
        assert not health.wordWrap() or all(
            health.rowHeight(row) <= health.verticalHeader().defaultSectionSize()
            for row in range(health.rowCount())
        )

    on_window(body)


def _assert_first_screen(page: OverviewPage) -> None:
    """The four figures and the four charts wholly inside the scroll area's visible part."""
    viewport = page.findChild(QScrollArea).viewport()
    for widget in [*page.figures.cards.values(), *page.charts.plot_widgets]:
        top = widget.mapTo(viewport, widget.rect().topLeft()).y()
        bottom = widget.mapTo(viewport, widget.rect().bottomLeft()).y()
        assert top >= 0 and bottom <= viewport.height(), (widget.objectName(), bottom)
        assert widget.isVisible() and widget.height() > 0


@pytest.mark.parametrize("size", [(1120, 740), (1024, 700)])
def test_the_first_screen_answers_is_it_working_what_it_costs_and_what_fails(
    size: tuple[int, int], on_window: OnWindow
) -> None:
    """Issue 54.2: large figures at the top say whether it works, what today cost, what fails
    and what is stuck, each opening its place; the charts follow, seen without scrolling at
    1120x740 and 1024x700; the page's title sits where every other page's does."""

    async def body(desk: GatewayDesk, window: MainWindow) -> None:
        page = window.overview
        await _gateway_request(desk.runtime)
        desk.upstream.script(Reply.error(500))
        await _gateway_request(desk.runtime, expect=None)
        page.charts.redraw()
        await until(lambda: window.header.spend is not None, "today's spend read")
        await window.header.refresh_spend()
        page.refresh_status()
        cards = page.figures.cards
        assert cards["gateway"].value.text() == "Working"
        spent = cards["spend"].value.text()
        assert spent.startswith("$") and spent in window.header.chips["spend"].text()
        failing = cards["failing"].detail.text()
        assert failing.endswith("failed (50%) in 15 min: Anthropic 1"), failing
        assert cards["stuck"].value.text() == "None"
        _assert_first_screen(page)
        # The title where the Playground's is: nothing jumps when switching pages.
        title = page.findChild(QLabel, "pageTitle")
        playground = window.pages["playground"]
        window.show_page("playground")
        other = playground.findChild(QLabel, "pageTitle")
        assert title.mapTo(window, title.rect().topLeft()) == other.mapTo(
            window, other.rect().topLeft()
        )
        window.show_page("overview")
        # A figure opens its place.
        cards["stuck"].clicked.emit()
        assert window.current_page.KEY == "jobs"
        window.show_page("overview")
        cards["spend"].clicked.emit()
        assert window.current_page.KEY == "budgets"

    on_window(body, size=size)


def test_pyqtgraph_and_numpy_load_only_when_the_overview_charts_are_first_shown(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    """pyqtgraph and the numpy it needs are about 38 MB of the desktop's memory: a window on
    another page (as a tray-only start, which shows no page at all) holds neither, and the
    Overview loads them with its charts."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", SHOW_OVERVIEW],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        cwd=ROOT,
        # No CLI on PATH: the health table's version checks answer at once.
        env={**os.environ, "PYTHONPATH": str(ROOT), "PATH": str(empty)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["before"] == {"page": "jobs", "built": False, "loaded": []}
    assert report["charts"] == 4 and report["shown"]  # built and shown
    assert report["loaded"] == ["numpy", "pyqtgraph"]


def _send_mouse(widget: Any, kind: QEvent.Type, where: QPoint, *, button: Any = None) -> None:
    """A mouse event delivered straight to `widget` (no nested event loop, unlike QTest's
    mouse move)."""
    pressed = Qt.MouseButton.LeftButton if button is not None else Qt.MouseButton.NoButton
    buttons = pressed if kind == QEvent.Type.MouseButtonPress else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        QPointF(where),
        QPointF(widget.mapToGlobal(where)),
        pressed,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def _click(widget: Any, where: QPoint) -> None:
    _send_mouse(widget, QEvent.Type.MouseMove, where)
    _send_mouse(widget, QEvent.Type.MouseButtonPress, where, button=True)
    _send_mouse(widget, QEvent.Type.MouseButtonRelease, where, button=True)


def _drag(widget: Any, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """Press the left button at `start`, move to `end` with it held, release there."""
    held = Qt.MouseButton.LeftButton
    _send_mouse(widget, QEvent.Type.MouseMove, start)
    _send_mouse(widget, QEvent.Type.MouseButtonPress, start, button=True)
    for step in range(1, steps + 1):
        at = start + (end - start) * step / steps
        event = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(at),
            QPointF(widget.mapToGlobal(at)),
            Qt.MouseButton.NoButton,
            held,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(widget, event)
    _send_mouse(widget, QEvent.Type.MouseButtonRelease, end, button=True)


def test_chart_points_show_their_bucket_on_hover_zoom_and_open_the_recorder_on_click(
    on_window: OnWindow,
) -> None:
    """Official SDK traffic through the real gateway: the request chart holds the engine's
    bucket values, a hover names a point's time and exact values, the wheel zooms and a drag
    pans all four charts along time (and Reset zoom undoes it), and a click opens the Flight
    recorder at that moment; a click on the errors line lists the failed requests only."""

    async def body(desk: GatewayDesk, window: MainWindow) -> None:
        overview = window.overview
        charts = overview.charts
        client = anthropic.AsyncAnthropic(
            base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
        )
        for _ in range(SDK_CALLS):
            await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=16,
                messages=[{"role": "user", "content": "hi"}],
            )
        desk.upstream.script(Reply.error(500))
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=16,
                messages=[{"role": "user", "content": "hi"}],
            )
        # Until every call is in a bucket that has closed (the newest one's rate is over the
        # time it has run so far): then each point is its bucket's count over 5 s.
        await until(
            lambda: _peak(charts.errors_curve) > 0 and charts.requests_curve.data()[1][-1] == 0,
            "the calls charted in closed buckets",
        )
        # Hold the charts still: one reading of the engine's buckets.
        charts.stop()
        charts.redraw()
        plot = charts.plot_widgets[0]
        bucket = plot.bucket_s
        assert bucket == 5.0 and plot.unit == "rate"
        xs, ys = charts.requests_curve.data()
        assert len(xs) == 180 and xs[-1] == -bucket
        assert all(float(round(y * bucket)) == y * bucket for y in ys)  # whole requests
        assert round(sum(ys) * bucket) == SDK_CALLS + 1
        _, errors = charts.errors_curve.data()
        assert round(sum(errors) * bucket) == 1
        assert charts.errors_curve.colour.name() == error_colour()

        # Hover the newest bucket with requests: its time and exact values.
        index = max(i for i, y in enumerate(ys) if y > 0)
        x, y = xs[index], ys[index]
        where = plot.map_point(x, y).toPoint()
        _send_mouse(plot.viewport(), QEvent.Type.MouseMove, where)
        start = plot.origin + x
        text = plot.hover_text
        assert text.splitlines()[0].startswith(clock_span(start, bucket))
        assert f"requests: {value_text('rate', y, bucket)}" in text.splitlines()
        assert f"failed: {value_text('rate', errors[index], bucket)}" in text.splitlines()
        assert f"{round(y * bucket)} in 5 s" in text
        assert QToolTip.text() == text

        # The wheel zooms every chart along time together; y stays the timer's.
        y_range = plot.view.viewRange()[1]
        assert not charts.reset_button.isEnabled()
        wheel(plot.viewport(), 3, where)  # positive: zoom in, as pyqtgraph reads it
        low, high = plot.x_range()
        assert high - low < 900 and charts.zoomed
        assert all(other.x_range() == (low, high) for other in charts.plot_widgets)
        assert plot.view.viewRange()[1] == y_range
        assert charts.reset_button.isEnabled()
        # A drag to the right pans to earlier times: the same span, all four charts along.
        # pyqtgraph drops moves closer together than its rate limit (a person's hand is slower
        # than these events, sent back to back): off for the drag.
        import pyqtgraph

        limit = pyqtgraph.getConfigOption("mouseRateLimit")
        pyqtgraph.setConfigOptions(mouseRateLimit=0)
        try:
            _drag(plot.viewport(), where, where + QPoint(120, 0))
        finally:
            pyqtgraph.setConfigOptions(mouseRateLimit=limit)
        earlier = plot.x_range()
        assert earlier[0] < low and earlier[1] < high
        assert earlier[1] - earlier[0] == pytest.approx(high - low)
        assert all(other.x_range() == earlier for other in charts.plot_widgets)
        assert plot.view.viewRange()[1] == y_range
        charts.reset_button.click()
        # Back home: the span since the first request (the gateway is seconds old), not a
        # 15-minute window flat at zero but for its last sliver.
        assert plot.home_s < 900 and plot.x_range() == (-float(plot.home_s), 0.0)
        assert not charts.zoomed and charts.since_label.text().startswith("zoomed in to the last")
        assert not charts.reset_button.isEnabled()
        # Scrolled out to the whole window, the caption no longer says it is zoomed in (a
        # review read "zoomed in to the last 1 min" there); back home, it does again.
        plot.set_x_range(-900.0, 0.0)
        assert charts.since_label.text() == ""
        charts.reset_zoom()
        assert charts.since_label.text().startswith("zoomed in to the last")

        # A click on the point: the Flight recorder, filtered to that moment.
        _click(plot.viewport(), plot.map_point(x, y).toPoint())
        recorder = window.pages["recorder"]
        assert isinstance(recorder, RecorderPage)
        assert window.current_page is recorder
        filters = recorder.current_filters()
        since, until_s = moment_range(start, bucket)
        assert (filters.since, filters.until) == (since, until_s)
        assert not filters.failed_only and filters.provider is None
        assert recorder.range_box.currentText() == "Custom range"
        await until(lambda: recorder.model.total is not None, "the recorder's count")
        await until(lambda: recorder.model.loaded == recorder.model.total, "its rows")
        rows = [recorder.model.summary(r) for r in range(recorder.model.loaded)]
        assert rows and all(since <= row.started_at < until_s for row in rows if row)
        assert recorder.model.total >= round(y * bucket)

        # A click on the errors line lists the failed requests of that moment.
        window.show_page("overview")
        charts.stop()
        # Read again: shown, the page redrew its charts from the engine's buckets, a bucket on
        # if one closed meanwhile (under load the points above moved; the click missed them).
        xs, _ = charts.requests_curve.data()
        _, errors = charts.errors_curve.data()
        failed = max(i for i, v in enumerate(errors) if v > 0)
        red = plot.map_point(xs[failed], errors[failed]).toPoint()
        _click(plot.viewport(), red)
        assert window.current_page is recorder
        assert recorder.current_filters().failed_only
        await until(lambda: recorder.model.total == 1, "the one failed request")
        await client.close()

    on_window(body)


def test_the_charts_wait_for_the_page_to_be_painted(on_overview: OnOverview) -> None:
    """pyqtgraph's import (a third of a second of CPU) came before the launch's first frame
    about half the time on a busy machine: a timer from the page being shown raced the paint
    (issue 42). The charts' cue is now the first paint of the space kept for them."""

    async def body(desk: Desk) -> None:
        page = desk.page
        page.page_shown()  # shown as far as the page knows, but nothing painted it yet
        # Four times the wait after a paint: long past when the old timer built them.
        await asyncio.sleep(4 * CHARTS_AFTER_PAINT_MS / 1000)
        assert page.findChild(LiveCharts) is None and not page.charts_built
        page.show()  # painted now (offscreen)
        frame = await until(lambda: page.findChild(LiveCharts), "the charts after the paint")
        await until(lambda: len(frame.plot_widgets) == 4 and frame.running, "all four")

    on_overview(body)


def test_the_charts_are_built_one_plot_per_turn_of_the_loop_then_run(
    on_overview: OnOverview,
) -> None:
    """Building the four plots at once held the loop for 52-69 ms on the first show (issue
    25): the page builds one per turn, so the gateway's requests get turns in between."""

    async def body(desk: Desk) -> None:
        page = desk.page
        seen: list[int] = []
        sampler = QTimer()
        sampler.setInterval(0)  # once per turn of the loop

        def sample() -> None:
            frame = page.findChild(LiveCharts)
            seen.append(-1 if frame is None else len(frame.plot_widgets))

        sampler.timeout.connect(sample)
        sampler.start()
        page.show()
        page.page_shown()
        try:
            frame = await until(lambda: page.findChild(LiveCharts), "the charts' frame")
            await until(lambda: len(frame.plot_widgets) == 4 and frame.running, "all four")
        finally:
            sampler.stop()
        built = [n for n in seen if n >= 0]
        # The first turn that saw the frame saw it partly built: not all four in one turn.
        assert built[0] < 4 and built == sorted(built) and built[-1] == 4, built
        assert page.charts is frame and len(frame.plot_widgets) == 4

    on_overview(body)
