"""The dashboard window: a list of pages on the left, the chosen page on the right.

Pages come from `PAGES` (each a `Page` subclass); `show_page(key)` is how the tray and the
keyboard switch between them. Every page has a shortcut from its place in the list
(`page_shortcut`: Ctrl+1 ... Ctrl+9, Ctrl+0, then Alt+1 ... Alt+0), so a page added to `PAGES`
gets one without an edit here. The window remembers its size and last page
in `ui.ini` in the data folder. The menu bar holds the gateway actions shared with the tray.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from llmgw_desktop import __version__
from llmgw_desktop.ui.access_panel import AccessPanel
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.icons import app_icon
from llmgw_desktop.ui.keyboard import let_tab_leave_tables
from llmgw_desktop.ui.notifications import NotificationLog, NotificationsPage
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
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from llmgw_desktop.ui.qt import (
    QCheckBox,
    QCloseEvent,
    QHBoxLayout,
    QHideEvent,
    QKeySequence,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPaintEvent,
    QSettings,
    QShortcut,
    QShowEvent,
    QStackedWidget,
    Qt,
    QWidget,
)

__all__ = ["PAGES", "MainWindow", "WindowFacts", "page_shortcut"]

log = logging.getLogger(__name__)

NOTICE_MS = 6000
DEFAULT_SIZE = (980, 680)
PAGES: tuple[type[Page], ...] = (
    OverviewPage,
    JobsPage,
    RecorderPage,
    PlaygroundPage,
    AgentsPage,
    BudgetsPage,
    ProvidersPage,
    CredentialsPage,
    ClientsPage,
    McpServersPage,
    KeysPage,
    SettingsPage,
    ConnectPage,
    NotificationsPage,
    LogPage,
)


# Digits in keyboard order; Alt+digit goes on where Ctrl+digit ends (menus take Alt+letters).
_DIGITS = "1234567890"


def page_shortcut(index: int) -> str | None:
    """The key sequence of the page at `index` in the list (from 0), or None past the 20th."""
    modifier, digit = divmod(index, len(_DIGITS))
    if modifier >= 2:
        return None
    return f"{('Ctrl', 'Alt')[modifier]}+{_DIGITS[digit]}"


class MainWindow(QMainWindow):
    """Navigation, pages, and the menu bar with the gateway actions."""

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
        self._state = QSettings(str(facts.data_dir / "ui.ini"), QSettings.Format.IniFormat)
        self.setWindowTitle(f"llmgw-desktop {__version__}")
        self.setWindowIcon(app_icon())
        self.menuBar().addMenu(actions.build_menu("&Gateway", self))
        help_menu = self.menuBar().addMenu("&Help")
        # The app connects it: the guide needs the running engine's endpoint.
        self.guide_action = help_menu.addAction("First-run &guide…")

        context = PageContext(bridge=bridge, actions=actions, facts=facts)
        self.pages: dict[str, Page] = {}
        self._shortcuts: list[QShortcut] = []  # kept: PySide drops an unreferenced wrapper's slot
        self.nav = QListWidget()
        self.nav.setObjectName("pageList")
        self.nav.setFixedWidth(170)
        self.stack = QStackedWidget()
        for index, page_type in enumerate(PAGES):
            page = page_type(context)
            self.pages[page.KEY] = page
            self.stack.addWidget(page)
            item = QListWidgetItem(page.TITLE)
            item.setData(Qt.ItemDataRole.UserRole, page.KEY)
            keys = page_shortcut(index)
            if keys is not None:
                item.setToolTip(f"{page.TITLE} ({keys})")
                shortcut = QShortcut(QKeySequence(keys), self)
                shortcut.activated.connect(lambda key=page.KEY: self.show_page(key))
                self._shortcuts.append(shortcut)
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self._on_row)
        let_tab_leave_tables(self)

        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        bridge.notice.connect(
            lambda _level, message: self.statusBar().showMessage(message, NOTICE_MS)
        )
        # What the status bar shows (a notice, a page's error, an action's result) is kept.
        self.statusBar().messageChanged.connect(
            lambda text: self.notifications.record("status", text)
        )
        self._restore()

    # -- the pages that used to be the whole window, kept for the tray and tests -------------

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
    def endpoint_label(self) -> QLabel:
        return self.overview.endpoint_label

    @property
    def provider_boxes(self) -> dict[str, QCheckBox]:
        return self.overview.provider_boxes

    @property
    def access(self) -> AccessPanel:
        clients = self.pages[ClientsPage.KEY]
        assert isinstance(clients, ClientsPage)
        return clients.access

    def refresh_status(self) -> None:
        self.overview.refresh_status()

    # -- navigation ---------------------------------------------------------------------

    @property
    def current_page(self) -> Page:
        page = self.stack.currentWidget()
        assert isinstance(page, Page)
        return page

    def show_page(self, key: str) -> None:
        """Switch to the page `key` (and bring the window forward if it is hidden)."""
        keys = list(self.pages)
        if key not in self.pages:
            raise KeyError(f"no dashboard page {key!r}; pages: {keys}")
        self.nav.setCurrentRow(keys.index(key))
        if not self.isVisible():
            self.bring_forward()

    def _on_row(self, row: int) -> None:
        if row < 0:
            return
        previous = self.current_page
        page = self.stack.widget(row)
        if previous is not page and isinstance(previous, Page):
            previous.page_hidden()
        self.stack.setCurrentIndex(row)
        if page is not None:
            let_tab_leave_tables(page)  # a page may have built a table since
        if isinstance(page, Page):
            self._state.setValue("page", page.KEY)
            if self.isVisible():
                page.page_shown()

    def _restore(self) -> None:
        width = _as_int(self._state.value("width"), DEFAULT_SIZE[0])
        height = _as_int(self._state.value("height"), DEFAULT_SIZE[1])
        self.resize(max(640, width), max(480, height))
        key = str(self._state.value("page", OverviewPage.KEY))
        keys = list(self.pages)
        self.nav.setCurrentRow(keys.index(key) if key in keys else 0)

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
        self.current_page.page_shown()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.current_page.page_hidden()
        self._remember_size()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._remember_size()
        event.ignore()
        if self._close_quits:
            self._on_quit()
        else:
            # With a tray icon the gateway keeps serving; the tray brings the window back.
            self.hide()


def _as_int(value: object, default: int) -> int:
    """A remembered number (QSettings gives strings back from an ini file), or the default
    when the file holds something else."""
    try:
        return int(str(value))
    except ValueError:
        return default
