"""A snippet to copy, shown as a code block: a header bar (who it is for, where it goes, and the
Copy buttons) over the code in a monospace font on the field colour.

The buttons sit in the block's own header, beside the words they copy, so on a wide window
they are never a screen's width away from their snippet. The code wraps at the block's width
(a long command never makes the page scroll sideways) and keeps its whole height.
"""

from __future__ import annotations

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.qt import (
    QColor,
    QEvent,
    QFontDatabase,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPaintEvent,
    QPalette,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import current_look, paint_card, set_tone

__all__ = ["CodeBlock"]


class CodeBlock(QFrame):
    """`title` · `where` and buttons above the code; `add_button` puts a button in the bar."""

    def __init__(self, title: str, where: str, code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"codeBlock:{title}")
        self.title = QLabel(f"<b>{title}</b>")
        self.where = QLabel(where)
        set_tone(self.where, "muted")
        self.code = QLabel(code)
        self.code.setObjectName(f"snippet:{title}")
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.setTextFormat(Qt.TextFormat.PlainText)
        self.code.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.code.setWordWrap(True)
        self.code.setAccessibleName(f"{title} snippet")
        self.code.setContentsMargins(SPACE["m"], SPACE["s"], SPACE["m"], SPACE["s"])
        self.code.setAutoFillBackground(True)
        self._paint_code_ground()
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(SPACE["m"], SPACE["xs"], SPACE["xs"], SPACE["xs"])
        self.bar.setSpacing(SPACE["s"])
        self.bar.addWidget(self.title)
        self.bar.addWidget(self.where)
        self.bar.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(1, 1, 1, 1)
        column.setSpacing(0)
        column.addLayout(self.bar)
        column.addWidget(self.code)

    def add_button(self, button: QPushButton) -> QPushButton:
        """Put `button` at the right end of the block's header bar."""
        self.bar.addWidget(button)
        return button

    def set_code(self, code: str) -> None:
        if self.code.text() != code:
            self.code.setText(code)

    def _paint_code_ground(self) -> None:
        palette = self.code.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(current_look().base))
        self.code.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._paint_code_ground()  # the look switched: the code's ground follows

    def paintEvent(self, event: QPaintEvent) -> None:
        # The block: the look's surface with a thin border and round corners; the code below
        # its bar on the field colour (painted, not a style sheet: see theme.py).
        paint_card(self)
