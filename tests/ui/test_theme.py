"""The light and dark looks, offscreen.

The offscreen platform has no theme, so it reports `Qt.ColorScheme.Unknown` and never
switches by itself: the tests hand `apply_theme` each scheme the system could report, which is
exactly what the `colorSchemeChanged` connection does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.icons import app_icon
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.qt import (
    QApplication,
    QCheckBox,
    QComboBox,
    QImage,
    QLabel,
    QLineEdit,
    QPalette,
    QPlainTextEdit,
    QSize,
    QStyle,
    QStyleOptionButton,
    Qt,
    QTimeEdit,
)
from llmgw_desktop.ui.theme import (
    DARK,
    LIGHT,
    TONES,
    Look,
    _tint,
    apply_theme,
    follow_system_theme,
    is_dark,
    palette_for,
)
from tests.ui.readings import base_style, contrast

ROLE = QPalette.ColorRole


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The shared app, its palette and style put back afterwards for the other tests."""
    palette, style, sheet = QApplication.palette(), base_style(qapp), qapp.styleSheet()
    look = qapp.property("look")
    yield qapp
    if style:
        qapp.setStyle(style)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("look", look)
    QApplication.setPalette(palette)


def test_switching_the_scheme_switches_the_palette(app: QApplication, qtbot: QtBot) -> None:
    label = QLabel("text")  # an existing widget follows the switch too
    qtbot.addWidget(label)
    assert apply_theme(app, Qt.ColorScheme.Dark) == "dark"
    assert is_dark()
    qtbot.waitUntil(lambda: is_dark(label.palette()), timeout=1000)
    dark_window = QApplication.palette().color(ROLE.Window)
    assert apply_theme(app, Qt.ColorScheme.Light) == "light"
    assert not is_dark()
    qtbot.waitUntil(lambda: not is_dark(label.palette()), timeout=1000)
    assert QApplication.palette().color(ROLE.Window) != dark_window
    assert apply_theme(app, Qt.ColorScheme.Dark) == "dark"
    assert QApplication.palette().color(ROLE.Window) == dark_window


def test_the_app_uses_fusion_so_every_platform_honours_the_palette(app: QApplication) -> None:
    apply_theme(app, Qt.ColorScheme.Light)
    assert base_style(app).lower() == "fusion"


def test_an_unknown_scheme_gets_the_light_look(app: QApplication) -> None:
    assert app.styleHints().colorScheme() == Qt.ColorScheme.Unknown  # offscreen: no theme
    assert follow_system_theme(app) == "light"
    assert not is_dark()


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_text_reads_against_its_background(scheme: Qt.ColorScheme) -> None:
    palette = palette_for(scheme)
    for text, background in (
        (ROLE.WindowText, ROLE.Window),
        (ROLE.Text, ROLE.Base),
        (ROLE.ButtonText, ROLE.Button),
        (ROLE.HighlightedText, ROLE.Highlight),
        (ROLE.ToolTipText, ROLE.ToolTipBase),
    ):
        gap = abs(palette.color(text).lightness() - palette.color(background).lightness())
        assert gap > 100, (scheme, text, background)
    disabled = palette.color(QPalette.ColorGroup.Disabled, ROLE.Text)
    assert disabled != palette.color(QPalette.ColorGroup.Active, ROLE.Text)


TEXT_CONTRAST = 4.5  # WCAG 2 AA for text


@pytest.mark.parametrize("look", [LIGHT, DARK], ids=lambda look: look.name)
def test_every_text_colour_reads_on_every_background_it_is_drawn_on(look: Look) -> None:
    """Issue 41: contrast checked in both looks (WCAG 2 AA, 4.5:1), the tones and the muted
    text included, on the window, lists, cards, the navigation and a badge's own tint."""
    backgrounds = {
        "window": look.window,
        "base": look.base,
        "alternate": look.alternate_base,
        "surface": look.surface,
        "nav": look.nav,
    }
    texts = {"text": look.window_text, "muted": look.muted, "placeholder": look.placeholder}
    texts |= {tone: look.tone(tone) for tone in ("ok", "warning", "error", "info")}
    low = [
        f"{text} on {ground}: {contrast(fg, bg):.2f}"
        for text, fg in texts.items()
        for ground, bg in backgrounds.items()
        if contrast(fg, bg) < TEXT_CONTRAST
    ]
    for tone in TONES:  # a badge: its words on its own tint; a chip: on its lighter tint
        colour = look.tone(tone)
        for share in (0.14, 0.10):
            tinted = _tint(colour, look.surface, share)
            if contrast(colour, tinted) < TEXT_CONTRAST:
                low.append(f"{tone} badge on its tint {share}: {contrast(colour, tinted):.2f}")
    if contrast(look.highlighted_text, look.highlight) < TEXT_CONTRAST:
        low.append("selected text on the selection")
    assert not low, low


def test_contrast_is_the_wcag_ratio() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_icons_are_drawn_at_the_screens_pixels_so_scale_2_is_crisp(
    qapp: QApplication, scale: float
) -> None:
    """A glyph is drawn for the pixels it will cover, never a small picture scaled up: at a
    scale factor of 2 a 16 px icon is 32 device pixels of ink."""
    icon = glyph("providers")
    assert not icon.isNull()
    pixmap = icon.pixmap(QSize(16, 16), scale)
    assert pixmap.devicePixelRatio() == scale
    assert (pixmap.width(), pixmap.height()) == (round(16 * scale), round(16 * scale))
    image = pixmap.toImage()
    inked = sum(
        1
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() > 0
    )
    assert inked > 20 * scale * scale  # drawn, not blank, and its ink grows with the pixels
    # The app icon is a vector drawing too (resources/icons/llmgw.svg).
    assert app_icon().pixmap(QSize(32, 32), scale).width() == round(32 * scale)
    # The font is read from qtawesome's files; its Python side (and qtpy's 25 MB of star
    # imports) is never loaded.
    assert not {"qtawesome", "qtpy", "superqt"} & set(sys.modules)


CONTROL_CONTRAST = 3.0  # WCAG 2 AA for the edge of a control (1.4.11, non-text contrast)


@pytest.mark.parametrize("look", [LIGHT, DARK], ids=lambda look: look.name)
def test_a_controls_edge_stands_out_from_every_background_it_sits_on(look: Look) -> None:
    """Review 41, finding 3: in the dark look an unchecked box and an empty field were
    #1f2124 on #17181b (1.1:1), invisible; their edges now reach 3:1 in both looks."""
    grounds = {
        "window": look.window,
        "base": look.base,
        "alternate": look.alternate_base,
        "surface": look.surface,
        "nav": look.nav,
    }
    low = {
        ground: round(contrast(look.control_border, colour), 2)
        for ground, colour in grounds.items()
        if contrast(look.control_border, colour) < CONTROL_CONTRAST
    }
    assert not low, low


def _edge_contrast(image: QImage, ground: str, x_range: range, y: int) -> float:
    """The strongest contrast against `ground` among the pixels of row `y` in `x_range`."""
    return max(contrast(image.pixelColor(x, y).name(), ground) for x in x_range)


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_fields_and_unchecked_boxes_are_drawn_with_a_visible_edge(
    app: QApplication, qtbot: QtBot, scheme: Qt.ColorScheme
) -> None:
    """What is painted, not only the colour chosen: the frame of a field, a text editor, a
    time box, a combo box, and an unchecked box's square reach 3:1 against the window."""
    look = DARK if apply_theme(app, scheme) == "dark" else LIGHT
    for widget in (QLineEdit(), QPlainTextEdit(), QTimeEdit(), QComboBox()):
        qtbot.addWidget(widget)
        widget.resize(160, 40)
        image = widget.grab().toImage()
        middle = image.height() // 2
        assert _edge_contrast(image, look.window, range(0, 3), middle) >= CONTROL_CONTRAST, type(
            widget
        ).__name__
    box = QCheckBox("Start at login")
    qtbot.addWidget(box)
    box.resize(box.sizeHint())
    image = box.grab().toImage()
    assert _edge_contrast(image, look.window, range(0, 8), image.height() // 2) >= (
        CONTROL_CONTRAST
    )


def test_a_checked_box_is_filled_so_on_and_off_differ_at_a_glance(
    app: QApplication, qtbot: QtBot
) -> None:
    apply_theme(app, Qt.ColorScheme.Dark)
    box = QCheckBox("On")
    qtbot.addWidget(box)
    box.resize(box.sizeHint())
    indicator = box.style().subElementRect(
        QStyle.SubElement.SE_CheckBoxIndicator, _option_of(box), box
    )
    centre = indicator.center()
    box.setChecked(False)
    off = box.grab().toImage().pixelColor(centre.x() - 2, centre.y() + 3).name()
    box.setChecked(True)
    on_image = box.grab().toImage()
    # Inside the box, away from the tick: the accent fill, not the field colour.
    on = on_image.pixelColor(indicator.left() + 3, indicator.top() + 3).name()
    assert contrast(on, off) >= CONTROL_CONTRAST
    assert on == DARK.highlight


def _option_of(box: QCheckBox) -> QStyleOptionButton:
    option = QStyleOptionButton()
    option.initFrom(box)
    return option


def test_a_switch_is_a_checkbox_to_the_keyboard_and_to_screen_readers(
    app: QApplication, qtbot: QtBot
) -> None:
    """On/off settings that act at once are switches (review 41, finding 3): still a
    checkbox underneath, so Space, clicks on the words and `toggled` work as before."""
    apply_theme(app, Qt.ColorScheme.Dark)
    switch = Switch("Quiet hours")
    qtbot.addWidget(switch)
    switch.resize(switch.sizeHint())
    switch.show()
    with qtbot.waitSignal(switch.toggled, timeout=1000):
        qtbot.mouseClick(switch, Qt.MouseButton.LeftButton, pos=switch.rect().center())
    assert switch.isChecked()
    qtbot.keyClick(switch, Qt.Key.Key_Space)
    assert not switch.isChecked()
    image = switch.grab().toImage()
    assert _edge_contrast(image, DARK.window, range(0, 4), image.height() // 2) >= (
        CONTROL_CONTRAST
    )
