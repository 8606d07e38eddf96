"""Markdown as a chat shows it: prose rendered (emphasis, lists, headings, tables, inline code)
and each fenced code block as a `CodeBlock` with its own Copy button.

A model's answer is text from outside: it is rendered with raw HTML off (Qt's Markdown reader
would otherwise take `<img src=...>` or a style sheet from it), and an image is shown as its
alternative text, never loaded (a local path would be read from disk). Links are drawn and
open in the browser only for http and https, on a click.

The text may arrive a few characters at a time (`append`): it is split again on each change,
and only the parts whose text changed are rendered again, so a long answer streams without
rebuilding what is already on screen. A fence still open at the end is shown as code as it
streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.kit.code_block import CodeBlock
from llmgw_desktop.ui.qt import (
    QApplication,
    QDesktopServices,
    QFont,
    QLabel,
    QPushButton,
    Qt,
    QTextDocument,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
)

__all__ = ["MarkdownView", "Segment", "prose_html", "split_markdown"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
COPIED_FOR_MS = 1500  # how long a Copy button says "Copied"


@dataclass(frozen=True)
class Segment:
    """A run of prose, or one fenced code block (its language as the fence names it)."""

    kind: Literal["prose", "code"]
    text: str
    language: str = ""


def split_markdown(text: str) -> list[Segment]:
    """`text` cut into prose and fenced code blocks, in order; blank prose is left out and a
    fence not closed yet runs to the end (an answer still streaming)."""
    segments: list[Segment] = []
    lines: list[str] = []
    fence = ""
    language = ""

    def flush(kind: Literal["prose", "code"]) -> None:
        body = "\n".join(lines)
        if kind == "code" or body.strip():
            segments.append(Segment(kind, body if kind == "code" else body.strip(), language))
        lines.clear()

    for line in text.split("\n"):
        if not fence:
            opened = _FENCE.match(line)
            if opened:
                flush("prose")
                fence, language = opened.group(1), opened.group(2)
                continue
        elif line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            flush("code")
            fence, language = "", ""
            continue
        lines.append(line)
    flush("code" if fence else "prose")
    return segments


def prose_html(text: str, font: QFont) -> str:
    """Markdown prose as the rich text a label shows, raw HTML off and images as their
    alternative text."""
    document = QTextDocument()
    document.setDefaultFont(font)
    features = QTextDocument.MarkdownFeature
    document.setMarkdown(
        _IMAGE.sub(lambda found: found.group(1), text),
        features.MarkdownDialectGitHub | features.MarkdownNoHTML,
    )
    return document.toHtml()


def _open_web_link(link: str) -> None:
    url = QUrl(link)
    if url.scheme() in ("http", "https"):
        QDesktopServices.openUrl(url)


class _Prose(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("markdownProse")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setOpenExternalLinks(False)
        self.linkActivated.connect(_open_web_link)
        self.source = ""

    def show_source(self, text: str) -> None:
        if text != self.source:
            self.source = text
            self.setText(prose_html(text, self.font()))
            self.setAccessibleName(text[:200])


class _Code(CodeBlock):
    def __init__(self, language: str) -> None:
        super().__init__(language or "code", "", "")
        self.language = language
        self.copy_button = self.add_button(QPushButton("Copy"))
        self.copy_button.setObjectName("copyCode")
        self.copy_button.setIcon(glyph("copy"))
        self.copy_button.setToolTip("Copy this code to the clipboard")
        self.copy_button.clicked.connect(self.copy)

    def copy(self) -> None:
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.code.text())
        self.copy_button.setText("Copied")
        QTimer.singleShot(COPIED_FOR_MS, self, lambda: self.copy_button.setText("Copy"))


class MarkdownView(QWidget):
    """Markdown text, rendered as it grows; `toPlainText()` is the text as written."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._parts: list[tuple[Segment, QWidget]] = []
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(SPACE["s"])

    def toPlainText(self) -> str:
        return self._text

    def setPlainText(self, text: str) -> None:
        self._text = text
        self._render()

    def clear(self) -> None:
        self.setPlainText("")

    def append(self, piece: str) -> None:
        """Add `piece` at the end (a streamed answer's next characters)."""
        self._text += piece
        self._render()

    def code_blocks(self) -> list[CodeBlock]:
        """The code blocks shown, in order."""
        return [widget for _segment, widget in self._parts if isinstance(widget, CodeBlock)]

    def prose(self) -> list[QLabel]:
        """The prose parts shown, in order."""
        return [widget for _segment, widget in self._parts if isinstance(widget, QLabel)]

    def _render(self) -> None:
        segments = split_markdown(self._text)
        for number, segment in enumerate(segments):
            if number < len(self._parts):
                shown, widget = self._parts[number]
                if shown == segment:
                    continue
                if shown.kind == segment.kind and shown.language == segment.language:
                    self._fill(widget, segment)
                    self._parts[number] = (segment, widget)
                    continue
                self._drop_from(number)
            widget = _Prose() if segment.kind == "prose" else _Code(segment.language)
            self._fill(widget, segment)
            self._column.addWidget(widget)
            self._parts.append((segment, widget))
        self._drop_from(len(segments))

    @staticmethod
    def _fill(widget: QWidget, segment: Segment) -> None:
        if isinstance(widget, _Prose):
            widget.show_source(segment.text)
        elif isinstance(widget, _Code):
            widget.set_code(segment.text)

    def _drop_from(self, number: int) -> None:
        for _segment, widget in self._parts[number:]:
            self._column.removeWidget(widget)
            widget.deleteLater()
        del self._parts[number:]
