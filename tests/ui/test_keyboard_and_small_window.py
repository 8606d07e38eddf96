"""Every page of the real window, on a real gateway with real traffic, at 1024x700: Tab leaves
every table, every control a page shows is on its Tab chain, and no table column is narrower
than its header's text (issue 25: 60 Tabs never left the Jobs table; at 1024x700 the Budgets
name column shrank to "a… n…").

The focus chain is walked as a person walks it: Tab pressed on whatever has the focus, up to a
bound, until the focus comes back to where it started.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, KeyScope, KeySpec
from llmgw_desktop.ui.kit.column_hint import HiddenColumnsHint, hidden_words
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.notifications import NotificationsPage
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.pages.provider_health import ProviderHealthTable
from llmgw_desktop.ui.qt import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QBrush,
    QColor,
    QComboBox,
    QContextMenuEvent,
    QHeaderView,
    QLabel,
    QLineEdit,
    QModelIndex,
    QPlainTextEdit,
    Qt,
    QTableView,
    QWidget,
)
from llmgw_desktop.ui.theme import apply_theme, current_look, is_dark
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, desk_gateway, messages_request
from tests.ui.readings import accessible_name, contrast
from tests.ui.test_jobs_page import _wide_rows
from tests.waiting import until

SIZE = (1024, 700)
MAX_TABS = 400  # a bound on the walk; the longest page has far fewer stops
HEADER_PADDING = 6  # the header's own margins around its text, at the least
# The flight recorder is a wide log by design: it scrolls sideways (its headers still read whole).
NOT_YET_SIDEWAYS: frozenset[str] = frozenset()


def _visible(widget: QWidget, page: QWidget) -> bool:
    return widget.isVisibleTo(page) and widget.isVisible()


def _controls(page: QWidget) -> list[QWidget]:
    """What a person acts on: buttons, boxes, fields, tables and read-only panes shown."""
    found: list[QWidget] = []
    for kind in (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView, QPlainTextEdit):
        for widget in page.findChildren(kind):
            if not _visible(widget, page) or not widget.isEnabled():
                continue
            if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QComboBox):
                continue  # an editable box's own field: the box is the stop
            if isinstance(widget, QHeaderView) or widget.objectName() == "qt_scrollarea_viewport":
                continue
            corner = isinstance(widget.parent(), QLineEdit | QAbstractItemView)
            if type(widget).__name__ == "QToolButton" and corner:
                continue  # a field's clear button, a table's corner button
            found.append(widget)
    return found


def _owner(widget: QWidget | None, controls: list[QWidget]) -> QWidget | None:
    """The control `widget` belongs to (a table's viewport belongs to the table)."""
    while widget is not None:
        if widget in controls:
            return widget
        widget = widget.parentWidget()
    return None


def _walk(window: MainWindow, page: QWidget, qtbot: QtBot) -> list[QWidget]:
    """Tab from the page's first control until the focus returns; the focus stops, in order."""
    controls = _controls(page)
    if not controls:
        return []
    first = controls[0]
    first.setFocus(Qt.FocusReason.TabFocusReason)
    stops: list[QWidget] = []
    for _press in range(MAX_TABS):
        focused = QApplication.focusWidget()
        assert focused is not None, f"{page.objectName()}: the focus went nowhere"
        stops.append(focused)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
        if QApplication.focusWidget() is first and len(stops) > 1:
            return stops
    return stops


@pytest.fixture
def window_on_gateway(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    qtbot: QtBot,
) -> Iterator[tuple[MainWindow, Desk]]:
    """The real window on a real gateway that served a few calls and holds a budget."""
    opened = desk_gateway(loaded, monkeypatch, tmp_path, replies=(Reply.error(500),))
    desk = qloop.run_until_complete(opened.__aenter__())
    try:

        async def traffic() -> None:
            await messages_request(desk.runtime, {"X-Caller": "editor/1.0"}, status=502)
            for caller in ("editor/1.0", "a-very-long-agent-name/2.3.4", "ci"):
                await messages_request(desk.runtime, {"X-Caller": caller}, project="web")
            await desk.runtime.engine.budgets.replace(
                LOCAL_CALLER,
                [
                    {
                        "scope": "agent=a-very-long-agent-name/2.3.4",
                        "unit": "tokens",
                        "period": "daily",
                        "soft": 3852,
                        "hard": 5136,
                    },
                    {"scope": "project=web", "unit": "usd", "period": "monthly", "hard": 5},
                    {"scope": "agent=ci", "unit": "tokens", "period": "daily", "hard": 1},
                ],
            )
            # The Keys page with a row as wide as a real one.
            await desk.runtime.engine.keys.create(
                LOCAL_CALLER,
                KeySpec(
                    name="a-very-long-agent-name",
                    scope=KeyScope.of(models=["gpt-4o-mini", "claude-*"], projects=["web"]),
                    budget_usd=5.0,
                    per_minute=60,
                ),
            )

        qloop.run_until_complete(traffic())
        window = MainWindow(
            desk.bridge, desk.actions, desk.facts, close_quits=False, on_quit=lambda: None
        )
        qtbot.addWidget(window)
        window.resize(*SIZE)
        window.show()
        window.activateWindow()
        yield window, desk
        for page in window.pages.values():
            page.page_hidden()
            page.tasks.cancel_all()
    finally:
        qloop.run_until_complete(opened.__aexit__(None, None, None))


def _show(qloop: qasync.QEventLoop, window: MainWindow, key: str) -> QWidget:
    """Show page `key` and let its first refresh land (its tables fill from the engine)."""
    window.show_page(key)
    page = window.pages[key]
    if isinstance(page, JobsPage):
        page._show_rows(_wide_rows(time.time()))  # no CLI here: rows as long as real ones

    async def settle() -> None:
        start = time.monotonic()
        await until(lambda: time.monotonic() - start > 0.4, "the page's first refresh")

    qloop.run_until_complete(settle())
    return page


def _health_loaded(health: ProviderHealthTable) -> bool:
    return all(health.cell(pid, "Status") != "checking…" for pid in health.rows)


def test_tab_leaves_every_table_and_reaches_every_control_on_every_page(
    qloop: qasync.QEventLoop, window_on_gateway: tuple[MainWindow, Desk], qtbot: QtBot
) -> None:
    window, _desk = window_on_gateway
    assert "playground" in window.pages  # issue 31: the playground is walked like the rest
    checked_tables = 0
    for key in window.pages:
        page = _show(qloop, window, key)
        controls = _controls(page)
        stops = _walk(window, page, qtbot)
        assert len(stops) < MAX_TABS, f"{key}: Tab never came back round ({len(stops)} presses)"
        reached = {_owner(stop, controls) for stop in stops}
        missed = [f"{type(c).__name__}({c.objectName() or c.property('text')})" for c in controls]
        missed = [name for c, name in zip(controls, missed, strict=True) if c not in reached]
        assert not missed, f"{key}: not reachable with Tab: {missed}"
        for table in (c for c in controls if isinstance(c, QAbstractItemView)):
            table.setFocus(Qt.FocusReason.TabFocusReason)
            qtbot.keyClick(table, Qt.Key.Key_Tab)
            assert _owner(QApplication.focusWidget(), [table]) is None, (key, table.objectName())
            checked_tables += 1
    assert checked_tables >= 8  # jobs, recorder, agents, budgets, providers, clients ...


def test_every_page_fits_1024x700_with_every_column_as_wide_as_its_header(
    qloop: qasync.QEventLoop, window_on_gateway: tuple[MainWindow, Desk]
) -> None:
    window, _desk = window_on_gateway
    assert (window.width(), window.height()) == SIZE
    narrow: list[str] = []
    for key in window.pages:
        page = _show(qloop, window, key)
        hint = page.minimumSizeHint()
        room = window.stack.size()
        assert hint.width() <= room.width(), f"{key} needs {hint.width()} px, has {room.width()}"
        for table in page.findChildren(QAbstractItemView):
            header = getattr(table, "horizontalHeader", lambda: None)()
            if header is None or not _visible(table, page) or header.isHidden():
                continue
            if table.objectName() not in NOT_YET_SIDEWAYS:
                bar = table.horizontalScrollBar()
                assert bar.maximum() == 0, f"{key}/{table.objectName()} scrolls sideways"
            if table.objectName() == "budgetsTable":  # issue 25: the name shrank to "a… n…"
                names = [str(table.model().index(r, 0).data()) for r in range(3)]
                need = max(table.fontMetrics().horizontalAdvance(n) for n in names)
                assert header.sectionSize(0) >= need, (names, header.sectionSize(0), need)
            model = table.model()
            for column in range(model.columnCount()):
                if header.isSectionHidden(column):
                    continue
                text = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
                # A heading on two lines ("Errors\n15 min") needs its wider line.
                lines = text.splitlines() or [""]
                need = max(map(header.fontMetrics().horizontalAdvance, lines)) + HEADER_PADDING
                if header.sectionSize(column) < need:
                    width = header.sectionSize(column)
                    narrow.append(f"{key}/{table.objectName()}: {text!r} {width} < {need}")
        if isinstance(page, OverviewPage):
            # Checked above as first drawn (Qt's 100 px columns scrolled until the rows came
            # in), and now with its rows loaded (their statuses, reasons, errors and latency).
            health = page.health
            qloop.run_until_complete(until(partial(_health_loaded, health), "the health rows"))
            assert health.horizontalScrollBar().maximum() == 0, "provider health, loaded"
    assert not narrow, narrow


# Columns whose text is a summary of something longer, shown whole in the details and its
# tooltip: they take the room left and may end in "…" (the Jobs page's prompt).
SUMMARY_COLUMNS = {("jobsTable", "Prompt")}
CUT_SLACK = 2  # a pixel of rounding either way


def _cut_texts(page: QWidget) -> list[str]:
    """Every text on `page` a person cannot read whole: a label, button or box narrower than its
    text, or a table cell narrower than its text (summary columns aside)."""
    cut: list[str] = []
    for label in page.findChildren(QLabel):
        if not _visible(label, page) or label.wordWrap() or not label.text():
            continue
        if label.textFormat() == Qt.TextFormat.RichText or "<" in label.text():
            continue  # rich text lays itself out (badges, headings)
        shown = label.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        need = label.fontMetrics().horizontalAdvance(shown)  # a mnemonic's & is not drawn
        if need > label.contentsRect().width() + CUT_SLACK:
            cut.append(f"label {label.objectName() or label.text()!r}: {need} > {label.width()}")
    for button in page.findChildren(QAbstractButton):
        wide = button.sizeHint().width() > button.width() + CUT_SLACK
        if _visible(button, page) and button.text() and wide:
            cut.append(f"button {button.text()!r}: {button.sizeHint().width()} > {button.width()}")
    for table in page.findChildren(QTableView):
        if not _visible(table, page) or table.model() is None:
            continue
        header, model = table.horizontalHeader(), table.model()
        rows_grow = (
            table.verticalHeader().sectionResizeMode(0) == QHeaderView.ResizeMode.ResizeToContents
        )
        if table.wordWrap() and rows_grow:
            continue  # its cells wrap onto more lines, the rows as tall as they need
        for column in range(model.columnCount()):
            if header.isSectionHidden(column):
                continue
            heading = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
            if (table.objectName(), heading) in SUMMARY_COLUMNS:
                continue
            width = header.sectionSize(column)
            for row in range(min(model.rowCount(), 30)):
                if table.isRowHidden(row):
                    continue
                text = str(model.index(row, column).data() or "")
                need = table.fontMetrics().horizontalAdvance(text) + 8
                if table.indexWidget(model.index(row, column)) is None and need > width + 24:
                    cut.append(f"{table.objectName()}/{heading}[{row}] {text!r}: {need} > {width}")
    return cut


def test_no_page_cuts_its_text_and_every_control_has_a_name_at_1024x700(
    qloop: qasync.QEventLoop, window_on_gateway: tuple[MainWindow, Desk]
) -> None:
    """Issue 41: nothing on any page is cut short at the smallest size the window is made for,
    and a screen reader can name every control a person can reach (Qt's own reading of it:
    a button's text, a field's buddy label, or the name the window gave it)."""
    window, _desk = window_on_gateway
    cut: list[str] = []
    unnamed: list[str] = []
    for key in window.pages:
        page = _show(qloop, window, key)
        cut += [f"{key}: {text}" for text in _cut_texts(page)]
        for control in _controls(page):
            if not accessible_name(control):
                unnamed.append(f"{key}: {type(control).__name__} {control.objectName()!r}")
    for chip in window.header.findChildren(QAbstractButton):
        if not accessible_name(chip):
            unnamed.append(f"header: {chip.objectName()}")
    assert not cut, cut
    assert not unnamed, unnamed
    # Every page built: none made the window taller than the screen it is made for (the
    # gallery's pictures at 1024x700 came out 762 px tall).
    assert (window.width(), window.height()) == SIZE
    assert window.minimumSizeHint().height() <= SIZE[1]


def _hints(page: QWidget) -> list[tuple[QHeaderView, HiddenColumnsHint]]:
    """Each table header of `page` shown now, with its line saying what it hides."""
    found = []
    for hint in page.findChildren(HiddenColumnsHint):
        header = hint.parentWidget()
        assert isinstance(header, QHeaderView)
        if _visible(header, page):
            found.append((header, hint))
    return found


def _clear_of_headings(header: QHeaderView, hint: HiddenColumnsHint) -> bool:
    """Whether `hint` lies past every heading's words (in the header's own coordinates)."""
    left, right = hint.x(), hint.geometry().right()
    if right > header.width():
        return False
    model = header.model()
    for column in range(header.count()):
        if header.isSectionHidden(column):
            continue
        start = header.sectionViewportPosition(column)
        end = start + header.sectionSize(column)
        if right < start or left >= end:
            continue  # not under the hint
        heading = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        words = max(map(header.fontMetrics().horizontalAdvance, heading.splitlines() or [""]))
        aligned = model.headerData(
            column, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole
        )
        if aligned is not None and Qt.AlignmentFlag(int(aligned)) & Qt.AlignmentFlag.AlignRight:
            return False  # its words are at the section's right end, where the hint is
        if right > end or left < start + words + HEADER_PADDING // 2:
            return False
    return True


def test_a_table_that_hides_columns_says_how_many_where_its_header_is(
    qloop: qasync.QEventLoop, window_on_gateway: tuple[MainWindow, Desk]
) -> None:
    """Review 41-3, finding 10: at 1024 px Jobs lost four columns, the Flight recorder five,
    and nothing said so. Every table that hides columns for want of room says "+N columns ▾"
    at its header's end (in room kept free: no heading under it),
    N the columns hidden, each named in its tooltip; at 1920 px nothing is hidden or said."""
    window, _desk = window_on_gateway
    saying: dict[str, int] = {}
    for key in window.pages:
        page = _show(qloop, window, key)
        for header, hint in _hints(page):
            model = header.model()
            headings = {
                str(model.headerData(c, Qt.Orientation.Horizontal)).replace("\n", " "): c
                for c in range(model.columnCount())
            }
            names = hint.hidden_names
            assert all(header.isSectionHidden(headings[name]) for name in names), (key, names)
            assert hint.isVisible() == bool(names), (key, names)
            if names:
                # One wording everywhere (gallery review, finding 6: "+N", "N columns hidden"
                # and "...: widen the window" before), drawn as the menu it opens.
                count = len(names)
                assert hint.text() == f"{hidden_words(count)} ▾", (key, hint.text())
                assert hint.font().underline()
                assert hint.toolTip().startswith(hidden_words(count))
                assert "Menu key" in hint.toolTip()
                assert all(name in hint.toolTip() for name in names)
                # At the header's end, or the end of a wide section past its heading's words:
                # never over a heading's text.
                assert _clear_of_headings(header, hint), (key, hint.x(), hint.text())
                saying[f"{key}/{header.parentWidget().objectName()}"] = len(names)
    # The lists the review saw lose columns at 1024 px say so (Jobs, with rows as long as
    # real ones here, keeps all of its columns now, a job's provider under its prompt).
    for table in ("recorder/recorderTable", "agents/agentsTree", "budgets/budgetsTable"):
        assert saying.get(table, 0) > 0, saying

    window.resize(1920, 1080)
    still: dict[str, list[str]] = {}
    for key in window.pages:
        page = _show(qloop, window, key)
        for header, hint in _hints(page):
            model = header.model()
            hidden = {
                str(model.headerData(c, Qt.Orientation.Horizontal)).replace("\n", " ")
                for c in range(model.columnCount())
                if header.isSectionHidden(c)
            }
            # Said only while hidden, and only what is.
            assert hint.isVisible() == bool(hint.hidden_names), key
            assert set(hint.hidden_names) <= hidden, (key, hint.hidden_names, hidden)
            if hint.hidden_names:
                still[f"{key}/{header.parentWidget().objectName()}"] = hint.hidden_names
    # At 1920 px the lists that gave way at 1024 show every column and say nothing; only the
    # Flight recorder's sixteen columns (beside its details), Jobs' rows as long as real ones
    # get (`_wide_rows`) and Budgets' Resets (its details say it) still leave a few out, and
    # say which.
    assert set(still) <= {"recorder/recorderTable", "jobs/jobsTable", "budgets/budgetsTable"}
    assert "agents/agentsTree" not in still and "prices/priceTable" not in still
    assert all(len(names) <= 3 for names in still.values()), still


def _low_contrast_labels(key: str, page: QWidget, measured: list[str]) -> list[str]:
    """Each label shown on `page` whose words do not read at 4.5:1 on the look's window and
    card colours, or that show real content in the disabled grey (about 2.5:1); the words of
    each label measured are added to `measured`."""
    look = current_look()
    low = []
    for label in page.findChildren(QLabel):
        if not _visible(label, page) or not label.text().strip() or not label.pixmap().isNull():
            continue
        words = label.text().strip()[:40]
        measured.append(words)
        if not label.isEnabled():
            # WCAG exempts an inactive control's words (a locked vault's form labels); real
            # content in the disabled grey is not.
            buddy = label.buddy()
            if buddy is None or buddy.isEnabled():
                low.append(f"{key}: {words!r} in the disabled grey")
            continue
        if "color" in label.styleSheet():
            continue  # a tone's colour from a style sheet: the theme's own test measures them
        colour = label.palette().color(label.foregroundRole()).name()
        worst = min(contrast(colour, look.window), contrast(colour, look.surface))
        if worst < 4.5:
            low.append(f"{key}: {words!r} {colour} at {worst:.2f}:1")
    return low


def _low_contrast_cells(key: str, page: QWidget, measured: list[str]) -> list[str]:
    """Each table or tree cell shown on `page` whose own text colour (a tone set on the item,
    or a model's foreground) does not read at 4.5:1 on the look's table colours; the words of
    each coloured cell measured are added to `measured`."""
    look = current_look()
    low = []
    for view in page.findChildren(QAbstractItemView):
        if not _visible(view, page) or isinstance(view, QHeaderView):
            continue
        model = view.model()
        if model is None:
            continue
        pending = [QModelIndex()]
        while pending:
            parent = pending.pop()
            for row in range(min(model.rowCount(parent), 200)):
                for column in range(model.columnCount(parent)):
                    index = model.index(row, column, parent)
                    if column == 0 and model.rowCount(index):
                        pending.append(index)
                    brush = model.data(index, Qt.ItemDataRole.ForegroundRole)
                    words = str(model.data(index, Qt.ItemDataRole.DisplayRole) or "").strip()
                    if brush is None or not words:
                        continue
                    colour = (brush.color() if isinstance(brush, QBrush) else QColor(brush)).name()
                    measured.append(words)
                    worst = min(contrast(colour, look.base), contrast(colour, look.alternate_base))
                    if worst < 4.5:
                        where = view.objectName() or type(view).__name__
                        low.append(f"{key}/{where}: {words[:40]!r} {colour} at {worst:.2f}:1")
    return low


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_every_label_on_every_page_reads_at_text_contrast_in_both_looks(
    qloop: qasync.QEventLoop,
    window_on_gateway: tuple[MainWindow, Desk],
    scheme: Qt.ColorScheme,
) -> None:
    """Issue 54.5: the guide and some pages showed real content in a 2.5:1 grey. Every label
    shown on every page, in both looks, reads at WCAG AA's 4.5:1 on the window and on cards."""
    window, _desk = window_on_gateway
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = "dark" if is_dark() else "light"
    # Gallery review, finding 5: the notifications' level words kept the light look's
    # colours in the dark one (2.5:1 to 3.0:1), drawn in table cells this walk did not read.
    # A notice of each level arrives in the other look, then the look switches, as a person's
    # system switches it.
    other = Qt.ColorScheme.Light if scheme == Qt.ColorScheme.Dark else Qt.ColorScheme.Dark
    apply_theme(app, other)
    notifications = window.pages["notifications"]
    assert isinstance(notifications, NotificationsPage)
    for level in ("error", "warning", "info", "status"):
        notifications.log.record(level, f"A {level} notice", "jobs")
    apply_theme(app, scheme)
    try:
        low: list[str] = []
        measured: list[str] = []
        cells: list[str] = []
        for key in window.pages:
            page = _show(qloop, window, key)
            low += _low_contrast_labels(key, page, measured)
            low += _low_contrast_cells(key, page, cells)
        low += _low_contrast_labels("header", window.header, measured)
        assert not low, low
        assert len(measured) > 100  # the walk saw the pages' words
        assert {"error", "warning", "info"} <= set(cells)  # and the level words among cells
    finally:
        apply_theme(app, Qt.ColorScheme.Dark if before == "dark" else Qt.ColorScheme.Light)


def test_a_hidden_column_is_shown_from_the_keyboard(
    qloop: qasync.QEventLoop, window_on_gateway: tuple[MainWindow, Desk]
) -> None:
    """Gallery review, finding 6: "N columns hidden" had no way to show the columns that a
    keyboard could reach. In a list that hides columns, the Menu key (a context menu asked
    from the keyboard) opens the hint's menu; choosing a column shows it. The hint takes no
    Tab stop: Tab still leaves the list."""
    window, _desk = window_on_gateway
    page = _show(qloop, window, "budgets")
    found = [(header, hint) for header, hint in _hints(page) if hint.hidden_names]
    assert found, "the Budgets list hides columns at 1024 px"
    header, hint = found[0]
    view = header.parentWidget()
    assert isinstance(view, QAbstractItemView)
    assert hint.focusPolicy() == Qt.FocusPolicy.NoFocus
    view.setFocus(Qt.FocusReason.TabFocusReason)
    wanted = hint.hidden_names[0]
    asked = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, view.viewport().rect().center())
    QApplication.sendEvent(view, asked)
    menu = hint.menu
    assert menu is not None and menu.isVisible()
    shown = [action.text() for action in menu.actions()]
    assert shown == [f"Show {name}" for name in hint.hidden_names], shown
    menu.actions()[0].trigger()
    menu.close()
    model = header.model()
    column = next(
        c
        for c in range(model.columnCount())
        if str(model.headerData(c, Qt.Orientation.Horizontal)).replace("\n", " ") == wanted
    )
    assert not header.isSectionHidden(column), wanted
    assert wanted not in hint.hidden_names
