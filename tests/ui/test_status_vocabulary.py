"""One status vocabulary in every list (issue 41, review finding 6).

The jobs list, the Flight recorder, the Providers list, Overview's provider health, the MCP
servers and the keys all draw a status through `badge.py`: the same glyph and the same colour
for the same kind, whatever the page. A failing cell's glyph is a cross inside a filled disc (a
bare cross before a word read as a delete button).
"""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.badge import STATE_KINDS, state_kind, status_cell, status_data
from llmgw_desktop.ui.glyphs import glyph, glyph_family
from llmgw_desktop.ui.qt import QApplication, QColor, QPalette, QSize, Qt, QTableWidgetItem
from llmgw_desktop.ui.theme import tone_colour

DECORATION, FOREGROUND = int(Qt.ItemDataRole.DecorationRole), int(Qt.ItemDataRole.ForegroundRole)


def test_request_and_job_states_map_onto_the_status_kinds() -> None:
    assert state_kind("completed") == "ok"
    assert state_kind("failed") == state_kind("refused") == state_kind("denied") == "error"
    assert state_kind("stuck") == state_kind("interrupted") == "warning"
    assert state_kind("canceled") == "off"  # stopped on purpose: grey, not red
    assert state_kind("running") == state_kind("queued") == "busy"
    assert state_kind("no such state") == "unknown"
    assert set(STATE_KINDS.values()) <= {"ok", "error", "warning", "off", "busy"}


def test_a_table_widget_cell_and_a_model_cell_show_a_kind_the_same_way(qtbot: QtBot) -> None:
    for kind, tone in (("ok", "ok"), ("error", "error"), ("warning", "warning"), ("off", "off")):
        item = QTableWidgetItem()
        status_cell(item, kind, "words")
        assert item.text() == "words"
        assert item.icon().cacheKey() == status_data(kind, DECORATION).cacheKey(), kind
        assert (
            item.foreground().color() == status_data(kind, FOREGROUND) == QColor(tone_colour(tone))
        )
    assert status_data("error", int(Qt.ItemDataRole.DisplayRole)) is None


def test_a_failing_cell_draws_a_cross_inside_a_filled_disc(qtbot: QtBot) -> None:
    if glyph_family() is None:
        return  # without the icon font every icon is empty, by design (glyphs.py)
    image = status_data("error", DECORATION).pixmap(QSize(32, 32)).toImage()
    red = QColor(tone_colour("error"))
    base = QApplication.palette().color(QPalette.ColorRole.Base)

    def near(found: QColor, wanted: QColor) -> bool:
        return all(
            abs(a - b) < 40 for a, b in zip(found.getRgb()[:3], wanted.getRgb()[:3], strict=True)
        )

    # The disc is filled: red between the rim and the cross, all round.
    for x, y in ((9, 16), (23, 16), (16, 9), (16, 23)):
        assert near(image.pixelColor(x, y), red), (x, y, image.pixelColor(x, y).name())
    # The cross is cut out of it at the centre, in the list's own background.
    assert near(image.pixelColor(16, 16), base), image.pixelColor(16, 16).name()
    # The badge beside a detail keeps its outline glyph (it sits on a tinted pill).
    assert not glyph("error", "error").isNull()


def test_a_cell_takes_the_new_looks_colour_on_its_next_redraw(qtbot: QtBot) -> None:
    from llmgw_desktop.ui.qt import Qt as QtNs
    from llmgw_desktop.ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    item = QTableWidgetItem()
    try:
        apply_theme(app, QtNs.ColorScheme.Light)
        status_cell(item, "warning", "Some calls fail")
        light = item.foreground().color().name()
        apply_theme(app, QtNs.ColorScheme.Dark)
        status_cell(item, "warning", "Some calls fail")  # the table's next refresh
        assert item.foreground().color().name() == tone_colour("warning") != light
    finally:
        apply_theme(app)


def test_off_revoked_and_canceled_are_the_grey_circle_of_every_list(qtbot: QtBot) -> None:
    """Review 41-2, finding 6: Keys drew a revoked key with a slashed circle, a glyph no other
    page used for its status; off (a key revoked or expired, a job canceled, a provider or a
    server switched off) is the plain grey circle, as not installed is."""
    from llmgw_desktop.ui.badge import STATUS_KINDS
    from llmgw_desktop.ui.glyphs import NAMES
    from llmgw_desktop.ui.pages.key_detail import state_kind as key_kind

    assert key_kind("revoked") == key_kind("expired") == state_kind("canceled") == "off"
    off = STATUS_KINDS["off"]
    assert NAMES[off.in_cell] == NAMES[off.glyph] == NAMES[STATUS_KINDS["missing"].glyph]
    assert NAMES[off.glyph] == "circle-large-outline"
    assert "circle-slash" not in {NAMES[kind.in_cell] for kind in STATUS_KINDS.values()}
    assert off.tone in ("off", "muted") and tone_colour(off.tone) == tone_colour("muted")
