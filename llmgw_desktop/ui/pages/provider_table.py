"""The Providers page's list: a row per CLI, API provider and local server.

Each row reads the provider's name (with why it cannot answer now, when it cannot: "Groq (no
key)", greyed), its switch (`ToggleSwitch`: one click turns it on or off, as the tray's check
box does; none for a provider no switch can make answer, whose status says why), its status as
the window's one badge (`badge.py`; the reason in the tooltip), its kind, version, circuit and
last test. Cells are updated in place, only where the text
changed: a periodic refresh usually changes none and costs the loop well under a millisecond.
Beside the details pane the list shows what fits (`ColumnFitter`): Circuit, Last test, Version
and Kind give way first, and the details show each.
"""

from __future__ import annotations

from collections.abc import Callable

from llmgw_desktop.ui.badge import status_cell
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.switch import TRACK_WIDTH, ToggleSwitch
from llmgw_desktop.ui.pages.provider_detail import status_kind
from llmgw_desktop.ui.pages.provider_rows import (
    ProviderRow,
    switchable,
    unusable_reason,
    unusable_words,
)
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QHBoxLayout,
    QPalette,
    QSize,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
    Signal,
)

__all__ = [
    "CIRCUIT_COLUMN",
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "STATUS_COLUMN",
    "SWITCH_COLUMN",
    "ProvidersTable",
]

COLUMNS = ("Provider", "On", "Status", "Kind", "Version", "Circuit", "Last test")
SWITCH_COLUMN = COLUMNS.index("On")
STATUS_COLUMN = COLUMNS.index("Status")  # its tooltip says why a provider cannot serve
CIRCUIT_COLUMN = COLUMNS.index("Circuit")
SWITCH_CELL = QSize(TRACK_WIDTH + 24, 26)  # the switch and the room around it
# Hidden first when the list is narrow (the details show each).
OPTIONAL_COLUMNS = tuple(COLUMNS.index(c) for c in ("Circuit", "Last test", "Version", "Kind"))


class ProvidersTable(QTableWidget):
    """The list of providers; `show_rows` draws them, `switched(switch id, on)` says a
    person flipped a row's switch."""

    switched = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.switches: dict[str, ToggleSwitch] = {}  # switch id -> its switch in the list
        self.setObjectName("providersTable")
        self.setAccessibleName("Providers")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        self.columns = ColumnFitter(
            self, stretch=COLUMNS.index("Provider"), optional=OPTIONAL_COLUMNS
        )

    def show_rows(
        self,
        rows: list[ProviderRow],
        last_test: Callable[[str], str],
        switched_on: Callable[[str], bool] = lambda _pid: True,
    ) -> None:
        """Draw `rows`, their Last test cells from `last_test(row key)` and their switches
        from `switched_on(switch id)`."""
        resized = self.rowCount() != len(rows)
        if resized:
            self.setRowCount(len(rows))
        texts_changed = False
        for index, row in enumerate(rows):
            cells = (
                name_cell(row),
                "",
                row.status,
                row.kind,
                row.version,
                row.circuit,
                last_test(row.key),
            )
            status_tip = "\n".join(filter(None, (row.reason, *row.stale)))
            for col, text in enumerate(cells):
                tip = status_tip if col == STATUS_COLUMN else ""
                texts_changed |= self.set_cell(index, col, text, tip)
            status = self.item(index, STATUS_COLUMN)
            if status is not None:
                status_cell(status, status_kind(row), row.status)
            circuit = self.item(index, CIRCUIT_COLUMN)
            if circuit is not None and row.circuit.startswith("open"):
                status_cell(circuit, "error", row.circuit)
            self._grey_unusable(index, row)
            self._show_switch(index, row, switched_on)
        if resized or texts_changed:
            self.columns.fit()

    def _show_switch(
        self, index: int, row: ProviderRow, switched_on: Callable[[str], bool]
    ) -> None:
        """The row's switch, as the engine has it; none where no switch can make it answer."""
        item = self.item(index, SWITCH_COLUMN)
        if item is not None and item.sizeHint() != SWITCH_CELL:
            item.setSizeHint(SWITCH_CELL)  # the column is as wide as a switch
        pid = row.switch_id
        holder = self.cellWidget(index, SWITCH_COLUMN)
        shown_for = None if holder is None else holder.property("switchFor")
        if pid is None or not switchable(row):
            if holder is not None:
                self.switches.pop(str(shown_for), None)
                self.removeCellWidget(index, SWITCH_COLUMN)  # deletes it
            return
        switch = self.switches.get(pid)
        if switch is None or shown_for != pid:
            self.switches.pop(str(shown_for), None)  # the cell's old switch goes with it
            switch, holder = self._new_switch(pid, row.name)
            self.setCellWidget(index, SWITCH_COLUMN, holder)
        on = switched_on(pid)
        if switch.isChecked() != on:
            switch.blockSignals(True)  # showing the engine's state is not a person's flip
            switch.setChecked(on)
            switch.blockSignals(False)

    def _new_switch(self, pid: str, name: str) -> tuple[ToggleSwitch, QWidget]:
        switch = ToggleSwitch()
        switch.setObjectName(f"providerSwitch:{pid}")
        switch.setAccessibleName(f"Let tools call {name}")
        switch.setToolTip(f"Let tools call {name} through the gateway")
        switch.toggled.connect(lambda on, p=pid: self.switched.emit(p, on))
        holder = QWidget()
        holder.setProperty("switchFor", pid)
        centre = QHBoxLayout(holder)
        centre.setContentsMargins(0, 0, 0, 0)
        centre.addWidget(switch, 0, Qt.AlignmentFlag.AlignCenter)
        self.switches[pid] = switch
        return switch, holder

    def set_cell(self, index: int, col: int, text: str, tip: str = "") -> bool:
        """Show `text` in a cell, reusing its item; True when the text changed."""
        item = self.item(index, col)
        if item is None:
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            self.setItem(index, col, item)
            return True
        changed = item.text() != text
        if changed:
            item.setText(text)
        if item.toolTip() != tip:
            item.setToolTip(tip)
        return changed

    def _grey_unusable(self, index: int, row: ProviderRow) -> None:
        """Grey a provider that cannot answer now (the same judgement as the tray's and the
        first-run guide's: `usable_row`), its name saying why; its status and an open circuit
        keep their badge's colour."""
        words = unusable_words(row)
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for column in range(len(COLUMNS)):
            item = self.item(index, column)
            if item is None or column in (STATUS_COLUMN, SWITCH_COLUMN):
                continue
            if column == CIRCUIT_COLUMN and row.circuit.startswith("open"):
                continue
            if column == 0:
                item.setToolTip(unusable_reason(row) if words else "")
            if words is None:
                item.setData(Qt.ItemDataRole.ForegroundRole, None)
            else:
                item.setForeground(grey)


def name_cell(row: ProviderRow) -> str:
    """`Groq (no key)`: the name, and why it cannot answer now when it cannot."""
    words = unusable_words(row)
    return f"{row.name} ({words})" if words else row.name
