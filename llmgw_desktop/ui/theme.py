"""The light and dark looks, following the system's colour scheme.

Qt 6.5+ reports the system's choice (`QStyleHints.colorScheme`) and announces changes
(`colorSchemeChanged`). Native styles paint some controls their own way whatever the palette
says, so the app uses Fusion everywhere: one style that honours the palette fully and looks
the same on Linux, Windows and macOS. Fusion draws a field's frame and a checkbox's square in
its window colour made darker, invisible on the dark look, so the app's style is Fusion under
`ControlStyle`, which draws those edges in the look's `control_border` (3:1 or more). An
unknown scheme (no platform theme, e.g. offscreen or a bare X server) gets the light look.

A look is the palette plus a few colours Qt has no role for (the tones: ok, warning, error,
info, muted; borders, cards and the navigation column). Widgets never hard-code a colour: a
text in a tone carries the `tone` property and gets a palette of the tone's colour
(`set_tone`); the few widgets that draw more than text (the navigation, the header's chips,
primary buttons, badges) carry a small style sheet of their own (`themed`); cards paint
themselves from the look. On a switch of the system's scheme `apply_theme` recolours each of
them (`restyle`). There is no app-wide style sheet: it made Qt polish every widget through its
style sheet engine, ~1 s and ~11 MB more to build the window. Every text colour is checked
against the backgrounds it is drawn on (WCAG 2 contrast, 4.5:1 for text) in
tests/ui/test_theme.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.ui.control_style import ControlStyle
from llmgw_desktop.ui.design import RADIUS, SPACE
from llmgw_desktop.ui.qt import (
    QApplication,
    QColor,
    QPainter,
    QPalette,
    QRectF,
    QStyleFactory,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

__all__ = [
    "DARK",
    "LIGHT",
    "TONES",
    "Look",
    "apply_theme",
    "current_look",
    "error_colour",
    "follow_system_theme",
    "is_dark",
    "palette_for",
    "restyle",
    "set_tone",
    "themed",
    "tone_colour",
    "tone_item",
    "warning_colour",
]

STYLE = "Fusion"
BRAND_BLUE = "#2563eb"  # the app icon's blue, a shade deeper so white text on it reads
# The tones a piece of text or a badge can have; "" is the look's ordinary text.
TONES = ("ok", "warning", "error", "info", "muted", "off")
# A table or tree cell's tone, kept on the item so a switch of looks recolours it (`tone_item`).
TONE_ROLE = Qt.ItemDataRole.UserRole + 41


@dataclass(frozen=True)
class Look:
    """The colours one look is made of; the palette's remaining roles derive from these."""

    name: str
    window: str
    window_text: str
    base: str
    alternate_base: str
    button: str
    highlight: str
    highlighted_text: str
    link: str
    tooltip_base: str
    tooltip_text: str
    disabled_text: str
    placeholder: str
    # Beyond the palette: surfaces, lines and the tones.
    surface: str  # cards, the header, detail panes
    nav: str  # the navigation column
    border: str  # lines between parts (cards, the header): decoration, not a control's edge
    # The edge of a control a person types into or ticks (fields, checkboxes): 3:1 or more
    # against every background it sits on (WCAG 2, 1.4.11), drawn by `ControlStyle`.
    control_border: str
    trough: str  # the empty part of a bar (spend against a budget)
    hover: str
    muted: str
    ok: str
    warning: str
    error: str
    info: str

    def tone(self, tone: str) -> str:
        """The colour of `tone` (one of `TONES`), or the ordinary text colour for ""."""
        if tone in ("muted", "off"):
            return self.muted
        return str(getattr(self, tone)) if tone in TONES else self.window_text


LIGHT = Look(
    name="light",
    window="#f4f5f7",
    window_text="#1d1f23",
    base="#ffffff",
    alternate_base="#f6f7f9",
    button="#fbfbfc",
    highlight=BRAND_BLUE,
    highlighted_text="#ffffff",
    link="#1b56c9",
    tooltip_base="#ffffdc",
    tooltip_text="#1d1f23",
    disabled_text="#9a9ea6",
    placeholder="#5f6570",
    surface="#ffffff",
    nav="#eaecf0",
    border="#d6d9de",
    control_border="#7d838d",
    trough="#e3e6ea",
    hover="#dde1e7",
    muted="#596170",
    ok="#17753f",
    warning="#94560a",
    error="#c62828",
    info="#1b56c9",
)

DARK = Look(
    name="dark",
    window="#1f2124",
    window_text="#e6e7ea",
    base="#17181b",
    alternate_base="#1c1e21",
    button="#2c2f34",
    highlight=BRAND_BLUE,
    highlighted_text="#ffffff",
    link="#7aa7ff",
    tooltip_base="#3a3c42",
    tooltip_text="#e6e7ea",
    disabled_text="#6f737b",
    placeholder="#9499a1",
    surface="#26292d",
    nav="#18191c",
    border="#3a3e45",
    control_border="#747a84",
    trough="#2a2d31",
    hover="#30343a",
    muted="#a3a8b0",
    ok="#4ade80",
    warning="#fbbf24",
    error="#fb8c8c",
    info="#7aa7ff",
)


def _look_for(scheme: Qt.ColorScheme) -> Look:
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def palette_for(scheme: Qt.ColorScheme) -> QPalette:
    """The palette of the look for `scheme` (Unknown means light)."""
    look = _look_for(scheme)
    palette = QPalette()
    role = QPalette.ColorRole
    button = QColor(look.button)
    dark_look = look is DARK
    roles = {
        role.Window: QColor(look.window),
        role.WindowText: QColor(look.window_text),
        role.Base: QColor(look.base),
        role.AlternateBase: QColor(look.alternate_base),
        role.Text: QColor(look.window_text),
        role.Button: button,
        role.ButtonText: QColor(look.window_text),
        role.BrightText: QColor("#ff5c5c"),
        role.Highlight: QColor(look.highlight),
        role.HighlightedText: QColor(look.highlighted_text),
        role.Accent: QColor(look.highlight),
        role.Link: QColor(look.link),
        role.LinkVisited: QColor(look.link).darker(120),
        role.ToolTipBase: QColor(look.tooltip_base),
        role.ToolTipText: QColor(look.tooltip_text),
        role.PlaceholderText: QColor(look.placeholder),
        # Fusion draws bevels and frames from these; on a dark button "lighter" must still
        # be visible, hence the stronger factors.
        role.Light: button.lighter(160 if dark_look else 150),
        role.Midlight: button.lighter(125 if dark_look else 115),
        role.Mid: button.darker(130 if dark_look else 125),
        role.Dark: button.darker(160 if dark_look else 150),
        role.Shadow: QColor("#000000") if dark_look else button.darker(200),
    }
    for colour_role, colour in roles.items():
        palette.setColor(colour_role, colour)
    disabled = QPalette.ColorGroup.Disabled
    for colour_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, colour_role, QColor(look.disabled_text))
    palette.setColor(disabled, role.Highlight, button.darker(140 if dark_look else 110))
    palette.setColor(disabled, role.Base, QColor(look.window))
    return palette


def _tint(colour: str, background: str, share: float) -> str:
    """`colour` laid over `background` at `share` opacity, as one opaque colour."""
    a, b = QColor(colour), QColor(background)
    mixed = QColor(
        round(a.red() * share + b.red() * (1 - share)),
        round(a.green() * share + b.green() * (1 - share)),
        round(a.blue() * share + b.blue() * (1 - share)),
    )
    return str(mixed.name())


# Widgets that draw themselves with a small style sheet of their own carry `themeSheet` naming
# which; `restyle` gives them their sheet for the look in use. The sheets are scoped to those
# few widgets: an app-wide sheet made Qt polish every widget through its style sheet engine,
# which cost the window ~1 s and ~11 MB to build (docs/PERFORMANCE.md).
SHEETS = ("nav", "header", "primary", "destructive", "badge")


def _sheet(kind: str, look: Look, widget: QWidget) -> str:
    s, r = SPACE, RADIUS
    if kind == "nav":  # the navigation's column and its list
        return (
            f"#navColumn {{ background: {look.nav}; }}"
            f" QListWidget {{ background: {look.nav}; border: none; outline: 0;"
            f" padding: {s['xs']}px 0; }}"
            f" QListWidget::item {{ padding: {s['xs'] + 1}px {s['s']}px; margin: 1px 0;"
            f" border-radius: {r}px; color: {look.window_text}; }}"
            f" QListWidget::item:hover {{ background: {look.hover}; }}"
            f" QListWidget::item:selected {{ background: {look.highlight};"
            f" color: {look.highlighted_text}; }}"
            f" QListWidget::item:disabled {{ color: {look.muted}; background: transparent; }}"
        )
    if kind == "header":  # the status header and the navigation's Go to…: chips
        rules = [
            f"#statusHeader {{ background: {look.surface};"
            f" border-bottom: 1px solid {look.border}; }}",
            f"QToolButton {{ border: 1px solid {look.border}; border-radius: {r}px;"
            f" padding: {s['xs']}px {s['s']}px; background: {look.surface};"
            f" color: {look.window_text}; }}",
            f"QToolButton:hover {{ background: {look.hover}; }}",
            f"QToolButton:focus {{ border: 2px solid {look.highlight}; }}",
        ]
        for tone in ("ok", "warning", "error"):
            colour = look.tone(tone)
            edge = colour if tone != "ok" else look.border
            ground = _tint(colour, look.surface, 0.10) if tone != "ok" else look.surface
            rules.append(
                f'QToolButton[tone="{tone}"] {{ color: {colour}; border-color: {edge};'
                f" background: {ground}; }}"
            )
        return " ".join(rules)
    if kind == "primary":
        return (
            f"QPushButton {{ background: {look.highlight}; color: {look.highlighted_text};"
            f" border: 1px solid {look.highlight}; border-radius: {r - 2}px;"
            f" padding: {s['xs'] + 1}px {s['m']}px; }}"
            f" QPushButton:hover {{ background: {_tint('#000000', look.highlight, 0.12)}; }}"
            f" QPushButton:focus {{ border: 2px solid {look.window_text}; }}"
            f" QPushButton:disabled {{ background: {look.hover}; color: {look.disabled_text};"
            f" border-color: {look.border}; }}"
        )
    if kind == "destructive":  # the choice that does harm if wrong: the error tone, not filled
        colour = look.tone("error")
        return (
            f"QPushButton {{ color: {colour}; background: {_tint(colour, look.surface, 0.10)};"
            f" border: 1px solid {colour}; border-radius: {r - 2}px;"
            f" padding: {s['xs'] + 1}px {s['m']}px; }}"
            f" QPushButton:hover {{ background: {_tint(colour, look.surface, 0.20)}; }}"
            f" QPushButton:focus {{ border: 2px solid {look.window_text}; }}"
        )
    if kind == "badge":
        colour = look.tone(str(widget.property("badge") or "muted"))
        return (
            f"QLabel {{ color: {colour}; background: {_tint(colour, look.surface, 0.14)};"
            f" border: 1px solid {_tint(colour, look.surface, 0.45)};"
            f" border-radius: {r + 3}px; padding: 1px {s['s']}px; }}"
        )
    return ""


def themed(widget: QWidget, kind: str) -> None:
    """Give `widget` the look's small style sheet of `kind` (one of `SHEETS`), kept in step
    when the look switches."""
    widget.setProperty("themeSheet", kind)
    widget.setStyleSheet(_sheet(kind, current_look(), widget))


def restyle(widget: QWidget) -> None:
    """Colour `widget` by the look in use, from the design properties it carries (the look
    switched, or a property changed)."""
    kind = widget.property("themeSheet")
    if isinstance(kind, str) and kind in SHEETS:
        sheet = _sheet(kind, current_look(), widget)
        if widget.styleSheet() != sheet:
            widget.setStyleSheet(sheet)
    _retone_items(widget)
    tone = widget.property("tone")
    if isinstance(tone, str) and tone and not widget.property("chip"):
        palette = QPalette()  # only the text roles set: the rest follows the parent's
        colour = QColor(current_look().tone(tone))
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
            palette.setColor(role, colour)
        palette.setColor(QPalette.ColorRole.ButtonText, colour)
        widget.setPalette(palette)


def tone_item(item: QTableWidgetItem | QTreeWidgetItem, tone: str | None, column: int = 0) -> None:
    """Colour a table cell's (or a tree item's `column`'s) text by `tone` (None: the
    palette's own), in the look in use and again in each look switched to (`restyle`): a
    colour set once stayed the light look's on a dark table, at 2.5:1."""
    if isinstance(item, QTreeWidgetItem):
        item.setData(column, TONE_ROLE, tone)
        if tone is None:
            item.setData(column, Qt.ItemDataRole.ForegroundRole, None)
        else:
            item.setForeground(column, QColor(current_look().tone(tone)))
        return
    if item.data(TONE_ROLE) != tone:
        item.setData(TONE_ROLE, tone)
    colour = None if tone is None else QColor(current_look().tone(tone))
    shown = item.data(Qt.ItemDataRole.ForegroundRole)
    if colour is None:
        if shown is not None:
            item.setData(Qt.ItemDataRole.ForegroundRole, None)
    elif shown is None or item.foreground().color() != colour:
        item.setForeground(colour)


def _retone_items(widget: QWidget) -> None:
    """Recolour the toned cells of a table or tree (`tone_item`) in the look in use."""
    if isinstance(widget, QTableWidget):
        for row in range(widget.rowCount()):
            for column in range(widget.columnCount()):
                cell = widget.item(row, column)
                tone = None if cell is None else cell.data(TONE_ROLE)
                if cell is not None and isinstance(tone, str):
                    tone_item(cell, tone)
    elif isinstance(widget, QTreeWidget):
        pending = [widget.topLevelItem(i) for i in range(widget.topLevelItemCount())]
        while pending:
            node = pending.pop()
            if node is None:
                continue
            pending += [node.child(i) for i in range(node.childCount())]
            for column in range(widget.columnCount()):
                tone = node.data(column, TONE_ROLE)
                if isinstance(tone, str):
                    tone_item(node, tone, column)


def paint_card(widget: QWidget, *, focused: bool = False) -> None:
    """Paint `widget` as a card: the look's surface, a thin border (the accent when `focused`)
    and round corners. Painted, not a style sheet, which would re-polish everything inside
    it; every card of the window (details, figures, code blocks, chat turns) calls this."""
    look = current_look()
    painter = QPainter(widget)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(look.highlight if focused else look.border))
        painter.setBrush(QColor(look.surface))
        painter.drawRoundedRect(
            QRectF(widget.rect()).adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS
        )
    finally:
        painter.end()


def current_look() -> Look:
    """The look the app shows now."""
    return DARK if is_dark() else LIGHT


def apply_theme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> str:
    """Give `app` Fusion (with visible control edges, `ControlStyle`) and the look for
    `scheme` (default: the system's); the look's name."""
    if not isinstance(app.style(), ControlStyle):
        fusion = QStyleFactory.create(STYLE)
        if fusion is not None:
            app.setStyle(ControlStyle(fusion))
            app.setProperty("baseStyle", STYLE)
    if scheme is None:
        scheme = app.styleHints().colorScheme()
    look = _look_for(scheme)
    style = app.style()
    if isinstance(style, ControlStyle):
        style.border = QColor(look.control_border)
    app.setPalette(palette_for(scheme))
    if app.property("look") not in (None, look.name):
        # A switch: the few widgets that carry their own colours take the new look's.
        for widget in QApplication.allWidgets():
            restyle(widget)
    app.setProperty("look", look.name)
    return look.name


def follow_system_theme(app: QApplication) -> str:
    """Apply the system's look now and again whenever the system switches; the look's name."""
    app.styleHints().colorSchemeChanged.connect(lambda scheme: apply_theme(app, scheme))
    return apply_theme(app)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether `palette` (default: the app's) is a dark look, for widgets that pick their own
    colours (charts)."""
    shown = palette if palette is not None else QApplication.palette()
    return shown.color(QPalette.ColorRole.Window).lightness() < 128


def tone_colour(tone: str) -> str:
    """The colour of `tone` in the look in use (for what paints itself: charts, icons)."""
    return current_look().tone(tone)


def set_tone(widget: QWidget, tone: str, *, prop: str = "tone") -> None:
    """Colour `widget`'s text by `tone` ("" for the ordinary colour), following the look;
    `prop="badge"` draws it as a status badge."""
    if widget.property(prop) == (tone or None):
        return
    widget.setProperty(prop, tone or None)
    if prop == "badge":
        themed(widget, "badge")
    elif widget.property("chip"):  # its sheet (the header's) reads the property: repolish
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)
    elif tone:
        restyle(widget)
    else:
        widget.setPalette(QPalette())  # the ordinary colours again, from the parent
    widget.update()


# Kept for the pages that colour their own text: the warning and error tones of each look.
WARNING_COLOURS = {"light": LIGHT.warning, "dark": DARK.warning}
ERROR_COLOURS = {"light": LIGHT.error, "dark": DARK.error}


def warning_colour() -> str:
    """The warning colour for the look in use."""
    return WARNING_COLOURS["dark" if is_dark() else "light"]


def error_colour() -> str:
    """The error colour for the look in use."""
    return ERROR_COLOURS["dark" if is_dark() else "light"]
