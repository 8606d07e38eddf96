"""The Log page's text: the lines of the log, a warning or an error marked so it stands out.

A line of a WARNING record (its traceback too) starts with the warning glyph and is drawn in the
warning tone; an ERROR or CRITICAL one with the error glyph, in the error tone; DEBUG lines are
muted. The glyph is the icon font's character (a plain-text view draws no images); the text a
person copies leaves it out, so it is the file's own.
Long lines wrap at the view's width by default (at 1024 px a line was cut at the right edge and
the view scrolled sideways); `set_wrap(False)` keeps each record on one line.
"""

from __future__ import annotations

from collections.abc import Iterable

from llmgw_desktop.ui.glyphs import glyph_char, glyph_family
from llmgw_desktop.ui.pages.log_tail import LEVELS, MAX_LINES, LogLine
from llmgw_desktop.ui.qt import (
    QColor,
    QEvent,
    QFontDatabase,
    QPlainTextEdit,
    QTextCharFormat,
    QTextCursor,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import current_look

__all__ = ["LogView", "marker_of"]


def marker_of(level: int) -> str:
    """The glyph a line of a record at `level` starts with ("" for none): warning or error."""
    if level >= LEVELS["ERROR"]:
        return "error"
    if level >= LEVELS["WARNING"]:
        return "warning"
    return ""


class LogView(QPlainTextEdit):
    """Read-only log lines, marked by level, wrapping at the width unless told not to;
    `lookChanged` when the look switched (the lines want drawing again in its colours)."""

    lookChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logView")
        self.setAccessibleName("The app's log")
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.set_wrap(True)
        self._look = current_look().name
        family = glyph_family()
        # A marker is the glyph's character and a space, drawn in the icon font.
        self._markers = {
            name: f"{glyph_char(name)} "
            for name in ("warning", "error")
            if family and glyph_char(name)
        }
        self._glyph_font = [family] if family else []

    def set_wrap(self, wrap: bool) -> None:
        """Wrap long lines at the view's width (True), or scroll sideways (False)."""
        self.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if wrap else QPlainTextEdit.LineWrapMode.NoWrap
        )

    def plain_text(self) -> str:
        """The lines as the file has them (without the glyphs)."""
        text = self.toPlainText()
        for marker in self._markers.values():
            text = text.replace(marker, "")
        return text

    def show_lines(self, lines: Iterable[LogLine]) -> int:
        """Replace the text with `lines`; how many."""
        self.clear()
        return self.add_lines(lines)

    def add_lines(self, lines: Iterable[LogLine]) -> int:
        """Add `lines` at the end; how many."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        look = current_look()
        colours = {"error": look.error, "warning": look.warning, "debug": look.muted}
        added = 0
        cursor.beginEditBlock()
        for line in lines:
            if not self.document().isEmpty() or added:
                cursor.insertBlock()
            marker = marker_of(line.level)
            if marker in self._markers:
                drawn = QTextCharFormat()
                drawn.setFontFamilies(self._glyph_font)
                drawn.setForeground(QColor(colours[marker]))
                cursor.insertText(self._markers[marker], drawn)
            words = QTextCharFormat()
            tone = marker or ("debug" if line.level < LEVELS["INFO"] else "")
            if tone:
                words.setForeground(QColor(colours[tone]))
            cursor.insertText(line.text, words)
            added += 1
        cursor.endEditBlock()
        return added

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._look != current_look().name:
            self._look = current_look().name
            self.lookChanged.emit()
