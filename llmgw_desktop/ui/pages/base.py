"""What every dashboard page gets and may do.

A page is a widget with a stable `KEY` (used by the tray's "open page" actions and to
remember the last page) and a `TITLE`. Pages bind to the engine only through the bridge's
signals and the engine's public methods (never the store), and refresh only while shown:
`page_shown` and `page_hidden` tell them when.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import Engine
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.design import SPACE, page_margins
from llmgw_desktop.ui.kit.page_head import PageHead
from llmgw_desktop.ui.login_switch import Autostart
from llmgw_desktop.ui.navigator import navigator_of
from llmgw_desktop.ui.qt import QFrame, QScrollArea, QVBoxLayout, QWidget
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["Page", "PageContext", "WindowFacts"]


@dataclass(frozen=True)
class WindowFacts:
    """What the window shows that does not change while it is open."""

    endpoint: str
    health_url: str
    data_dir: Path
    log_file: Path
    # The settings as loaded at start: where each value came from, and the file read (the
    # Settings page). None where the window is built without them, as in some unit tests.
    loaded_settings: LoadedSettings | None = None
    # The OS's start-at-login switch (the Settings page shows it); None where not offered.
    autostart: Autostart | None = None


@dataclass(frozen=True)
class PageContext:
    """Everything a page may use."""

    bridge: EngineBridge
    actions: GatewayActions
    facts: WindowFacts

    @property
    def engine(self) -> Engine:
        return self.bridge.engine


class Page(QWidget):
    """Base of the dashboard pages."""

    KEY = ""
    TITLE = ""
    # One line on what the page is for, under its title (`PageHead`); "" for none.
    BLURB = ""

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName(f"page:{self.KEY}")
        self.tasks = UiTasks(on_error=self.show_error)

    @property
    def engine(self) -> Engine:
        return self.context.engine

    def install_head(self) -> None:
        """Give the page the window's page head (its title and blurb) and margins, unless it
        laid out its own head: every page starts the same way."""
        layout = self.layout()
        if layout is None or self.findChild(PageHead) is not None:
            return
        if not isinstance(layout, QVBoxLayout):
            return
        layout.insertWidget(0, PageHead(self.TITLE, self.BLURB))
        if layout.contentsMargins().left() > 0:
            page_margins(layout)
        else:  # a page that scrolls as a whole: the head keeps the margins of the rest
            layout.setContentsMargins(0, 12, 0, 0)

    def scrolling_column(self) -> QVBoxLayout:
        """The page's content column, in a scroll area under its head (with every page's
        margins): a page taller than a small window scrolls rather than making the window
        taller (the window is as tall as the tallest page built)."""
        outer = QVBoxLayout(self)
        page_margins(outer)
        area = QScrollArea()
        area.setObjectName("pageScroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, SPACE["xs"], 0)
        area.setWidget(content)
        outer.addWidget(area, 1)
        return column

    def page_shown(self) -> None:
        """The page became the visible one: start refreshing."""

    def page_hidden(self) -> None:
        """Another page is shown, or the window is hidden: stop refreshing."""

    def show_error(self, message: str) -> None:
        """Tell the person something failed (the window shows it in its status bar)."""
        navigator = navigator_of(self)
        if navigator is not None:
            navigator.say(message)
