"""The Settings page's quiet hours: a switch and two times, saved as `ui.quiet_hours`.

Off is an empty setting (never quiet); on, the span from the first time to the second, over
midnight when the second comes first (`config/quiet_hours.py`). A change is announced once the
person has finished it (the switch flipped, or a time left), not at each step of a spin box.
"""

from __future__ import annotations

from datetime import time

from llmgw_desktop.config.quiet_hours import parse_quiet_hours
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.qt import QHBoxLayout, QLabel, QTime, QTimeEdit, QWidget, Signal

__all__ = ["QuietHoursBox"]

DEFAULT = "22:00-07:00"


class QuietHoursBox(QWidget):
    """(o) Quiet hours from [22:00] to [07:00]; `chosen(text)` when changed ("" for off)."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.switch = Switch("Quiet hours: no pop-up notifications from")
        self.switch.setObjectName("quietHours")
        self.switch.setToolTip(
            "The notification history keeps every message; an approval still opens its dialog"
        )
        self.start = _time_edit("quietFrom", "Quiet from")
        self.end = _time_edit("quietTo", "Quiet until")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(SPACE["s"])
        row.addWidget(self.switch)
        row.addWidget(self.start)
        row.addWidget(QLabel("to"))
        row.addWidget(self.end)
        row.addStretch(1)
        self.show_value(DEFAULT)
        self.switch.setChecked(False)
        self._enable(False)
        self.switch.clicked.connect(self._switched)
        self.start.editingFinished.connect(self._announce)
        self.end.editingFinished.connect(self._announce)

    def show_value(self, text: str) -> None:
        """Show the setting's value (`22:00-07:00`, or "" for off) without announcing it."""
        span = parse_quiet_hours(text or "")
        self.switch.setChecked(span is not None)
        shown = span or parse_quiet_hours(DEFAULT)
        assert shown is not None
        self.start.setTime(_qtime(shown.start))
        self.end.setTime(_qtime(shown.end))
        self._enable(span is not None)

    def value(self) -> str:
        """What the box says, as the setting writes it."""
        if not self.switch.isChecked():
            return ""
        start, end = self.start.time(), self.end.time()
        return f"{start.toString('HH:mm')}-{end.toString('HH:mm')}"

    def _switched(self, on: bool) -> None:
        self._enable(on)
        self._announce()

    def _enable(self, on: bool) -> None:
        self.start.setEnabled(on)
        self.end.setEnabled(on)

    def _announce(self) -> None:
        if self.start.time() == self.end.time() and self.switch.isChecked():
            return  # an empty span: nothing to save until the times differ
        self.chosen.emit(self.value())


def _time_edit(name: str, label: str) -> QTimeEdit:
    edit = QTimeEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(label)
    edit.setDisplayFormat("HH:mm")
    return edit


def _qtime(moment: time) -> QTime:
    return QTime(moment.hour, moment.minute)
