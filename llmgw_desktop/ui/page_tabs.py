"""Pages that serve one task, shown as the sub-tabs of one place in the navigation (Keys and
the OAuth clients; Settings and Prices; Log and the notification history).

Each tab is a whole `Page`: it keeps its key (the tray, the palette and `show_page` reach it
by it) and is told it is shown or hidden like any page, by the window, through `pageChanged`.
The sub-tabs are drawn under each page's own head (title, explanation, actions: `PageHead`),
not above it, so every page's title sits where every other page's does; the tab widget's own
bar is hidden and each page's strip follows the current tab. The heads of one place are made
one height (the tallest at the shown head's width), so the strip does not jump from tab to tab
where one page's explanation wraps to more lines than another's.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmgw_desktop.ui.glyphs import NAMES, glyph
from llmgw_desktop.ui.kit.page_head import PageHead
from llmgw_desktop.ui.pages.base import Page
from llmgw_desktop.ui.qt import QEvent, QObject, Qt, QTabBar, QTabWidget, QWidget, Signal

__all__ = ["PageTabs"]


class PageTabs(QTabWidget):
    """A tab per page; `pageChanged(hidden, shown)` when a person switches tabs."""

    pageChanged = Signal(object, object)

    def __init__(self, pages: Sequence[Page], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"tabs:{pages[0].KEY}")
        self.setDocumentMode(True)
        # Each page shows the strip under its own head. The hidden bar must not take the focus:
        # the tab widget hands its focus to it, and Tab would stop dead on the way in.
        self.tabBar().hide()
        self.tabBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusProxy(None)  # type: ignore[arg-type]  # Qt takes None: no proxy
        self.pages = list(pages)
        self.strips: dict[str, QTabBar] = {}
        for page in pages:
            icon = glyph(page.KEY) if page.KEY in NAMES else None
            if icon is not None:
                self.addTab(page, icon, page.TITLE)
            else:
                self.addTab(page, page.TITLE)
        self.heads: list[PageHead] = []
        for page in pages:
            head = page.findChild(PageHead)
            if head is not None:
                strip = self._strip(page)
                head.set_sub_tabs(strip)
                self.strips[page.KEY] = strip
                self.heads.append(head)
                head.top.installEventFilter(self)
        self._current = pages[0]
        self._quiet = False
        self.currentChanged.connect(self._on_changed)

    def _strip(self, page: Page) -> QTabBar:
        """The place's tabs as one page shows them, this page's chosen."""
        strip = QTabBar()
        strip.setObjectName(f"subTabs:{page.KEY}")
        strip.setAccessibleName("Sub-pages")
        strip.setDocumentMode(True)
        strip.setDrawBase(True)
        strip.setExpanding(False)
        for other in self.pages:
            icon = glyph(other.KEY) if other.KEY in NAMES else None
            index = (
                strip.addTab(icon, other.TITLE) if icon is not None else strip.addTab(other.TITLE)
            )
            strip.setTabToolTip(index, f"{other.TITLE} ({self.pages[0].TITLE} place)")
        strip.setCurrentIndex(self.pages.index(page))
        strip.tabBarClicked.connect(self.setCurrentIndex)
        return strip

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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A head's width is known once its page is laid out: its resize, not the tab widget's.
        if event.type() == QEvent.Type.Resize and watched.isWidgetType():
            self._even_heads(watched.width())  # type: ignore[attr-defined]  # a QWidget
        return super().eventFilter(watched, event)

    def _even_heads(self, width: int) -> None:
        """Every head of the place as tall as the tallest at `width` (they share the width)."""
        tallest = max(head.top_height_at(width) for head in self.heads)
        for head in self.heads:
            if head.top.minimumHeight() != tallest:
                head.top.setMinimumHeight(tallest)

    def _on_changed(self, index: int) -> None:
        page = self.widget(index)
        if not isinstance(page, Page) or page is self._current:
            return
        hidden, self._current = self._current, page
        # A click moved the clicked strip's mark; each strip marks its own page again.
        for position, each in enumerate(self.pages):
            strip = self.strips.get(each.KEY)
            if strip is not None and strip.currentIndex() != position:
                strip.setCurrentIndex(position)
        if not self._quiet:
            self.pageChanged.emit(hidden, page)
