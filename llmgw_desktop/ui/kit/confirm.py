"""A question before something that cannot be taken back: the answer that does it is named for
what it does, and the answer that keeps things as they are is the default, for Enter and Escape
alike."""

from __future__ import annotations

from collections.abc import Callable

from llmgw_desktop.ui.qt import QMessageBox, QWidget

__all__ = ["ask_first"]


def ask_first(
    parent: QWidget,
    name: str,
    title: str,
    text: str,
    act: str,
    then: Callable[[], object],
    *,
    icon: QMessageBox.Icon = QMessageBox.Icon.Warning,
    keep: str = "",
) -> QMessageBox:
    """Open (without blocking) the box `name`, titled `title`, asking `text`; `then()` runs once
    the person chose `act`. `keep`: the words of the answer that does nothing (Cancel when
    "")."""
    box = QMessageBox(icon, f"llmgw-desktop: {title}", text, parent=parent)
    box.setObjectName(name)
    yes = box.addButton(act, QMessageBox.ButtonRole.DestructiveRole)
    no = (
        box.addButton(keep, QMessageBox.ButtonRole.RejectRole)
        if keep
        else box.addButton(QMessageBox.StandardButton.Cancel)
    )
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    box.finished.connect(lambda _result: then() if box.clickedButton() == yes else None)
    box.open()
    return box
