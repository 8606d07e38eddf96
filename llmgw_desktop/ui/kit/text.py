"""Text in the window's three sizes: a page's title, a section's heading, a muted caption; and
a path that fits its room by leaving out its middle (`PathLabel`)."""

from __future__ import annotations

import os
from pathlib import Path

from llmgw_desktop.ui.design import CAPTION, HEADING, TITLE, scaled_font
from llmgw_desktop.ui.qt import QFont, QLabel, QResizeEvent, QSize, Qt, QWidget
from llmgw_desktop.ui.theme import set_tone

__all__ = ["PathLabel", "caption", "heading", "home_short", "home_short_in", "title", "unbroken"]

PATH_MIN_WIDTH = 80  # px: a path never asks for more; it gives up its middle first


# Characters no line breaks at: a space that holds its neighbours, and a joiner after a slash
# (text wraps after a slash: "/v1/" ended a line and "chat/completions" began the next).
NO_BREAK_SPACE, WORD_JOINER = "\u00a0", "\u2060"


def unbroken(text: str) -> str:
    """`text` as no line breaks inside (an endpoint, a path, an id): it moves to the next line
    whole, or stays."""
    return text.replace(" ", NO_BREAK_SPACE).replace("/", "/" + WORD_JOINER)


def _styled(label: QLabel, factor: float, weight: QFont.Weight | None, role: str) -> QLabel:
    label.setFont(scaled_font(label.font(), factor, weight=weight))
    label.setProperty("textRole", role)
    if role == "caption":
        set_tone(label, "muted")
    return label


def title(text: str) -> QLabel:
    """A page's title: the largest text on it."""
    return _styled(QLabel(text), TITLE, QFont.Weight.DemiBold, "title")


def heading(text: str) -> QLabel:
    """The title of a section or a detail pane."""
    return _styled(QLabel(text), HEADING, QFont.Weight.DemiBold, "heading")


def caption(text: str = "") -> QLabel:
    """Secondary text: an explanation, a hint, a unit; muted and a little smaller."""
    label = _styled(QLabel(text), CAPTION, None, "caption")
    label.setWordWrap(True)
    return label


def home_short(path: str) -> str:
    """`path` with the home folder said as `~` ("~/.local/bin/vibe"), as file managers and
    shells say it; a path elsewhere as it is. Only for showing: what is copied or opened is the
    whole path."""
    home = str(Path.home())
    if home in ("", os.sep) or not (path == home or path.startswith(home + os.sep)):
        return path
    return "~" + path[len(home) :]


def home_short_in(text: str) -> str:
    """`text` with every path under the home folder said as `~/…` ("read from ~/.vibe/.env")."""
    home = str(Path.home())
    if home in ("", os.sep):
        return text
    return text.replace(home + os.sep, "~" + os.sep)


class PathLabel(QLabel):
    """A file path or an address on one line: when the room is short its middle gives way
    ("/tmp/llmgw…/log/llmgw-desktop.log"), never broken mid-word onto a second line; the
    whole of it in the tooltip and in what a screen reader hears."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setToolTip(path)
        self.setAccessibleName(path)
        self.setWordWrap(False)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance(home_short(self.path)) + 4,
            super().sizeHint().height(),
        )

    def minimumSizeHint(self) -> QSize:
        return QSize(PATH_MIN_WIDTH, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = max(self.width(), PATH_MIN_WIDTH)
        shown = self.fontMetrics().elidedText(
            home_short(self.path), Qt.TextElideMode.ElideMiddle, room
        )
        if self.text() != shown:
            self.setText(shown)
