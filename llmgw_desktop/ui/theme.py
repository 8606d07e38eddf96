"""The light and dark looks, following the system's colour scheme.

Qt 6.5+ reports the system's choice (`QStyleHints.colorScheme`) and announces changes
(`colorSchemeChanged`). Native styles paint some controls their own way whatever the palette
says, so the app uses Fusion everywhere: one style that honours the palette fully and looks
the same on Linux, Windows and macOS. An unknown scheme (no platform theme, e.g. offscreen or a
bare X server) gets the light look.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.ui.qt import QApplication, QColor, QPalette, QStyleFactory, Qt

__all__ = [
    "DARK",
    "LIGHT",
    "Look",
    "apply_theme",
    "error_colour",
    "follow_system_theme",
    "is_dark",
    "palette_for",
    "warning_colour",
]

STYLE = "Fusion"
BRAND_BLUE = "#2f6fed"  # the app icon's blue, used for selection and focus


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


LIGHT = Look(
    name="light",
    window="#efefef",
    window_text="#1d1d1f",
    base="#ffffff",
    alternate_base="#f5f6f8",
    button="#efefef",
    highlight=BRAND_BLUE,
    highlighted_text="#ffffff",
    link="#1b56c9",
    tooltip_base="#ffffdc",
    tooltip_text="#1d1d1f",
    disabled_text="#a0a0a0",
    placeholder="#8a8a8a",
)

DARK = Look(
    name="dark",
    window="#2b2d31",
    window_text="#e6e6e6",
    base="#1e1f22",
    alternate_base="#26282c",
    button="#34363b",
    highlight=BRAND_BLUE,
    highlighted_text="#ffffff",
    link="#7aa7ff",
    tooltip_base="#3a3c42",
    tooltip_text="#e6e6e6",
    disabled_text="#7b7e85",
    placeholder="#8b8e95",
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


def apply_theme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> str:
    """Give `app` Fusion and the look for `scheme` (default: the system's); the look's name."""
    if app.style().name().lower() != STYLE.lower():
        style = QStyleFactory.create(STYLE)
        if style is not None:
            app.setStyle(style)
    if scheme is None:
        scheme = app.styleHints().colorScheme()
    app.setPalette(palette_for(scheme))
    return _look_for(scheme).name


def follow_system_theme(app: QApplication) -> str:
    """Apply the system's look now and again whenever the system switches; the look's name."""
    app.styleHints().colorSchemeChanged.connect(lambda scheme: apply_theme(app, scheme))
    return apply_theme(app)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether `palette` (default: the app's) is a dark look, for widgets that pick their own
    colours (charts)."""
    shown = palette if palette is not None else QApplication.palette()
    return shown.color(QPalette.ColorRole.Window).lightness() < 128


# Amber that reads on either look: for what needs attention but is not an error dialog.
WARNING_COLOURS = {"light": "#b45309", "dark": "#fbbf24"}


def warning_colour() -> str:
    """The warning colour for the look in use."""
    return WARNING_COLOURS["dark" if is_dark() else "light"]


# Red that reads on either look: for what failed or is failing now (a failed request, an open
# circuit, a failed Test).
ERROR_COLOURS = {"light": "#c62828", "dark": "#f87171"}


def error_colour() -> str:
    """The error colour for the look in use."""
    return ERROR_COLOURS["dark" if is_dark() else "light"]
