"""A figure read at a glance: a small caption ("Spent today"), the figure itself large in its
tone's colour ("$0.0688", "1 provider"), and two lines of what it counts under it (the whole
of it in the card's accessible name). A card is a
button to the place that explains the figure (its tooltip says where), so the first screen
answers a question and leads to the details in one click.
"""

from __future__ import annotations

from llmgw_desktop.ui.design import CAPTION, SPACE, scaled_font
from llmgw_desktop.ui.qt import (
    QFont,
    QFrame,
    QKeyEvent,
    QLabel,
    QMouseEvent,
    QPaintEvent,
    QRect,
    QResizeEvent,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import paint_card, set_tone

__all__ = ["StatCard"]

FIGURE_SIZE = 1.7  # times the app's font: the largest text on the page
DETAIL_LINES = 2


class StatCard(QFrame):
    """Caption, figure and detail; `clicked` when pressed (mouse, Enter or Space)."""

    clicked = Signal()

    def __init__(self, name: str, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"figure:{name}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.caption = QLabel(caption)
        self.caption.setFont(scaled_font(self.caption.font(), CAPTION))
        set_tone(self.caption, "muted")
        self.value = QLabel()
        self.value.setObjectName(f"figureValue:{name}")
        self.value.setFont(
            scaled_font(self.value.font(), FIGURE_SIZE, weight=QFont.Weight.DemiBold)
        )
        self.detail = QLabel()
        self.detail.setObjectName(f"figureDetail:{name}")
        self.detail.setWordWrap(True)
        self.detail.setFont(scaled_font(self.detail.font(), CAPTION))
        set_tone(self.detail, "muted")
        # Two lines, always: the cards of a row stay one height whatever their words (a row
        # lays its cards out by their hints, not by their wrapped text's height).
        self.detail.setFixedHeight(DETAIL_LINES * self.detail.fontMetrics().lineSpacing())
        self.detail.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout(self)
        column.setContentsMargins(SPACE["m"], SPACE["s"], SPACE["m"], SPACE["s"])
        column.setSpacing(2)
        column.addWidget(self.caption)
        column.addWidget(self.value)
        column.addWidget(self.detail)
        column.addStretch(1)
        self._tone = ""
        self._details: tuple[str, ...] = ()  # the detail, then its shorter forms

    def show_figure(
        self,
        value: str,
        detail: str,
        tone: str = "",
        tip: str = "",
        *,
        shorter: tuple[str, ...] = (),
    ) -> None:
        """Show `value` in `tone` ("ok", "warning", "error", "" for the text's own) over
        `detail`, or over the first of `shorter` (longest first) that fits the card's lines
        where `detail` does not; each set only when it changed (a changed label lays the page
        out again)."""
        if self.value.text() != value:
            self.value.setText(value)
        self._details = (detail, *shorter)
        self._fit_detail()
        if tone != self._tone:
            self._tone = tone
            set_tone(self.value, tone)
        if self.toolTip() != tip:
            self.setToolTip(tip)
        words = f"{self.caption.text()}: {value}. {detail}"
        if self.accessibleName() != words:
            self.setAccessibleName(words)

    def _fit_detail(self) -> None:
        """The longest of the detail's forms that its lines hold at the label's width."""
        if not self._details:
            return
        width = self.detail.width()
        metrics = self.detail.fontMetrics()
        room = QRect(0, 0, max(1, width), 10_000)
        chosen = self._details[-1]
        for words in self._details:
            needed = metrics.boundingRect(room, Qt.TextFlag.TextWordWrap, words).height()
            if needed <= self.detail.height():
                chosen = words
                break
        if self.detail.text() != chosen:
            self.detail.setText(chosen)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_detail()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        # The look's surface with a thin border, round corners, and the focus in the accent
        # (painted, as the code blocks are: see theme.py).
        paint_card(self, focused=self.hasFocus())
