"""Pages that serve one task, shown as the tabs of one place in the navigation (Keys and the
OAuth clients; Log and the notification history).

Each tab is a whole `Page`: it keeps its key (the tray, the palette and `show_page` reach it
by it) and is told it is shown or hidden like any page, by the window, through `pageChanged`.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmgw_desktop.ui.glyphs import NAMES, glyph
from llmgw_desktop.ui.pages.base import Page
from llmgw_desktop.ui.qt import QTabWidget, QWidget, Signal

__all__ = ["PageTabs"]


class PageTabs(QTabWidget):
    """A tab per page; `pageChanged(hidden, shown)` when a person switches tabs."""

    pageChanged = Signal(object, object)

    def __init__(self, pages: Sequence[Page], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"tabs:{pages[0].KEY}")
        self.setDocumentMode(True)
        self.pages = list(pages)
        for page in pages:
            icon = glyph(page.KEY) if page.KEY in NAMES else None
            if icon is not None:
                self.addTab(page, icon, page.TITLE)
            else:
                self.addTab(page, page.TITLE)
        self._current = pages[0]
        self._quiet = False
        self.currentChanged.connect(self._on_changed)

    @property
    def current_page(self) -> Page:
        return self._current

    def show_tab(self, page: Page, *, announce: bool) -> None:
        """Make `page` the current tab; `announce` tells the window (as a click does)."""
        self._quiet = not announce
        try:
            self.setCurrentWidget(page)
        finally:
            self._quiet = False

    def _on_changed(self, index: int) -> None:
        page = self.widget(index)
        if not isinstance(page, Page) or page is self._current:
            return
        hidden, self._current = self._current, page
        if not self._quiet:
            self.pageChanged.emit(hidden, page)
