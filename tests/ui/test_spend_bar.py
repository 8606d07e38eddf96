"""The spend bar, drawn offscreen in both looks (review 41, findings 7 and 8): the percentage
beside the bar in the text colour (never on the fill), a dark trough on the dark look, and a
spend too small to see drawn as an empty trough, not a dot that reads as a slider's handle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.kit.spend_bar import BAR_ROLE, SpendBar, SpendBarDelegate
from llmgw_desktop.ui.qt import (
    QApplication,
    QColor,
    QImage,
    QPalette,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from llmgw_desktop.ui.theme import DARK, LIGHT, Look, apply_theme
from tests.ui.readings import base_style, contrast

TEXT_CONTRAST = 4.5
FILL_CONTRAST = 3.0  # a bar's fill against its trough (WCAG 1.4.11)


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    palette, style = QApplication.palette(), base_style(qapp)
    look = qapp.property("look")
    yield qapp
    if style:
        apply_theme(qapp, Qt.ColorScheme.Light if look != "dark" else Qt.ColorScheme.Dark)
    QApplication.setPalette(palette)


def _colours(image: QImage, xs: range, y: int) -> set[str]:
    return {image.pixelColor(x, y).name() for x in xs}


@pytest.mark.parametrize("look", [LIGHT, DARK], ids=lambda look: look.name)
def test_every_bar_fill_stands_out_from_its_trough(look: Look) -> None:
    for tone in ("info", "warning", "error"):
        assert contrast(look.tone(tone), look.trough) >= FILL_CONTRAST, tone
    if look is DARK:  # a dark trough on the dark page, not a glaring white one
        assert contrast(look.trough, look.base) < 1.5


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_a_table_bar_puts_its_percentage_beside_the_fill_in_the_text_colour(
    app: QApplication, qtbot: QtBot, scheme: Qt.ColorScheme
) -> None:
    look = DARK if apply_theme(app, scheme) == "dark" else LIGHT
    table = QTableWidget(1, 1)
    qtbot.addWidget(table)
    table.setItemDelegateForColumn(0, SpendBarDelegate(table))
    item = QTableWidgetItem("89%")
    item.setData(BAR_ROLE, (0.89, "warning"))
    table.setItem(0, 0, item)
    table.setColumnWidth(0, 200)
    table.resize(260, 80)
    table.show()
    qtbot.waitExposed(table)
    cell = table.visualItemRect(item)
    image = table.viewport().grab().toImage()
    middle = cell.center().y()
    # The bar's left part is the warning fill; the words are drawn right of the bar, in the
    # text colour on the row's own background.
    assert look.warning in _colours(image, range(cell.left() + 6, cell.left() + 40), middle)
    label = range(cell.right() - 40, cell.right() - 2)
    ground = look.base
    inked = [
        contrast(image.pixelColor(x, y).name(), ground)
        for x in label
        for y in range(cell.top(), cell.bottom())
    ]
    assert max(inked) >= TEXT_CONTRAST
    assert look.warning not in _colours(image, label, middle)
    # With the state's glyph (the cell's icon), the glyph comes first and the bar after it.
    item.setIcon(glyph("warning", "warning"))
    image = table.viewport().grab().toImage()
    assert look.trough not in _colours(image, range(cell.left(), cell.left() + 18), middle)
    assert look.trough in _colours(image, range(cell.left(), cell.right()), middle)


def test_a_spend_too_small_to_see_draws_an_empty_trough(app: QApplication, qtbot: QtBot) -> None:
    """Review 41, finding 8: $0.0000372 of $5.00 drew a blue dot at the bar's left end."""
    apply_theme(app, Qt.ColorScheme.Light)
    bar = SpendBar()
    qtbot.addWidget(bar)
    bar.resize(200, 12)
    bar.set_spend(0.0000372, 5.0)
    image = bar.grab().toImage()
    drawn = _colours(image, range(0, 20), image.height() // 2)
    assert LIGHT.info not in drawn and LIGHT.highlight not in drawn
    assert LIGHT.trough in drawn
    bar.set_spend(2.5, 5.0)
    image = bar.grab().toImage()
    assert LIGHT.info in _colours(image, range(0, 20), image.height() // 2)


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_an_empty_bar_is_seen_on_every_background(
    app: QApplication, qtbot: QtBot, scheme: Qt.ColorScheme
) -> None:
    """Review 41-2, finding 6: a key's 0% bar on the dark details pane was its trough alone,
    1.06:1 against the pane: not there. Its edge stands out at 3:1 or more on the window, the
    lists and the detail cards of both looks."""
    look = DARK if apply_theme(app, scheme) == "dark" else LIGHT
    for ground in (look.surface, look.base, look.window):
        holder = QWidget()
        holder.setAutoFillBackground(True)
        palette = holder.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(ground))
        holder.setPalette(palette)
        bar = SpendBar(holder)
        bar.set_spend(0.0, 5.0)
        holder.resize(220, 20)
        bar.setGeometry(10, 2, 200, 16)
        qtbot.addWidget(holder)
        image = holder.grab().toImage()
        middle = 2 + 8
        column = [image.pixelColor(110, y).name() for y in range(0, 20)]
        row = [image.pixelColor(x, middle).name() for x in range(0, 220)]
        best = max(contrast(colour, ground) for colour in column + row)
        assert best >= FILL_CONTRAST, (look.name, ground, best)
