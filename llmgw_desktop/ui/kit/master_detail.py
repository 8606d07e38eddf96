"""The list-and-details split: a list on the left, the chosen row's details on the right.

`MasterDetail` is a horizontal splitter the person can drag (neither side collapses away);
the details sit in a scroll area, so a long detail never makes the window taller than the
screen. Until the person drags it, the list keeps its share of the width however the window is
resized: Qt's own resizing keeps the proportion the split had, and at 1024 px, where the details
are held at their minimum width, that is less than the list's share, so a window opened small
and then maximised kept the list narrow (the Jobs page's prompt at its floor at 1920 px).
`DetailCard` is what the right side shows: a heading with a status badge, rows of label and
value, and the row's actions.
"""

from __future__ import annotations

from llmgw_desktop.ui.badge import StatusBadge
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.text import heading
from llmgw_desktop.ui.qt import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPaintEvent,
    QResizeEvent,
    QScrollArea,
    QShowEvent,
    QSplitter,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.terms import meaning
from llmgw_desktop.ui.theme import paint_card, set_tone

__all__ = ["DetailCard", "MasterDetail", "value_label"]

# How the width is shared at first: the list gets this share (the details the rest).
LIST_SHARE = 0.56
DETAIL_MIN_WIDTH = 280


def value_label(name: str = "") -> QLabel:
    """A value in a details card: selectable, wrapping (a long path never widens the page)."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DetailCard(QFrame):
    """A heading with a status badge, rows of label and value, and actions at the bottom."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.heading = heading("")
        self.heading.setObjectName(f"{name}Heading")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge = StatusBadge()
        top = QHBoxLayout()
        top.setSpacing(SPACE["s"])
        top.addWidget(self.heading, 1)
        top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # A narrow pane puts a value under its label rather than widening the page.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form.setHorizontalSpacing(SPACE["m"])
        self.form.setVerticalSpacing(SPACE["s"])
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(SPACE["s"])
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(SPACE["l"], SPACE["m"], SPACE["l"], SPACE["m"])
        self.column.setSpacing(SPACE["m"])
        self.column.addLayout(top)
        self.column.addLayout(self.form)
        self.column.addLayout(self.action_row)
        self.column.addStretch(1)  # the facts stay together at the top of a tall pane

    def paintEvent(self, event: QPaintEvent) -> None:
        # A card: the look's surface with a thin border and round corners (painted, not a
        # style sheet, which would re-polish everything inside it).
        paint_card(self)

    def add_row(self, label: str, field: QWidget | QLayout) -> None:
        """A row of the card: a muted label and its value."""
        name = QLabel(label)
        set_tone(name, "muted")
        name.setToolTip(meaning(label))  # a word of the trade ("Circuit"): what it means
        if isinstance(field, QWidget):
            name.setBuddy(field)
            if not field.accessibleName():
                field.setAccessibleName(label)
        self.form.addRow(name, field)

    def set_row_visible(self, field: QWidget | QLayout, visible: bool) -> None:
        """Show or hide the row holding `field`."""
        self.form.setRowVisible(field, visible)


class MasterDetail(QSplitter):
    """The list (left) and the details (right, scrolling when taller than the page)."""

    def __init__(
        self,
        master: QWidget,
        detail: QWidget,
        parent: QWidget | None = None,
        *,
        list_share: float = LIST_SHARE,
    ):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.list_share = list_share
        self.setObjectName("masterDetail")
        self.setChildrenCollapsible(False)
        self.setHandleWidth(SPACE["s"])
        self.master = master
        self.detail_area = QScrollArea()
        self.detail_area.setObjectName("detailScroll")
        self.detail_area.setWidgetResizable(True)
        self.detail_area.setFrameShape(QFrame.Shape.NoFrame)
        self.detail_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.detail_area.setWidget(detail)
        self.detail_area.setMinimumWidth(DETAIL_MIN_WIDTH)
        self.addWidget(master)
        self.addWidget(self.detail_area)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.dragged = False  # the person moved the handle: their split stands from then on
        self.splitterMoved.connect(self._dragged)

    def _dragged(self, _position: int, _index: int) -> None:
        # Only the handle moves it (`setSizes` says nothing).
        self.dragged = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._share()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.isVisible():
            self._share()

    def _share(self) -> None:
        """The list's share of the width (the details never under their minimum), rather than
        Qt's size hints or the proportion an earlier, narrower window left."""
        if self.dragged or self.width() <= 0:
            return
        total = self.width() - self.handleWidth()
        left = round(total * self.list_share)
        if self.sizes() != [left, total - left]:
            self.setSizes([left, total - left])
