"""The window's design tokens: spacing, type sizes, radii and sizes, in one place.

Every page lays itself out with these rather than numbers of its own, so the window has one
rhythm: `SPACE` steps of 4 px, three text sizes relative to the system's font (so a person's
font setting and a scale factor of 2 still hold), one corner radius. The colours are the
looks' (`theme.py`), since they differ between light and dark; these do not.
"""

from __future__ import annotations

from llmgw_desktop.ui.qt import QFont, QLayout

__all__ = [
    "CAPTION",
    "HEADING",
    "NAV_WIDTH",
    "RADIUS",
    "SPACE",
    "TITLE",
    "page_margins",
    "scaled_font",
]

# Spacing, smallest to largest: between a glyph and its word, between related controls,
# between groups, around a page.
SPACE = {"xs": 4, "s": 8, "m": 12, "l": 16, "xl": 24}
RADIUS = 6
# The navigation column: wide enough for "MCP servers" and its shortcut hint at scale 1 and 2.
NAV_WIDTH = 196
# Text sizes as factors of the app's font (its point size follows the system setting).
CAPTION = 0.9
HEADING = 1.12
TITLE = 1.45


def scaled_font(base: QFont, factor: float, *, weight: QFont.Weight | None = None) -> QFont:
    """`base` at `factor` times its size, optionally at another weight."""
    font = QFont(base)
    if base.pointSizeF() > 0:
        font.setPointSizeF(base.pointSizeF() * factor)
    elif base.pixelSize() > 0:
        font.setPixelSize(max(1, round(base.pixelSize() * factor)))
    if weight is not None:
        font.setWeight(weight)
    return font


def page_margins(layout: QLayout) -> None:
    """The margins and spacing every page's outer layout has."""
    layout.setContentsMargins(SPACE["l"], SPACE["m"], SPACE["l"], SPACE["m"])
    layout.setSpacing(SPACE["s"])
