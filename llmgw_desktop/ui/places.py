"""The window's places, each built the first time it is shown (or one of its pages is asked for).

A place is one page, or the pages of one task shown as tabs (`PageTabs`). Until it is needed,
a place is an empty widget in the window's stack: a launch builds the place it opens on (and
the few the window needs at once), not all sixteen pages, which saves the window's start-up
most of their cost in time and memory. `pages` is a mapping of every page by its key, in the
navigation's order, that builds a page's place when the page is looked up, so the tray, the
palette, the header and other pages reach any page by its key as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from llmgw_desktop.ui.nav import Place
from llmgw_desktop.ui.page_tabs import PageTabs
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import QStackedWidget, QWidget

__all__ = ["LazyPages", "PlaceStack"]

Groups = Sequence[tuple[str, Sequence[Sequence[type[Page]]]]]


class LazyPages(Mapping[str, Page]):
    """Every page by its key; looking one up builds its place if it is not built yet."""

    def __init__(self, order: list[str], build: Callable[[str], None], built: dict[str, Page]):
        self._order = order
        self._build = build
        self._built = built

    def __getitem__(self, key: str) -> Page:
        if key not in self._built:
            if key not in self._order:
                raise KeyError(key)
            self._build(key)
        return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order


class PlaceStack:
    """The places of `groups` in `stack`, built on demand; `on_built(widget, pages)` after
    each is built (the window wires it: tabs, keyboard, names, signals)."""

    def __init__(
        self,
        context: PageContext,
        groups: Groups,
        stack: QStackedWidget,
        on_built: Callable[[QWidget, list[Page]], None],
    ) -> None:
        self._context = context
        self._stack = stack
        self._on_built = on_built
        self.places: dict[str, Place] = {}
        self.groups: list[tuple[str, list[Place]]] = []
        self.titles: dict[str, str] = {}  # every page's key -> its title, none built
        self.built: dict[str, Page] = {}
        self._types: dict[str, Sequence[type[Page]]] = {}
        self._place_of: dict[str, str] = {}
        self._widgets: dict[str, QWidget] = {}
        self._placeholders: dict[str, QWidget] = {}
        for group, places in groups:
            listed: list[Place] = []
            for page_types in places:
                first = page_types[0]
                place = Place(first.KEY, first.TITLE, tuple(t.KEY for t in page_types))
                self.places[place.key] = place
                self._types[place.key] = page_types
                for page_type in page_types:
                    self.titles[page_type.KEY] = page_type.TITLE
                    self._place_of[page_type.KEY] = place.key
                placeholder = QWidget()
                placeholder.setObjectName(f"unbuilt:{place.key}")
                self._placeholders[place.key] = placeholder
                stack.addWidget(placeholder)
                listed.append(place)
            self.groups.append((group, listed))
        self.pages = LazyPages(list(self.titles), self.build_page, self.built)

    def place_of(self, page_key: str) -> str:
        """The key of the place showing page `page_key`.

        Raises:
            KeyError: no page has that key.
        """
        return self._place_of[page_key]

    def widget(self, place_key: str) -> QWidget:
        """The place's page or tabs, built now if it was not."""
        if place_key not in self._widgets:
            self._build(place_key)
        return self._widgets[place_key]

    def build_page(self, page_key: str) -> None:
        """Build the place that shows page `page_key`."""
        self.widget(self._place_of[page_key])

    def _build(self, place_key: str) -> None:
        pages = [page_type(self._context) for page_type in self._types[place_key]]
        for page in pages:
            page.install_head()
            self.built[page.KEY] = page
        widget: QWidget = pages[0] if len(pages) == 1 else PageTabs(pages)
        placeholder = self._placeholders.pop(place_key)
        index = self._stack.indexOf(placeholder)
        was_current = self._stack.currentWidget() is placeholder
        self._stack.insertWidget(index, widget)
        self._stack.removeWidget(placeholder)
        placeholder.deleteLater()
        if was_current:
            self._stack.setCurrentWidget(widget)
        self._widgets[place_key] = widget
        self._on_built(widget, pages)
