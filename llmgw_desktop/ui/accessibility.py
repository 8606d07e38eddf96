"""Names for screen readers: every control the window shows says what it is.

A button or a check box is named by its text, a field by the label that is its buddy. What has
neither (a search field, a filter box, a list, a read-only pane) is named here, once per page
and again when a page is shown (a page may have built controls since), from what a sighted
person reads beside it: its placeholder, else its tooltip's first line, else its object name in
words. A name a page set itself is never replaced.
"""

from __future__ import annotations

import re

from llmgw_desktop.ui.qt import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

__all__ = ["CONTROL_TYPES", "name_controls"]

CONTROL_TYPES = (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QAbstractSpinBox,
    QAbstractItemView,
    QPlainTextEdit,
)


def _words(name: str) -> str:
    """An object name in words: `jobsStateFilter` -> `jobs state filter`."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return re.sub(r"[^A-Za-z0-9]+", " ", spaced).strip().lower()


def _seen_name(widget: QWidget) -> str:
    placeholder = ""
    if isinstance(widget, QLineEdit):
        placeholder = widget.placeholderText()
    elif isinstance(widget, QComboBox) and widget.lineEdit() is not None:
        placeholder = widget.lineEdit().placeholderText()  # type: ignore[union-attr]
    elif isinstance(widget, QPlainTextEdit):
        placeholder = widget.placeholderText()
    if placeholder:
        return placeholder.rstrip("…. ")
    tip = widget.toolTip().strip().splitlines()
    if tip:
        return tip[0]
    return _words(widget.objectName())


def _has_own_name(widget: QWidget, buddied: set[int]) -> bool:
    """Whether Qt names `widget` by itself: a name set, a button's text, a label's buddy.
    (Asking Qt's accessibility for each would make an interface per widget and wake the
    platform's accessibility bridge: megabytes and a slower first paint.)"""
    if widget.accessibleName() or id(widget) in buddied:
        return True
    return isinstance(widget, QAbstractButton) and bool(widget.text().replace("&", ""))


def name_controls(root: QWidget) -> int:
    """Name every control under `root` that has no name yet; how many were named."""
    named = 0
    buddied = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy()}
    for kind in CONTROL_TYPES:
        for widget in root.findChildren(kind):
            if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QComboBox):
                continue  # an editable box's own field: the box carries the name
            if _has_own_name(widget, buddied):
                continue
            name = _seen_name(widget)
            if name:
                widget.setAccessibleName(name)
                named += 1
    return named
