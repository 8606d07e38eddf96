"""One page chrome on every page (review 41, finding 17), on a window over a stopped engine
(offscreen): the title in the same place on every page, the sub-tabs under it rather than
above, every tab reachable from the navigation, and one table style; and the notification
history's rows (finding 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, KeySpec
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import Notice
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.kit.page_head import PageHead
from llmgw_desktop.ui.kit.tables import ROW_HEIGHT
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.notifications import NotificationsPage
from llmgw_desktop.ui.pages.agents import COLUMNS as AGENT_COLUMNS
from llmgw_desktop.ui.pages.prices_box import PRICE_COLUMNS
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QPoint,
    QPushButton,
    Qt,
    QTabBar,
    QTableView,
    QTreeView,
    QWidget,
)
from llmgw_desktop.ui.theme import current_look
from tests.ui.desk_gateway import Desk, OnWindow, post_messages
from tests.ui.headings import HEADING_GAP, heading_gaps
from tests.ui.test_main_window import ENDPOINT, facts_in
from tests.waiting import until


@pytest.fixture
def window(qapp: object, loaded: LoadedSettings, qtbot: QtBot) -> Iterator[MainWindow]:
    engine = Engine(loaded.settings)
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: ENDPOINT, open_dashboard=lambda: None, quit_app=lambda: None
    )
    shown = MainWindow(
        bridge, actions, facts_in(engine.settings.data_path), close_quits=True, on_quit=lambda: 0
    )
    qtbot.addWidget(shown)
    shown.resize(1024, 700)
    shown.show()
    yield shown
    for page in shown.built_pages():
        page.page_hidden()
        page.tasks.cancel_all()
    bridge.detach()


def _title_top(window: MainWindow, key: str) -> int:
    page = window.pages[key]
    title = page.findChild(QLabel, "pageTitle")
    assert title is not None and title.isVisible(), key
    return title.mapTo(window, QPoint(0, 0)).y()


def test_every_pages_title_sits_where_every_other_pages_does(
    window: MainWindow, qtbot: QtBot
) -> None:
    """A tab strip above the title pushed it 28 px down on Keys, Settings and Log."""
    tops = {}
    for key in window.pages:
        window.show_page(key)
        qtbot.waitUntil(lambda k=key: k == window.current_page.KEY, timeout=2000)
        tops[key] = _title_top(window, key)
    assert len(set(tops.values())) == 1, tops


def test_the_sub_tabs_sit_under_the_head_and_switch_the_page(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.show_page("keys")
    keys = window.pages["keys"]
    head = keys.findChild(PageHead)
    strip = keys.findChild(QTabBar, "subTabs:keys")
    assert head is not None and strip is not None and strip.isVisible()
    assert strip.parent() is head  # under the title and actions, not above the page
    assert [strip.tabText(i) for i in range(strip.count())] == ["Access keys", "Clients"]
    assert strip.currentIndex() == 0
    strip.tabBarClicked.emit(1)
    assert window.current_page.KEY == "clients"
    clients_strip = window.pages["clients"].findChild(QTabBar, "subTabs:clients")
    assert clients_strip is not None and clients_strip.currentIndex() == 1
    assert strip.currentIndex() == 0  # each strip marks its own page
    assert window.nav.currentItem().data(Qt.ItemDataRole.UserRole) == "keys"


def test_the_navigation_lists_each_place_once_and_names_its_tabs(window: MainWindow) -> None:
    """Issue 54.5: Clients, Prices and Notifications were listed under their places and shown
    as those places' tabs: the same choice twice. The navigation lists the place once, its
    tooltip naming its tabs; the tabs under the page's head and the palette reach them."""
    for key, place in (("clients", "keys"), ("prices", "settings"), ("notifications", "log")):
        assert not window.nav.has_row(key)
        tip = window.nav.item(window.nav.row_of(place)).toolTip()
        assert window.pages[key].TITLE in tip
        window.show_page(key)
        assert key == window.current_page.KEY
        assert window.nav.currentItem().data(Qt.ItemDataRole.UserRole) == place
    window.nav.select("keys")
    assert window.current_page.KEY == "keys"  # the place's own entry shows its first page


def test_every_table_has_one_style(window: MainWindow, qtbot: QtBot) -> None:
    """Regular headings aligned with their cells and rows of one height: Jobs and Keys had
    bold centred headings and 24-30 px rows, Agents and Credentials regular ones over 14 px."""
    views = 0
    for key in window.pages:
        window.show_page(key)
        page = window.current_page
        for view in page.findChildren(QAbstractItemView):
            if not isinstance(view, QTableView | QTreeView):
                continue
            header = view.horizontalHeader() if isinstance(view, QTableView) else view.header()
            assert not header.highlightSections(), (key, view.objectName())
            assert not header.font().bold(), (key, view.objectName())
            assert header.defaultAlignment() & Qt.AlignmentFlag.AlignLeft, (key, view.objectName())
            if isinstance(view, QTableView):
                assert view.verticalHeader().defaultSectionSize() >= ROW_HEIGHT or (
                    view.verticalHeader().sectionResizeMode(0)
                    == view.verticalHeader().ResizeMode.ResizeToContents
                ), (key, view.objectName())
            views += 1
    assert views >= 8
    agents = window.pages["agents"].findChild(QTreeView, "agentsTree")
    assert agents is not None
    model = agents.model()
    for column in range(1, len(AGENT_COLUMNS)):  # figures: their headings right-aligned too
        align = model.headerData(
            column, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole
        )
        assert Qt.AlignmentFlag(int(align)) & Qt.AlignmentFlag.AlignRight, AGENT_COLUMNS[column]


def _right(align: object) -> bool:
    return align is not None and bool(Qt.AlignmentFlag(int(align)) & Qt.AlignmentFlag.AlignRight)


def _figures_under_left_headings(page: QWidget) -> list[str]:
    """The columns of `page`'s lists whose cells are right-aligned (figures) under a heading
    that is not."""
    found = []
    for view in page.findChildren(QAbstractItemView):
        model = view.model()
        if not isinstance(view, QTableView | QTreeView) or model is None:
            continue
        for column in range(model.columnCount()):
            cells = (
                model.data(model.index(row, column), Qt.ItemDataRole.TextAlignmentRole)
                for row in range(min(model.rowCount(), 20))
            )
            heading = model.headerData(
                column, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole
            )
            if any(_right(align) for align in cells) and not _right(heading):
                name = model.headerData(column, Qt.Orientation.Horizontal)
                found.append(f"{view.objectName()} {name!r}")
    return found


def _rows(page: QWidget) -> int:
    return sum(
        view.model().rowCount()
        for view in page.findChildren(QAbstractItemView)
        if isinstance(view, QTableView | QTreeView)
        and view.model() is not None
        and view.isVisible()
    )


def test_every_column_of_figures_has_its_heading_over_them(on_window: OnWindow) -> None:
    """Review 41-3, finding 11: Overview's calls, failed calls and latency were left-aligned,
    and Jobs, the Flight recorder, Keys, MCP servers, Budgets and the cost breakdown had
    their figures right-aligned under left-aligned headings. On a gateway with a request, a
    budget and a key, every list's figures and their headings are right-aligned, and no
    heading's words touch the next one's."""

    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        await post_messages(desk.runtime)
        await engine.budgets.replace(
            LOCAL_CALLER, [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5}]
        )
        await engine.keys.create(LOCAL_CALLER, KeySpec(name="ci-bot"))
        found = {}
        for key in ("overview", "recorder", "budgets", "keys", "prices", "agents"):
            window.show_page(key)
            page = window.current_page
            await until(lambda p=page: _rows(p) > 0, f"the {key} page's rows")
            if key == "overview":
                await until(
                    lambda: window.overview.health.cell("anthropic", "Calls 15 min") == "1",
                    "the count",
                )
            found[key] = _figures_under_left_headings(page)
            # And no heading's words touch its neighbour's ("Spent Limits" were 4 px apart).
            found[key] += [
                f"{pair}: {gap} px"
                for view in page.findChildren(QTableView)
                if view.isVisible()
                for pair, gap in heading_gaps(view).items()
                if gap < HEADING_GAP
            ]
        jobs = window.pages["jobs"].findChild(QTableView)
        assert jobs is not None
        found["jobs"] = [
            str(jobs.model().headerData(c, Qt.Orientation.Horizontal))
            for c in range(jobs.model().columnCount())
            if jobs.model().headerData(c, Qt.Orientation.Horizontal) in ("Elapsed", "Tokens")
            and not _right(
                jobs.model().headerData(
                    c, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole
                )
            )
        ]
        assert not any(found.values()), found

    on_window(body, size=(1920, 1080))


def test_a_notification_shows_its_level_and_opens_its_place(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Review 41, finding 14: every row read "warning", calls refused included, and no row
    led anywhere. A budget used up is an error (its glyph and tone) and opens Budgets."""
    engine = window.header._engine
    engine.events.publish(
        Notice("error", "Budget agent claude-code is used up: calls are refused", topic="budget")
    )
    engine.events.publish(Notice("warning", "Budget project web passed its soft limit"))
    window.show_page("notifications")
    page = window.pages["notifications"]
    assert isinstance(page, NotificationsPage)
    table = page.table
    assert [table.item(r, 1).text() for r in range(2)] == ["warning", "error"]
    error = table.item(1, 1)
    assert not error.icon().isNull()
    assert error.foreground().color().name() == current_look().error
    # A notice about no topic is about the page shown then (review 41-2, finding 8: every
    # row has an Open).
    assert page.open_button(0) is not None
    button = page.open_button(1)
    assert isinstance(button, QPushButton) and button.text() == "Open"
    button.click()
    assert window.current_page.KEY == "budgets"
    window.show_page("notifications")
    table.setCurrentCell(1, 3)
    table.itemActivated.emit(table.item(1, 3))  # Enter on the row does the same
    assert window.current_page.KEY == "budgets"
    rows = table.verticalHeader()
    assert rows.sectionResizeMode(0) == rows.ResizeMode.ResizeToContents


def test_a_wide_window_keeps_each_control_beside_what_it_acts_on(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Review 41, finding 11: at 1920x1080 the Overview's Copy sat ~550 px from the URL it
    copies, Connect's ~1,100 px from its snippet, Credentials' Save key button was ~1,600 px
    wide under a ~430 px tall empty tree, and Agents' name column took ~1,300 px."""
    window.resize(1920, 1080)

    def right_of(widget: QWidget) -> int:
        return widget.mapTo(window, QPoint(widget.width(), 0)).x()

    def left_of(widget: QWidget) -> int:
        return widget.mapTo(window, QPoint(0, 0)).x()

    window.show_page("overview")
    qtbot.waitUntil(lambda: window.current_page.KEY == "overview", timeout=2000)
    overview = window.current_page
    endpoint = overview.findChild(QLabel, "endpoint")
    copy = next(
        b for b in overview.findChildren(QPushButton) if b.toolTip().startswith("Copy the MCP")
    )
    assert left_of(copy) - right_of(endpoint) < 40

    window.show_page("connect")
    connect = window.current_page
    for client, button in connect.copy_buttons.items():  # type: ignore[attr-defined]
        block = connect.blocks[client]  # type: ignore[attr-defined]
        assert button.parent() is block and block.width() <= 1100, client

    window.show_page("credentials")
    credentials = window.current_page
    assert credentials.save_button.width() < 300  # type: ignore[attr-defined]
    assert credentials.editor.width() <= 640  # type: ignore[attr-defined]
    assert credentials.tree.height() < 200  # type: ignore[attr-defined]

    # Agents: the list beside the chosen agent's details (review 41-2, #11: the figures packed
    # beside their names left ~840 px empty); the name no longer takes the window's width.
    window.show_page("agents")
    agents = window.current_page
    tree = agents.findChild(QTreeView, "agentsTree")
    assert tree is not None
    assert tree.header().sectionSize(0) < 700
    assert agents.detail.isVisible()  # type: ignore[attr-defined]
    assert left_of(agents.detail) - right_of(tree) < 40  # type: ignore[attr-defined]


def test_prices_say_what_to_do_with_none_and_show_the_bundled_table(
    window: MainWindow,
) -> None:
    """Review 41, finding 18: an empty blank table, the bundled prices in use out of sight,
    and Remove enabled with nothing to remove. The list shows the prices in use from the start
    (the bundled ones, with none of your own: issue 41's last review found the page empty),
    says there are none of yours, and without the bundled ones says what to do instead."""
    window.show_page("prices")
    box = window.pages["prices"].box  # type: ignore[attr-defined]
    assert (
        box.empty_label.isVisibleTo(box) and "No prices of your own yet" in box.empty_label.text()
    )
    assert box.table.isVisibleTo(box) and box.table.rowCount() > 10
    from_column = PRICE_COLUMNS.index("From")
    froms = {box.table.item(r, from_column).text() for r in range(box.table.rowCount())}
    assert froms == {f"bundled, {window.header._engine.prices.revised}"}
    assert not box.remove_button.isEnabled()
    box.bundled_switch.setChecked(False)
    assert not box.table.isVisibleTo(box)
    assert box.empty.isVisibleTo(box) and box.empty.what.text() == "No prices of your own yet"
    assert "type a model and its prices" in box.empty.next_step.text()
    assert not box.empty_label.isVisibleTo(box)  # said once, where the list was


@pytest.mark.parametrize("width", [1024, 1400])
def test_the_sub_tabs_sit_where_they_did_on_the_tab_before(
    window: MainWindow, qtbot: QtBot, width: int
) -> None:
    """The strip jumped 14 px between Log and Notifications: each tab's head is as tall as its
    own explanation wraps, and the strip sits under it."""
    window.resize(width, 700)
    places: dict[str, list[str]] = {}
    for key, page in window.pages.items():
        for strip in page.findChildren(QTabBar):
            if strip.objectName().startswith("subTabs:"):
                places.setdefault(strip.tabToolTip(0).rsplit("(", 1)[1], []).append(key)
    assert len(places) >= 3, places
    for keys in places.values():
        tops = {}
        for key in keys:
            window.show_page(key)
            qtbot.waitUntil(lambda k=key: k == window.current_page.KEY, timeout=2000)
            strip = window.pages[key].findChild(QTabBar, f"subTabs:{key}")
            assert strip is not None and strip.isVisible()
            QApplication.processEvents()  # the shown page laid out at the window's width
            tops[key] = strip.mapTo(window, QPoint(0, 0)).y()
        assert len(set(tops.values())) == 1, tops
