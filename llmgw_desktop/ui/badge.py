"""Status shown one way everywhere: a glyph, a colour and a word, as a badge or a table cell.

There are few kinds of status in the window, whatever the thing: it works (`ok`), it fails
(`error`), it needs a look (`warning`), it is paused or switched off (`paused`, `off`), it is
not there (`missing`: a CLI not installed, no key, a server not running), it is working
(`busy`), or it is not known yet (`unknown`). Each kind has one tone and one glyph
(`STATUS_KINDS`); `StatusBadge` draws them as a pill beside a detail, `status_cell` as a
table cell's icon and text colour (`status_data` is the same for a table model's roles), so
every list (jobs, the Flight recorder, providers, provider health, MCP servers, keys) says
"failing" with the same red cross in a filled disc, "needs a look" with the same amber
triangle, and "off" with the same grey circle. A request's or a job's state maps onto the
kinds once (`STATE_KINDS`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape
from typing import Any

from llmgw_desktop.ui.glyphs import glyph, glyph_char, glyph_family
from llmgw_desktop.ui.qt import QColor, QIcon, QLabel, Qt, QTableWidgetItem, QWidget
from llmgw_desktop.ui.theme import set_tone, tone_colour, tone_item

__all__ = [
    "STATE_KINDS",
    "STATUS_KINDS",
    "StatusBadge",
    "StatusKind",
    "glyph_html",
    "state_kind",
    "status_cell",
    "status_data",
]


@dataclass(frozen=True)
class StatusKind:
    tone: str  # a theme tone
    glyph: str  # a glyphs.NAMES name
    cell_glyph: str = ""  # the glyph in a table cell, when not `glyph`

    @property
    def in_cell(self) -> str:
        return self.cell_glyph or self.glyph


STATUS_KINDS: dict[str, StatusKind] = {
    "ok": StatusKind("ok", "ok"),
    "error": StatusKind("error", "error", "failed"),
    "warning": StatusKind("warning", "warning"),
    "paused": StatusKind("off", "paused"),
    "off": StatusKind("off", "off"),
    "missing": StatusKind("muted", "missing"),
    "busy": StatusKind("info", "busy"),
    "unknown": StatusKind("muted", "missing"),
}


# A request's (recorder) or a job's state -> its status kind. Ended without an answer by a
# failure or a refusal: red; cut short by a stop (the gateway shutting down): amber; stopped
# on purpose by a person: grey, as "off".
STATE_KINDS: dict[str, str] = {
    "completed": "ok",
    "queued": "busy",
    "running": "busy",
    "stuck": "warning",
    "failed": "error",
    # A recorder row's attempt that failed and whose request went on to another target: the
    # provider's failure, amber, not a request left without an answer.
    "failed over": "warning",
    "refused": "error",
    "denied": "error",
    "interrupted": "warning",
    "canceled": "off",
}


def state_kind(state: str) -> str:
    """The status kind of a request's or a job's state ("unknown" for a word it has not)."""
    return STATE_KINDS.get(state, "unknown")


def glyph_html(name: str) -> str:
    """Rich text for icon `name` inline with words: drawn in the icon font, in the colour of
    the text around it (so a style sheet's tone colours it too); "" without the font."""
    char, family = glyph_char(name), glyph_family()
    if not char or family is None:
        return ""
    return f"<span style=\"font-family: '{family}';\">{char}</span>&nbsp;"


class StatusBadge(QLabel):
    """A status as a pill: glyph and word in the kind's tone, on a tint of it."""

    def __init__(self, kind: str = "unknown", text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.kind = ""
        self.words = ""
        self.set_status(kind, text)

    def set_status(self, kind: str, text: str) -> None:
        """Show `text` as a status of `kind` (one of `STATUS_KINDS`).

        Raises:
            KeyError: `kind` is not a status kind.
        """
        spec = STATUS_KINDS[kind]
        if (kind, text) == (self.kind, self.words):
            return
        self.kind, self.words = kind, text
        self.setText(glyph_html(spec.glyph) + escape(text))
        # A screen reader reads the words, not the icon font's private character.
        self.setAccessibleName(text)
        self.setToolTip("")
        set_tone(self, spec.tone, prop="badge")
        self.setVisible(bool(text))


# Where a cell keeps the status kind it was drawn with (its glyph is set again only on a change).
_KIND_ROLE = Qt.ItemDataRole.UserRole + 7


def status_cell(item: QTableWidgetItem, kind: str, text: str) -> None:
    """Show a status in a table cell the way `StatusBadge` shows it: the glyph as its icon,
    the words in the kind's tone.

    Raises:
        KeyError: `kind` is not a status kind.
    """
    spec = STATUS_KINDS[kind]
    if item.text() != text:
        item.setText(text)
    if item.data(_KIND_ROLE) != kind:
        item.setData(_KIND_ROLE, kind)
        item.setIcon(_cell_icon(kind))  # it takes the look's colour when painted
    # The text's colour is the look's in use, and follows a switch of looks (an unchanged
    # colour is left alone: no repaint).
    tone_item(item, spec.tone)


def plain_cell(item: QTableWidgetItem) -> None:
    """A cell `status_cell` drew, plain again: no glyph, the palette's own colour (a circuit
    that closed kept its red cross beside "calls go through")."""
    if item.data(_KIND_ROLE) is not None:
        item.setData(_KIND_ROLE, None)
        item.setIcon(QIcon())
    tone_item(item, None)


_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)


def status_data(kind: str, role: int) -> Any:
    """What a table model answers for a status cell of `kind` in `role`, as `status_cell`
    shows it: the glyph as the decoration, the text in the kind's tone; None for other roles.

    Raises:
        KeyError: `kind` is not a status kind.
    """
    if role == _DECORATION:
        return _cell_icon(kind)
    if role == _FOREGROUND:
        return QColor(tone_colour(STATUS_KINDS[kind].tone))
    return None


@functools.cache
def _cell_icon(kind: str) -> QIcon:
    # One icon a kind: it resolves its colour when painted, so it follows a switch of looks.
    spec = STATUS_KINDS[kind]
    return glyph(spec.in_cell, spec.tone)
