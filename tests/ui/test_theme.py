"""The light and dark looks, offscreen.

The offscreen platform has no theme, so it reports `Qt.ColorScheme.Unknown` and never
switches by itself: the tests hand `apply_theme` each scheme the system could report, which is
exactly what the `colorSchemeChanged` connection does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.qt import QApplication, QLabel, QPalette, Qt
from llmgw_desktop.ui.theme import apply_theme, follow_system_theme, is_dark, palette_for

ROLE = QPalette.ColorRole


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The shared app, its palette and style put back afterwards for the other tests."""
    palette, style = QApplication.palette(), qapp.style().name()
    yield qapp
    qapp.setStyle(style)
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
    assert app.style().name().lower() == "fusion"


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
