"""The line that says a table hides columns for want of room, "+3 columns ▾", at the right end
of the table's header, and the way to show them.

At 1024 px the lists drop columns (Jobs its provider and elapsed time, the Flight recorder its
HTTP status and cost, Agents its failed calls): the line says how many, in one wording
everywhere, the hidden columns named in its tooltip. Whoever hides the columns
(`ColumnFitter`, the Flight recorder's own fitter, Overview's health table) keeps `room()` free
at the end of the line past every heading's words: at the header's end or at the end of the
column that takes the rest of the width (a name, a model: a short heading, a wide section);
where it does not fit there (`fits` is False), the fitter makes `room()` at the header's end;
where even that leaves too little (the columns left are all needed), it says "+5 ▾" instead.

The line is a menu, drawn as one (underlined, with its arrow): clicked, it lists the hidden
columns, and choosing one (`chosen(name)`) asks its fitter to show that column, another
least-needed one giving way instead (`ColumnFitter.prefer`). The same menu opens from the
keyboard: the Menu key (or Shift+F10) in the list, or a right-click on the list or its
headings. The line itself takes no focus: Tab leaves every table (`ui/keyboard.py`), and a
stop inside the header would have kept it there.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmgw_desktop.ui.design import CAPTION, SPACE, scaled_font
from llmgw_desktop.ui.qt import (
    QEvent,
    QHeaderView,
    QLabel,
    QMenu,
    QMouseEvent,
    QObject,
    QPoint,
    Qt,
    QTableView,
    QTreeView,
    Signal,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["HiddenColumnsHint", "hidden_words"]

# The line's words at their longest: the room kept for it at the header's end.
_WIDEST = "+99 columns ▾"
# The header's margin before a heading's words, and a little air after them.
HEADING_MARGIN = 8
# How the keyboard reaches the menu, said in the line's tooltip.
KEYBOARD_WAY = "the Menu key (or Shift+F10) in the list"


def hidden_words(count: int) -> str:
    """`+3 columns`, `+1 column`: how many columns are hidden; "" for none."""
    if not count:
        return ""
    return f"+{count} column{'s' if count != 1 else ''}"


def _words_end(header: QHeaderView) -> int:
    """Where the last heading's words end (a right-aligned heading's, at its section's end):
    the line may lie anywhere past it, over a section's empty end too."""
    model = header.model()
    metrics = header.fontMetrics()
    ends = [0]
    for column in range(header.count()):
        if header.isSectionHidden(column):
            continue
        start = header.sectionViewportPosition(column)
        end = start + header.sectionSize(column)
        heading = str(model.headerData(column, header.orientation()) or "")
        words = max(map(metrics.horizontalAdvance, heading.splitlines() or [""]))
        aligned = model.headerData(column, header.orientation(), Qt.ItemDataRole.TextAlignmentRole)
        on_right = aligned is not None and bool(
            Qt.AlignmentFlag(int(aligned)) & Qt.AlignmentFlag.AlignRight
        )
        ends.append(end if on_right else min(end, start + words + HEADING_MARGIN))
    return max(ends)


class HiddenColumnsHint(QLabel):
    """The line over the right end of `view`'s header; `show_hidden` says what is hidden;
    `chosen(name)` when a person picks a hidden column to show."""

    chosen = Signal(str)

    def __init__(self, view: QTableView | QTreeView) -> None:
        header: QHeaderView = (
            view.horizontalHeader() if isinstance(view, QTableView) else view.header()
        )
        super().__init__(header)
        self.setObjectName("hiddenColumnsHint")
        font = scaled_font(self.font(), CAPTION)
        font.setUnderline(True)  # it opens a menu: drawn as something to press
        self.setFont(font)
        set_tone(self, "muted")
        self._header = header
        self._over: int | None = None  # the column whose section may hold it when the end cannot
        self.hidden_names: list[str] = []
        self.fits = True  # its words lie past every heading's (False: room must be made)
        self.menu: QMenu | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.hide()
        header.installEventFilter(self)
        # Headings resized after the count was said (the fitter sizes them next): placed again.
        header.sectionResized.connect(lambda *_: self._place())
        # The keyboard's way to the same menu: the list's context menu (the Menu key, or
        # Shift+F10, where the focus is; a right-click on the list or its headings).
        for where in (view, header):
            where.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(
            lambda pos: self.open_menu(view.viewport().mapToGlobal(pos))
        )
        header.customContextMenuRequested.connect(
            lambda pos: self.open_menu(header.mapToGlobal(pos))
        )

    def room(self) -> int:
        """The px kept free at the header's end while columns are hidden (for its short
        words; the whole ones where the headings leave more)."""
        return self.fontMetrics().horizontalAdvance(_WIDEST) + 2 * SPACE["s"]

    def show_hidden(self, names: Sequence[str], *, over: int | None = None) -> None:
        """Say that the columns `names` are hidden (nothing when none); `over`: the column
        taking the rest of the width, whose section's end may hold the line."""
        names = [name.replace("\n", " ") for name in names]
        self._over = over
        if names == self.hidden_names and self.isHidden() != bool(names):
            self._place()
            return
        self.hidden_names = names
        words = hidden_words(len(names))
        self.setToolTip(
            f"{words} hidden for want of room: {', '.join(names)}. Click here, or press "
            f"{KEYBOARD_WAY}, to show one."
            if names
            else ""
        )
        self.setAccessibleName(words)
        self.setVisible(bool(names))
        self._place()

    def open_menu(self, at: QPoint | None = None) -> QMenu | None:
        """List the hidden columns under the line (or at `at`, a context menu's place);
        picking one asks for it (`chosen`). None when no column is hidden."""
        if not self.hidden_names:
            return None
        menu = QMenu(self)
        menu.setObjectName("hiddenColumnsMenu")
        for name in self.hidden_names:
            action = menu.addAction(f"Show {name}")
            action.triggered.connect(lambda _checked=False, n=name: self.chosen.emit(n))
        menu.popup(at if at is not None else self.mapToGlobal(QPoint(0, self.height())))
        self.menu = menu
        return menu

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.hidden_names:
            self.open_menu()
        super().mouseReleaseEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._header and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        if not self.hidden_names:
            self.fits = True
            return
        header = self._header
        count = len(self.hidden_names)
        metrics = self.fontMetrics()
        gap = SPACE["s"]
        # The room the headings leave at the header's end, else at the end of the section of
        # the column that takes the rest (beyond its heading's words), where the words fit.
        places = [(header.width() - _words_end(header) - gap, header.width())]
        over = self._over
        if over is not None and not header.isSectionHidden(over):
            heading = str(header.model().headerData(over, header.orientation()) or "")
            words_px = max(
                map(header.fontMetrics().horizontalAdvance, heading.splitlines() or [""])
            )
            start = header.sectionViewportPosition(over)
            end = start + header.sectionSize(over)
            places.append((header.sectionSize(over) - words_px - 3 * gap, end))
        # Its whole words where they fit, else its short ones ("+5 ▾": the tooltip names them),
        # never over a heading's words while the short ones fit somewhere.
        whole = f"{hidden_words(count)} ▾"
        end, words = places[0][1], f"+{count} ▾"
        for said in (whole, words):
            need = metrics.horizontalAdvance(said) + gap
            fits = [place_end for room, place_end in places if room >= need]
            if fits:
                end, words = fits[0], said
                break
        self.fits = words == whole
        if self.text() != words:
            self.setText(words)
        self.adjustSize()
        x = end - self.width() - gap
        self.move(max(0, x), max(0, (header.height() - self.height()) // 2))
        self.raise_()
