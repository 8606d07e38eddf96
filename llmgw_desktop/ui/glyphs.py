"""Icons for the window's controls: glyphs of an icon font, drawn at whatever size is asked.

The font is Codicons (VS Code's icon set, CC BY 4.0) as the `qtawesome` package ships it,
with its character map. We draw it with our own small `QIconEngine` rather than through
qtawesome's API: importing qtawesome imports `qtpy`, whose `from PySide6.QtX import *`
materialises every one of PySide6's lazily made enums, which cost the window 25 MB and about
180 ms at start-up, and its first icon loads all eight of its fonts (130 ms more). Reading
the one font file costs 0.1 MB and a few milliseconds (measured 2026-11-24, see
docs/PERFORMANCE.md). The package is located without importing it.

A glyph is drawn when painted, in the tone's colour of the look in use (or the palette's
text colour), so it is sharp at any scale factor and follows a light/dark switch without
being made again. Names are ours (`NAMES`: what an icon means here), mapped to the font's.
Without the font (a broken install) every icon is empty and the window still works: text
carries every meaning, icons only help.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from llmgw_desktop.ui.qt import (
    QApplication,
    QColor,
    QFont,
    QFontDatabase,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
    QRect,
    QSize,
    Qt,
)
from llmgw_desktop.ui.theme import tone_colour

__all__ = ["NAMES", "ON_ACCENT", "glyph", "glyph_char", "glyph_family"]

log = logging.getLogger(__name__)

FONT_GLOB = "codicon-*.ttf"
ON_ACCENT = "on-accent"  # a glyph drawn on the accent colour (a primary button): its text colour
# Our names (what the icon stands for in this window) and the Codicon each is drawn with.
NAMES: dict[str, str] = {
    # pages
    "overview": "dashboard",
    "jobs": "tasklist",
    "recorder": "history",
    "agents": "organization",
    "playground": "comment-discussion",
    "providers": "cloud",
    "keys": "key",
    "clients": "person",
    "mcp-servers": "server-process",
    "budgets": "credit-card",
    "credentials": "lock",
    "settings": "settings-gear",
    "prices": "tag",
    "connect": "plug",
    "log": "output",
    "notifications": "bell",
    # status (the badge's glyphs)
    "ok": "pass-filled",
    "warning": "warning",
    "error": "error",
    # Off (switched off, canceled, a key revoked) is the grey circle the docs promise, not a
    # slashed one: a slashed circle read as "refused", which is red elsewhere.
    "off": "circle-large-outline",
    "paused": "debug-pause",
    "missing": "circle-large-outline",
    "busy": "sync",
    "info": "info",
    # A table's failing status: a cross inside a filled circle (see `COMPOSED`), so a bare
    # cross in a row never reads as a delete button.
    "failed": "circle-large-filled",
    # actions
    "add": "add",
    "edit": "edit",
    "refresh": "refresh",
    "test": "beaker",
    "remove": "trash",
    "copy": "copy",
    "search": "search",
    "filter": "filter",
    "export": "export",
    "play": "play",
    "stop": "stop-circle",  # a filled square in a ring: "stop", never an empty check box
    "open": "link-external",
    "next": "chevron-right",
    "command": "go-to-file",
    "gateway": "pulse",
    "approval": "shield",
    "spend": "credit-card",
}


# Icons drawn as two glyphs: the first in the tone, the second over it, smaller, in the
# window's base colour (a white cross on a red disc in the light look).
COMPOSED: dict[str, str] = {"failed": "close"}


@dataclass(frozen=True)
class _GlyphFont:
    family: str
    codes: dict[str, int]


def _font_files() -> tuple[Path, Path] | None:
    """The font and its character map inside the installed qtawesome, found without importing
    it (its import is the cost this module avoids)."""
    spec = importlib.util.find_spec("qtawesome")
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle keeps the files as data
    if bundle is not None:
        places.append(str(Path(bundle) / "qtawesome"))
    for place in places:
        fonts = Path(place) / "fonts"
        for ttf in sorted(fonts.glob(FONT_GLOB), reverse=True):  # the newest version first
            charmap = ttf.with_name(ttf.stem.replace("codicon-", "codicon-charmap-") + ".json")
            if charmap.is_file():
                return ttf, charmap
    return None


@functools.cache
def _font() -> _GlyphFont | None:
    """Load the icon font into the app once; None when it cannot be (logged once)."""
    files = _font_files()
    if files is None:
        log.warning("the icon font (qtawesome's %s) is not installed: no icons", FONT_GLOB)
        return None
    ttf, charmap = files
    font_id = QFontDatabase.addApplicationFont(str(ttf))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        log.warning("the icon font %s could not be loaded: no icons", ttf)
        return None
    raw = json.loads(charmap.read_text(encoding="utf-8"))
    codes = {name: int(str(code), 16) for name, code in raw.items()}
    return _GlyphFont(families[0], codes)


def glyph_family() -> str | None:
    """The icon font's family, for rich text that draws a glyph inline; None without it."""
    font = _font()
    return None if font is None else font.family


def glyph_char(name: str) -> str:
    """The character of icon `name` in the font, or "" without one.

    Raises:
        KeyError: `name` is not one of `NAMES`.
    """
    font = _font()
    codicon = NAMES[name]
    if font is None or codicon not in font.codes:
        return ""
    return chr(font.codes[codicon])


class _GlyphEngine(QIconEngine):
    """Draws one glyph, centred, in a tone's colour (resolved when painted)."""

    def __init__(self, char: str, family: str, tone: str, inner: str = "") -> None:
        super().__init__()
        self._char = char
        self._family = family
        self._tone = tone
        self._inner = inner  # a second glyph drawn over the first (`COMPOSED`), or ""

    def _colour(self, mode: QIcon.Mode) -> QColor:
        palette = QApplication.palette()
        if mode == QIcon.Mode.Disabled:
            return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if mode == QIcon.Mode.Selected or self._tone == ON_ACCENT:
            return palette.color(QPalette.ColorRole.HighlightedText)
        if self._tone:
            return QColor(tone_colour(self._tone))
        return palette.color(QPalette.ColorRole.WindowText)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        font = QFont(self._family)
        font.setPixelSize(max(1, round(min(rect.width(), rect.height()) * 0.92)))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font)
        painter.setPen(self._colour(mode))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._char)
        if self._inner:
            font.setPixelSize(max(1, round(min(rect.width(), rect.height()) * 0.62)))
            painter.setFont(font)
            # On a selected row the disc is the selection's text colour: the cross cuts it out
            # in the selection's own colour.
            ground = (
                QPalette.ColorRole.Highlight
                if mode == QIcon.Mode.Selected
                else QPalette.ColorRole.Base
            )
            painter.setPen(QApplication.palette().color(ground))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._inner)
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        # Drawn at the device's pixels (scale 2: twice as many), so it is never upscaled.
        pixmap = QPixmap(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        try:
            self.paint(painter, QRect(0, 0, pixmap.width(), pixmap.height()), mode, state)
        finally:
            painter.end()
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return _GlyphEngine(self._char, self._family, self._tone, self._inner)

    def key(self) -> str:
        return "llmgw-glyph"


def glyph(name: str, tone: str = "") -> QIcon:
    """The icon `name` (one of `NAMES`) in `tone`'s colour ("" follows the text), or an empty
    icon when the font is missing.

    Raises:
        KeyError: `name` is not one of `NAMES`.
    """
    char = glyph_char(name)
    font = _font()
    if not char or font is None:
        return QIcon()
    inner = COMPOSED.get(name, "")
    inner_char = chr(font.codes[inner]) if inner in font.codes else ""
    return QIcon(_GlyphEngine(char, font.family, tone, inner_char))
