"""The window's navigation: places grouped by what a person came to do, each with its icon.

Four groups (Monitor, Use, Configure, Help); a place is one page, or two pages that serve one
task shown as tabs of it (Keys with the OAuth clients: who may call the gateway; Log with the
notification history: what happened). A place's other pages are its tabs, under every page's
head (`page_tabs`), and named in the place's tooltip; the navigation lists each place once
(listed again, indented, the tabs were the same choice twice). A group's heading is an item no
one can select, so the arrow keys step over it. Each place has a shortcut from its position
(`place_shortcut`: Ctrl+1 ... Ctrl+9, Ctrl+0, then Alt+1 ...), shown in its tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmgw_desktop.ui.design import CAPTION, NAV_WIDTH, scaled_font
from llmgw_desktop.ui.glyphs import NAMES, glyph
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QFont,
    QListWidget,
    QListWidgetItem,
    QSize,
    Qt,
    QWidget,
    Signal,
)

__all__ = ["NavList", "Place", "place_shortcut"]

# Digits in keyboard order; Alt+digit goes on where Ctrl+digit ends (menus take Alt+letters).
_DIGITS = "1234567890"
ICON_SIZE = 18
# Row heights that keep every entry on a 700 px screen without scrolling.
PLACE_HEIGHT = 30
HEADING_HEIGHT, FIRST_HEADING_HEIGHT = 26, 22


def place_shortcut(index: int) -> str | None:
    """The key sequence of the place at `index` in the list (from 0), or None past the 20th."""
    modifier, digit = divmod(index, len(_DIGITS))
    if modifier >= 2:
        return None
    return f"{('Ctrl', 'Alt')[modifier]}+{_DIGITS[digit]}"


@dataclass(frozen=True)
class Place:
    """One entry of the navigation: its key (its first page's), title, and the keys of the
    pages it shows (more than one: tabs)."""

    key: str
    title: str
    pages: tuple[str, ...]


class NavList(QListWidget):
    """Group headings, places and their other pages; `placeChosen(key)` when one is picked
    (a place's key, or the page key of an entry under a place)."""

    placeChosen = Signal(str)

    def __init__(
        self,
        groups: list[tuple[str, list[Place]]],
        titles: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("nav")
        self.setAccessibleName("Pages")
        self.setFixedWidth(NAV_WIDTH - 16)  # in its column, inside the column's margins
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.places: list[Place] = []
        self._rows: dict[str, int] = {}
        heading_font = scaled_font(self.font(), CAPTION, weight=QFont.Weight.DemiBold)
        for group, places in groups:
            heading = QListWidgetItem(group.upper())
            heading.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable: arrows step over it
            heading.setFont(heading_font)
            heading.setSizeHint(
                QSize(NAV_WIDTH, HEADING_HEIGHT if self.count() else FIRST_HEADING_HEIGHT)
            )
            heading.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            self.addItem(heading)
            for place in places:
                index = len(self.places)
                self.places.append(place)
                keys = place_shortcut(index)
                item = QListWidgetItem(place.title)
                item.setData(Qt.ItemDataRole.UserRole, place.key)
                if place.key in NAMES:
                    item.setIcon(glyph(place.key))
                item.setSizeHint(QSize(NAV_WIDTH, PLACE_HEIGHT))
                item.setToolTip(f"{place.title} ({keys})" if keys else place.title)
                self.addItem(item)
                self._rows[place.key] = self.count() - 1
                others = [(titles or {}).get(key, key) for key in place.pages[1:]]
                if others:  # its tabs, named where the place is
                    item.setToolTip(f"{item.toolTip()}; with {', '.join(others)}")
        self.currentRowChanged.connect(self._on_row)

    def has_row(self, key: str) -> bool:
        """Whether `key` is a place with its own entry (a tab has none: its place's is it)."""
        return key in self._rows

    def row_of(self, place_key: str) -> int:
        """The list row of place `place_key` (or of a page listed under a place).

        Raises:
            KeyError: no such place.
        """
        return self._rows[place_key]

    def select(self, place_key: str) -> None:
        """Make `place_key` the current place (announced through `placeChosen`)."""
        self.setCurrentRow(self.row_of(place_key))

    def _on_row(self, row: int) -> None:
        item = self.item(row) if row >= 0 else None
        key = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if isinstance(key, str):
            self.placeChosen.emit(key)
