"""Numbers shown the same way everywhere: right-aligned, so digits line up, with their unit.

`figure_item` makes a table cell for a number; `ALIGN_FIGURE` is the alignment a model gives
its number columns. The words of a unit are the formatters' (`format_usd`, `format_count`).
"""

from __future__ import annotations

from llmgw_desktop.ui.qt import Qt, QTableWidgetItem

__all__ = ["ALIGN_FIGURE", "figure_item", "format_count", "set_figure"]

ALIGN_FIGURE = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def format_count(count: int, unit: str, plural: str = "") -> str:
    """`1 request`, `1,204 requests`: a count with its unit, thousands grouped."""
    word = unit if count == 1 else (plural or f"{unit}s")
    return f"{count:,} {word}"


def figure_item(text: str) -> QTableWidgetItem:
    """A table cell holding a figure: right-aligned."""
    item = QTableWidgetItem(text)
    item.setTextAlignment(ALIGN_FIGURE)
    return item


def set_figure(item: QTableWidgetItem, text: str) -> None:
    """Show `text` in `item` right-aligned, touching it only when it changed."""
    if item.text() != text:
        item.setText(text)
    item.setTextAlignment(ALIGN_FIGURE)
