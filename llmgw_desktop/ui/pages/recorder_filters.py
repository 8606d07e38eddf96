"""The Flight recorder's filters: "Unanswered only", a search, a time range, and a box per column.

The first row is what a person reaches for to find why a request failed: the failed switch,
the search and the time range. The column boxes (the kind of call: chat, embedding or
completion; provider, model, state, error code, HTTP status, project, caller, principal, the
session its client named) are
one click away under "Filters", which says how many are set and opens by itself when another
page set one (an agent's lane, a key's requests), so a filtered list never hides why. Typing
waits a quarter second to settle; `changed` then asks the page to load.
"""

from __future__ import annotations

import math
import time

from llmgw_desktop.engine.api import REQUEST_KINDS, ErrorCode, RecorderFilters, RecordState
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.pages.recorder_words import FAILED_OVER, UNANSWERED_STATES
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QColor,
    QComboBox,
    QDateTime,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPalette,
    QPushButton,
    QSize,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import error_colour

__all__ = ["TIME_RANGES", "RecorderFilterBar"]

SEARCH_SETTLE_MS = 250
BOXES_PER_ROW = 4
# Label, and how far back it reaches in seconds (None: everything; "custom": the two pickers).
TIME_RANGES: tuple[tuple[str, float | str | None], ...] = (
    ("All time", None),
    ("Last 15 minutes", 15 * 60.0),
    ("Last hour", 3600.0),
    ("Last 24 hours", 86400.0),
    ("Last 7 days", 7 * 86400.0),
    ("Custom range", "custom"),
)
STATES = tuple(RecordState)  # the one vocabulary (engine/states.py)
_BOXES = (
    ("kind", "any kind", "Kind of call"),
    ("provider", "any provider", "Provider"),
    ("model", "any model", "Model"),
    ("state", "any state", "State"),
    ("error_code", "any error code", "Error code"),
    ("http_status", "any HTTP status", "HTTP status"),
    ("project", "any project", "Project"),
    ("caller", "any caller", "Caller"),
    ("principal", "anyone", "Runs as"),
    ("client_session", "any session", "Session"),
)


class RecorderFilterBar(QWidget):
    """The filters; `changed` once typing has settled, `current(names)` reads them."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes: dict[str, QComboBox] = {
            name: _choice_box(name, placeholder, label) for name, placeholder, label in _BOXES
        }
        self.boxes["http_status"].setMinimumContentsLength(6)
        first = self._first_row()
        self.grid_box = QWidget()
        grid = QGridLayout(self.grid_box)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, box in enumerate(self.boxes.values()):
            grid.addWidget(box, index // BOXES_PER_ROW, index % BOXES_PER_ROW)
        self.grid_box.setVisible(False)
        self.more_button.toggled.connect(self.grid_box.setVisible)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(SPACE["s"])
        column.addLayout(first)
        column.addWidget(self.grid_box)
        self._settle_changes()
        self._show_custom_range()

    def _first_row(self) -> QHBoxLayout:
        """The filters always shown: unanswered only, the search, the time range (with its own
        dates), the button that shows the rest, and how many rows they leave."""
        self.failed_button = QPushButton("Unanswered only")
        self.failed_button.setObjectName("recorderFailedOnly")
        # A funnel, in the error colour: a filter to the failed ones (a cross read as "clear").
        self.failed_button.setIcon(glyph("filter", "error"))
        self.failed_button.setCheckable(True)
        self.failed_button.setToolTip(
            "Show only requests that ended without an answer: "
            + ", ".join(UNANSWERED_STATES)
            + f" (not a provider call that {FAILED_OVER} to another target: its request went on)"
        )
        self.failed_button.toggled.connect(self._failed_toggled)
        self.range_box = QComboBox()
        self.range_box.setObjectName("recorderRange")
        self.range_box.setAccessibleName("Time range")
        for label, _seconds in TIME_RANGES:
            self.range_box.addItem(label)
        now = QDateTime.currentDateTime()
        self.from_edit = _date_edit("recorderFrom", now.addDays(-1), "From")
        self.to_edit = _date_edit("recorderTo", now.addSecs(3600), "To")
        self.search_box = QLineEdit()
        self.search_box.setObjectName("recorderSearch")
        self.search_box.setAccessibleName("Search the requests")
        self.search_box.setPlaceholderText("Search ids, callers, models, error codes, routes…")
        self.search_box.setClearButtonEnabled(True)
        self.more_button = QToolButton()
        self.more_button.setObjectName("recorderMoreFilters")
        self.more_button.setText("Filters")
        self.more_button.setIcon(glyph("filter"))
        self.more_button.setIconSize(QSize(16, 16))
        self.more_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more_button.setCheckable(True)
        self.more_button.setToolTip("Filter by provider, model, state, error code and more")
        self.count_label = QLabel()
        self.count_label.setObjectName("recorderCount")
        first = QHBoxLayout()
        first.setSpacing(SPACE["s"])
        first.addWidget(self.failed_button)
        first.addWidget(self.search_box, 1)
        first.addWidget(self.range_box)
        first.addWidget(self.from_edit)
        first.addWidget(self.to_edit)
        first.addWidget(self.more_button)
        first.addWidget(self.count_label)
        return first

    def _settle_changes(self) -> None:
        """Each change of a filter waits for typing to settle (`SEARCH_SETTLE_MS`) before
        `changed`; a new time range is taken at once (its dates shown for a custom one)."""
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SEARCH_SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        for box in self.boxes.values():
            box.currentTextChanged.connect(lambda _text: self._settle.start())
        self.search_box.textChanged.connect(lambda _text: self._settle.start())
        self.from_edit.dateTimeChanged.connect(lambda _when: self._settle.start())
        self.to_edit.dateTimeChanged.connect(lambda _when: self._settle.start())
        self.range_box.currentIndexChanged.connect(self._range_changed)

    @property
    def settling(self) -> bool:
        """Whether typing has not settled yet (a load is due)."""
        return self._settle.isActive()

    def current(self, names: ProviderNames, now: float | None = None) -> RecorderFilters:
        """What the filters say, with a relative time range measured from `now`."""
        now = time.time() if now is None else now
        since = until = None
        reach = TIME_RANGES[self.range_box.currentIndex()][1]
        if reach == "custom":
            since = float(self.from_edit.dateTime().toSecsSinceEpoch())
            until = float(self.to_edit.dateTime().toSecsSinceEpoch())
        elif isinstance(reach, float):
            since = now - reach
        values = {name: box.currentText().strip() or None for name, box in self.boxes.items()}
        status = values.pop("http_status")
        provider = values["provider"]
        return RecorderFilters(
            # The box lists providers by name; a typed id works too.
            provider=None if provider is None else names.ids_named(provider),
            model=values["model"],
            state=values["state"],
            caller=values["caller"],
            principal=values["principal"],
            error_code=values["error_code"],
            project=values["project"],
            client_session=values["client_session"],
            kind=values["kind"],
            # Anything typed that is not a status code matches no row, as a name would not.
            http_status=None if status is None else int(status) if status.isdigit() else -1,
            failed_only=self.failed_button.isChecked(),
            since=since,
            until=until,
            text=self.search_box.text(),
        )

    def show_only(self, values: dict[str, str], *, range_index: int, failed_only: bool) -> None:
        """Set the boxes to `values` (the others empty), the time range and the failed switch,
        without a load each (the page loads once after)."""
        for name, box in self.boxes.items():
            box.blockSignals(True)
            box.setEditText(values.get(name, ""))
            box.blockSignals(False)
        self.search_box.blockSignals(True)
        self.search_box.setText("")
        self.search_box.blockSignals(False)
        for widget, set_value in (
            (self.range_box, lambda: self.range_box.setCurrentIndex(range_index)),
            (self.failed_button, lambda: self.failed_button.setChecked(failed_only)),
        ):
            widget.blockSignals(True)
            set_value()
            widget.blockSignals(False)
        self._show_custom_range()
        self.style_failed_button()
        self._count_set()
        if any(values.values()):
            self.more_button.setChecked(True)  # a filtered list shows why
        self._settle.stop()

    def set_range(self, since: float, until: float) -> None:
        """Put `since` and `until` (wall-clock seconds) in the custom range's pickers."""
        # Whole seconds that still hold the moment: the start down, the end up.
        for edit, when in ((self.from_edit, math.floor(since)), (self.to_edit, math.ceil(until))):
            edit.blockSignals(True)
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(when))
            edit.blockSignals(False)

    def offer(self, choices: dict[str, list[str]], names: ProviderNames) -> None:
        """Fill each box's list with the values the recorder holds, keeping what is typed."""
        choices["provider"] = [names.name(pid) for pid in choices.get("provider", [])]
        choices["state"] = sorted(set(choices.get("state", [])) | set(STATES))
        choices["kind"] = list(REQUEST_KINDS)
        # Recent rows' codes first-hand, and every code the gateway can answer with.
        choices["error_code"] = sorted(set(choices.get("error_code", [])) | set(ErrorCode))
        for name, box in self.boxes.items():
            typed = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItem("")
            box.addItems(choices.get(name, []))
            box.setEditText(typed)
            box.blockSignals(False)

    def show_failed_count(self, failed: int | None) -> None:
        """Say how many requests under the other filters ended without an answer
        ("Unanswered only (8)"); None while they are being counted. Not "Failed": the
        Overview's "13 failed" counts the requests sent to providers that got no answer, and
        this also counts the refused, denied, canceled and interrupted ones (a review read 15
        beside 13); neither counts an attempt that failed over (its request went on)."""
        words = "Unanswered only"
        self.failed_button.setText(words if failed is None else f"{words} ({failed:,})")

    def style_failed_button(self) -> None:
        """On, it says so in bold and in the error colour, besides the pressed look."""
        on = self.failed_button.isChecked()
        font = self.failed_button.font()
        font.setBold(on)
        self.failed_button.setFont(font)
        palette = self.palette()
        if on:
            palette.setColor(QPalette.ColorRole.ButtonText, QColor(error_colour()))
        self.failed_button.setPalette(palette)

    def _failed_toggled(self, _on: bool) -> None:
        self.style_failed_button()
        self.changed.emit()

    def _settled(self) -> None:
        self._count_set()
        self.changed.emit()

    def _count_set(self) -> None:
        set_boxes = sum(1 for box in self.boxes.values() if box.currentText().strip())
        self.more_button.setText(f"Filters ({set_boxes})" if set_boxes else "Filters")

    def _range_changed(self) -> None:
        self._show_custom_range()
        self.changed.emit()

    def _show_custom_range(self) -> None:
        custom = TIME_RANGES[self.range_box.currentIndex()][1] == "custom"
        self.from_edit.setVisible(custom)
        self.to_edit.setVisible(custom)


def _choice_box(name: str, placeholder: str, label: str) -> QComboBox:
    """An editable box: pick a value seen in the recorder, or type one; empty means any."""
    box = QComboBox()
    box.setObjectName(f"recorderFilter:{name}")
    box.setAccessibleName(label)
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.setMinimumContentsLength(10)
    box.addItem("")
    line = box.lineEdit()
    if line is not None:
        line.setPlaceholderText(placeholder)
        line.setClearButtonEnabled(True)
    return box


def _date_edit(name: str, when: QDateTime, label: str) -> QDateTimeEdit:
    edit = QDateTimeEdit(when)
    edit.setObjectName(name)
    edit.setAccessibleName(label)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    return edit
