"""The dashboard window: grouped navigation on the left; on the right the status header above
the chosen place.

The places come from `GROUPS` (Monitor, Use, Configure, Help); a place is one page, or pages
that serve one task shown as its tabs (`PageTabs`). `show_page(key)` is how the tray, the
header, the command palette and the keyboard switch between pages, by a page's own key even
when it is a tab. Every place has a shortcut from its position (`place_shortcut`: Ctrl+1 ...
Ctrl+9, Ctrl+0, then Alt+1 ...), and Ctrl+K opens the command palette (`palette.py`). The
window remembers its size and last page in `ui.ini` in the data folder. The menu bar holds the
gateway actions shared with the tray.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from llmgw_desktop import __version__
from llmgw_desktop.ui.access_panel import AccessPanel
from llmgw_desktop.ui.accessibility import name_controls
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.attention import SpendToday
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.close_without_tray import KEEP, CloseWithoutTray, remembered_choice
from llmgw_desktop.ui.decision_dialog import QuestionDesk
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.header import StatusHeader
from llmgw_desktop.ui.icons import app_icon
from llmgw_desktop.ui.keyboard import let_tab_leave_tables
from llmgw_desktop.ui.kit.tables import tidy_tables
from llmgw_desktop.ui.nav import NavList, place_shortcut
from llmgw_desktop.ui.notifications import NotificationLog, NotificationsPage
from llmgw_desktop.ui.page_tabs import PageTabs
from llmgw_desktop.ui.pages.agents import AgentsPage
from llmgw_desktop.ui.pages.base import Page, PageContext, WindowFacts
from llmgw_desktop.ui.pages.budgets import BudgetsPage
from llmgw_desktop.ui.pages.clients import ClientsPage
from llmgw_desktop.ui.pages.connect_page import ConnectPage
from llmgw_desktop.ui.pages.credentials import CredentialsPage
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.keys import KeysPage
from llmgw_desktop.ui.pages.log_page import LogPage
from llmgw_desktop.ui.pages.mcp_servers import McpServersPage
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.pages.playground import PlaygroundPage
from llmgw_desktop.ui.pages.prices_page import PricesPage
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from llmgw_desktop.ui.palette import CommandPalette
from llmgw_desktop.ui.places import PlaceStack
from llmgw_desktop.ui.qt import (
    QApplication,
    QCloseEvent,
    QGuiApplication,
    QHBoxLayout,
    QHideEvent,
    QKeySequence,
    QLabel,
    QMainWindow,
    QPaintEvent,
    QScreen,
    QSettings,
    QShortcut,
    QShowEvent,
    QSizePolicy,
    QStackedWidget,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import themed

__all__ = ["GROUPS", "MIN_SIZE", "PAGES", "MainWindow", "WindowFacts", "fitted_size"]

log = logging.getLogger(__name__)

NOTICE_MS = 6000
STATUS_MESSAGE_MS = 8000  # how long a page's message stays in the status line
PALETTE_KEYS = "Ctrl+K"
NATIVE = QKeySequence.SequenceFormat.NativeText
DEFAULT_SIZE = (1120, 740)
# The smallest the window is restored at, whatever was saved.
MIN_SIZE = (640, 480)


def fitted_size(width: int, height: int, screen: QScreen | None) -> tuple[int, int]:
    """The window's size to restore: as saved, never smaller than `MIN_SIZE`, and never larger
    than the room `screen` gives it (at 1024x768 the default 1120 px put the header's right end
    and Pause off the screen). The offscreen platform (tests, a headless grab) has no screen
    to fit: its 800x800 is nothing a person sees."""
    if screen is not None and QGuiApplication.platformName() != "offscreen":
        room = screen.availableGeometry()
        width, height = min(width, room.width()), min(height, room.height())
    return max(MIN_SIZE[0], width), max(MIN_SIZE[1], height)


# What a person comes to do, in the order they come to do it; a tuple of two pages is one
# place with two tabs (who may call the gateway; what happened).
GROUPS: tuple[tuple[str, tuple[tuple[type[Page], ...], ...]], ...] = (
    ("Monitor", ((OverviewPage,), (JobsPage,), (RecorderPage,), (AgentsPage,))),
    ("Use", ((PlaygroundPage,),)),
    (
        "Configure",
        (
            (ProvidersPage,),
            (KeysPage, ClientsPage),
            (McpServersPage,),
            (BudgetsPage,),
            (CredentialsPage,),
            (SettingsPage, PricesPage),
        ),
    ),
    ("Help", ((ConnectPage,), (LogPage, NotificationsPage))),
)
PAGES: tuple[type[Page], ...] = tuple(
    page for _group, places in GROUPS for place in places for page in place
)


class MainWindow(QMainWindow):
    """Navigation, header, pages, and the menu bar with the gateway actions."""

    # A setting was saved on the Settings page (key, value): what outside the window takes it
    # on live (the tray's quiet hours) listens here.
    settingSaved = Signal(str, object)

    def __init__(
        self,
        bridge: EngineBridge,
        actions: GatewayActions,
        facts: WindowFacts,
        *,
        close_quits: bool,
        on_quit: Callable[[], None],
    ) -> None:
        super().__init__()
        self._painted = False
        self._bridge = bridge
        self._close_quits = close_quits
        self._on_quit = on_quit
        self.close_question: CloseWithoutTray | None = None  # asked when closing, no tray
        self._page_asked: str | None = None  # the page `show_page` shows while it marks a place
        self._state = QSettings(str(facts.data_dir / "ui.ini"), QSettings.Format.IniFormat)
        self.setWindowTitle(f"llmgw-desktop {__version__}")
        self.setWindowIcon(app_icon())
        self.menuBar().addMenu(actions.build_menu("&Gateway", self))
        help_menu = self.menuBar().addMenu("&Help")
        # The app connects it: the guide needs the running engine's endpoint.
        self.guide_action = help_menu.addAction("First-run &guide…")

        context = PageContext(bridge=bridge, actions=actions, facts=facts)
        self._shortcuts: list[QShortcut] = []  # kept: PySide drops an unreferenced wrapper's slot
        self.stack = QStackedWidget()
        # Each place is built the first time it is shown or one of its pages is looked up.
        self._places = PlaceStack(context, GROUPS, self.stack, self._place_built)
        self.pages: Mapping[str, Page] = self._places.pages
        self.places = self._places.places
        self.page_titles = self._places.titles  # every page's title, none built
        # The notification history records from the start (the Log place holds it).
        self._places.build_page(NotificationsPage.KEY)
        self._build_navigation()
        let_tab_leave_tables(self)
        name_controls(self)
        self._actions = actions
        self.command_palette: CommandPalette | None = None  # made when first opened
        palette_keys = QShortcut(QKeySequence(PALETTE_KEYS), self)
        palette_keys.activated.connect(self.open_palette)
        self._shortcuts.append(palette_keys)

        self.header = StatusHeader(bridge, self.open_place)
        self._desks: list[QuestionDesk] = []  # the questions' desks (`watch_questions`)
        self.setCentralWidget(self._central(self._palette_button()))

        bridge.notice.connect(
            lambda _level, message: self.statusBar().showMessage(message, NOTICE_MS)
        )
        # What the status bar shows (a notice, a page's error, an action's result) is kept,
        # about the page it was shown on (its Open goes back there).
        self.statusBar().messageChanged.connect(self._status_shown)
        self._restore()

    def _build_navigation(self) -> None:
        """The list of places by group, each reachable by its own shortcut."""
        self.nav = NavList(self._places.groups, self.page_titles)
        for index, place in enumerate(self.nav.places):
            keys = place_shortcut(index)
            if keys is not None:
                shortcut = QShortcut(QKeySequence(keys), self)
                shortcut.activated.connect(lambda key=place.key: self.show_page(key))
                self._shortcuts.append(shortcut)
        self.nav.placeChosen.connect(self._on_place)

    def _palette_button(self) -> QToolButton:
        """The command palette's button, heading the navigation as a search box heads a
        sidebar."""
        go_to = QToolButton()
        go_to.setObjectName("openPalette")
        go_to.setProperty("chip", True)
        go_to.setText(f"Go to…   {QKeySequence(PALETTE_KEYS).toString(NATIVE)}")
        go_to.setIcon(glyph("search"))
        go_to.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        go_to.setToolTip("Jump to any page, provider, key, job or recorded request")
        go_to.setAccessibleName("Go to (command palette)")
        go_to.clicked.connect(self.open_palette)
        go_to.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        themed(go_to, "header")
        return go_to

    def _central(self, go_to: QToolButton) -> QWidget:
        """The window's body: the navigation column on the left, the header over the pages on
        the right."""
        left = QWidget()
        left.setObjectName("navColumn")
        left.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        themed(left, "nav")
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(SPACE["s"], SPACE["m"], SPACE["s"], 0)
        left_column.setSpacing(SPACE["xs"])
        left_column.addWidget(go_to)
        left_column.addWidget(self.nav, 1)
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.setSpacing(0)
        right_column.addWidget(self.header)
        right_column.addWidget(self.stack, 1)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(left)
        row.addWidget(right, 1)
        return central

    def _place_built(self, widget: QWidget, pages: list[Page]) -> None:
        """A place was built: wire its tabs, keyboard and names, and what its pages announce."""
        if isinstance(widget, PageTabs):
            widget.pageChanged.connect(self._on_tab)
        let_tab_leave_tables(widget)
        tidy_tables(widget)
        name_controls(widget)
        for page in pages:
            if isinstance(page, SettingsPage):
                page.saved.connect(self.settingSaved.emit)
            elif isinstance(page, PricesPage):
                page.box.saved.connect(self._price_saved)

    def _price_saved(self) -> None:
        settings = self._places.built.get(SettingsPage.KEY)
        if isinstance(settings, SettingsPage):
            settings.reread_file()  # the file now holds the price

    def built_pages(self) -> list[Page]:
        """The pages built so far (what shutting down must stop; the rest never ran)."""
        return list(self._places.built.values())

    # -- the main pages by name, for the tray and tests -------------------------------------

    @property
    def overview(self) -> OverviewPage:
        page = self.pages[OverviewPage.KEY]
        assert isinstance(page, OverviewPage)
        return page

    @property
    def notifications(self) -> NotificationLog:
        page = self.pages[NotificationsPage.KEY]
        assert isinstance(page, NotificationsPage)
        return page.log

    @property
    def status_label(self) -> QLabel:
        return self.overview.status_label

    @property
    def access(self) -> AccessPanel:
        clients = self.pages[ClientsPage.KEY]
        assert isinstance(clients, ClientsPage)
        return clients.access

    def refresh_status(self) -> None:
        self.overview.refresh_status()

    def open_palette(self) -> CommandPalette:
        """Show the command palette (Ctrl+K), made the first time it is asked for."""
        if self.command_palette is None:
            actions = self._actions
            offered = [("Pause all providers", actions.pause_all)]
            offered.append(("Copy MCP endpoint", actions.copy_endpoint))
            offered += [(f"Copy the setup for {a.text()}", a) for a in actions.copy_setup]
            self.command_palette = CommandPalette(self, self._bridge.engine, offered)
        self.command_palette.open_palette()
        return self.command_palette

    def watch_questions(self, desks: Sequence[QuestionDesk]) -> None:
        """Count the approvals and consents waiting at the desk in the header; keep how each
        was answered in the notification history."""
        self.header.watch_questions(desks)
        self._desks = list(desks)
        for desk in desks:
            desk.answered.connect(self.notifications.record)

    def _status_shown(self, text: str) -> None:
        # A cleared status bar says nothing (and it clears while the window is torn down, when
        # its pages may be gone already).
        if text:
            self.notifications.record("status", text, self.shown_key())

    def shown_key(self) -> str:
        """The key of the page shown now ("" before one is)."""
        widget = self.stack.currentWidget()
        page = widget.current_page if isinstance(widget, PageTabs) else widget
        return page.KEY if isinstance(page, Page) else ""

    # -- navigation ---------------------------------------------------------------------

    @property
    def current_page(self) -> Page:
        widget = self.stack.currentWidget()
        page = widget.current_page if isinstance(widget, PageTabs) else widget
        assert isinstance(page, Page)
        return page

    def show_page(self, key: str) -> None:
        """Switch to the page `key` (and bring the window forward if it is hidden).

        Raises:
            KeyError: no page has that key.
        """
        if key not in self.pages:
            raise KeyError(f"no dashboard page {key!r}; pages: {list(self.pages)}")
        place = self._places.place_of(key)
        widget = self._places.widget(place)
        if isinstance(widget, PageTabs) and widget.current_page is not self.pages[key]:
            shown = self.stack.currentWidget() is widget and self.isVisible()
            widget.show_tab(self.pages[key], announce=shown)
        entry = self._nav_entry(key)
        if self.nav.currentRow() != self.nav.row_of(entry):
            # The place's entry is marked; the page shown is the one asked for, a tab included.
            self._page_asked = key
            try:
                self.nav.select(entry)
            finally:
                self._page_asked = None
        if not self.isVisible():
            self.bring_forward()

    # -- the window as its pages' navigator (`ui/navigator.py`) ----------------------------

    def page(self, key: str) -> QWidget | None:
        """The page `key`, or None when the window has none."""
        return self.pages.get(key)

    def say(self, message: str) -> None:
        """Show `message` in the status line for a while."""
        self.statusBar().showMessage(message, STATUS_MESSAGE_MS)

    def spend_today(self) -> SpendToday | None:
        """Today's spend as the header keeps it."""
        return self.header.spend

    def _nav_entry(self, key: str) -> str:
        """The navigation entry of page `key`: its own (a place), else its place's (a tab)."""
        return key if self.nav.has_row(key) else self._places.place_of(key)

    def open_place(self, key: str, detail: str) -> None:
        """Show page `key` with `detail` chosen there (the header's chips, a notification's
        click): a provider's switch id (on the Flight recorder: its failed requests), a job's
        id ("active": the live jobs), a setting's key (Settings), a budget's key (Budgets: a
        key no longer configured, or "", leaves the choice as it is); "approval"
        brings the waiting question forward, "" only the window."""
        if key == "approval":
            # That question's dialog while it waits; answered, where its answer shows.
            for desk in self._desks:
                if detail and desk.bring_forward(detail):
                    return
                answered = desk.place_of(detail) if detail else None
                if answered is not None:
                    self.open_place(*answered)
                    return
            self.header.press("questions")
            return
        page = self.pages.get(key)
        if isinstance(page, ProvidersPage) and detail:
            page.select_provider(detail)
        elif isinstance(page, JobsPage) and detail in ("active", "stuck"):
            page.show_state("Active")
        elif isinstance(page, JobsPage) and detail:
            page.show_job(detail)
        elif isinstance(page, RecorderPage) and detail:
            page.show_failures_of(detail)
        elif isinstance(page, SettingsPage) and detail:
            page.select(detail)
        elif isinstance(page, McpServersPage) and detail:
            page.select_server(detail)
        elif isinstance(page, BudgetsPage) and detail:
            page.select_budget(detail)
        if page is not None:
            self.show_page(key)

    def _on_place(self, key: str) -> None:
        """A navigation entry was chosen: a place (its first page; the page `show_page` was
        asked for, when it marks the entry)."""
        key = self._page_asked or key
        shown = self.stack.currentWidget()
        previous = self._page_in(shown)
        widget = self._places.widget(self._places.place_of(key))
        if isinstance(widget, PageTabs) and widget.current_page is not self.pages[key]:
            widget.show_tab(self.pages[key], announce=False)  # told below, as a place
        focus = QApplication.focusWidget()
        focus_leaves = focus is not None and shown is not None and shown.isAncestorOf(focus)
        self.stack.setCurrentWidget(widget)
        if focus_leaves and widget is not shown:
            # The focus was on the page going away: Qt would hand it to the next control in
            # the chain, the new page's first (Overview's Pause all providers, where one
            # Space paused everything). It goes where pages are chosen instead.
            self.nav.setFocus(Qt.FocusReason.OtherFocusReason)
        page = self.current_page
        if previous is not None and previous is not page:
            previous.page_hidden()
        let_tab_leave_tables(widget)  # a page may have built a table since
        tidy_tables(widget)
        name_controls(widget)
        self._state.setValue("page", page.KEY)
        if self.isVisible() and previous is not page:
            page.page_shown()

    @staticmethod
    def _page_in(widget: QWidget | None) -> Page | None:
        """The page `widget` (a place in the stack) shows, or None for one not built yet."""
        shown = widget.current_page if isinstance(widget, PageTabs) else widget
        return shown if isinstance(shown, Page) else None

    def _on_tab(self, hidden: Page, shown: Page) -> None:
        """A tab of the current place was switched: the pages hear of it as of a place."""
        if self.stack.currentWidget() is not self._places.widget(self._places.place_of(shown.KEY)):
            return
        hidden.page_hidden()
        entry = self._nav_entry(shown.KEY)
        if self.nav.currentRow() != self.nav.row_of(entry):
            self.nav.select(entry)  # the tab's own entry is marked (it shows the page already)
        let_tab_leave_tables(shown)
        name_controls(shown)
        self._state.setValue("page", shown.KEY)
        if self.isVisible():
            shown.page_shown()

    def _restore(self) -> None:
        width = _as_int(self._state.value("width"), DEFAULT_SIZE[0])
        height = _as_int(self._state.value("height"), DEFAULT_SIZE[1])
        self.resize(*fitted_size(width, height, self.screen()))
        key = str(self._state.value("page", OverviewPage.KEY))
        key = key if key in self.pages else OverviewPage.KEY
        widget = self._places.widget(self._places.place_of(key))
        if isinstance(widget, PageTabs):
            widget.show_tab(self.pages[key], announce=False)
        self._page_asked = key
        try:
            self.nav.select(self._nav_entry(key))
        finally:
            self._page_asked = None

    def _remember_size(self) -> None:
        self._state.setValue("width", self.width())
        self._state.setValue("height", self.height())
        self._state.sync()

    # -- showing and closing ------------------------------------------------------------

    def bring_forward(self) -> None:
        """Show, un-minimise and raise the window (a second launch or the tray asked)."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            # The moment a person sees the dashboard; bench/startup.py times launch to it.
            self._painted = True
            log.info("window painted")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._painted:
            self.nav.setFocus()  # the keyboard starts in the navigation
        self.header.start()
        self.current_page.page_shown()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.header.stop()
        self.current_page.page_hidden()
        self._remember_size()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._remember_size()
        event.ignore()
        if not self._close_quits:
            # With a tray icon the gateway keeps serving; the tray brings the window back.
            self.hide()
            return
        # No tray: closing would leave nothing on screen, so ask first (`close_without_tray`).
        choice = remembered_choice(self._state)
        if choice:
            self._closed_without_tray(choice)
        elif self.close_question is None or not self.close_question.isVisible():
            self.close_question = CloseWithoutTray(self._state, self)
            self.close_question.chosen.connect(self._closed_without_tray)
            self.close_question.open()

    def _closed_without_tray(self, choice: str) -> None:
        if choice == KEEP:
            self.hide()
            log.info(
                "window closed; the gateway keeps serving (no tray: launch it again to return)"
            )
        else:
            self._on_quit()


def _as_int(value: object, default: int) -> int:
    """A remembered number (QSettings gives strings back from an ini file), or the default
    when the file holds something else."""
    try:
        return int(str(value))
    except ValueError:
        return default
