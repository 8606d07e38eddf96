"""A column of switches in a table: one `Switch` a row, kept as the engine has them.

The Providers list and Overview's provider health both show each provider's switch in a
column. `SwitchCells` puts a switch in a row's cell (or none, for a provider no switch can make
answer), sets it to what the engine says without that counting as a person's flip, and says
when a person flips one (`switched(id, on)`). The cell's item keeps the switch's words, for a
screen reader and for what the page reads back; the switch is drawn over an empty cell.
"""

from __future__ import annotations

from llmgw_desktop.ui.kit.switch import TRACK_WIDTH, Switch
from llmgw_desktop.ui.qt import (
    QHBoxLayout,
    QObject,
    QSize,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
    Signal,
)

__all__ = ["SWITCH_CELL", "WORDS_ROLE", "SwitchCells"]

SWITCH_CELL = QSize(TRACK_WIDTH + 24, 26)  # a switch without words and the room around it
WORDS_ROLE = int(Qt.ItemDataRole.UserRole) + 11  # the words a cell's switch shows


class SwitchCells(QObject):
    """The switches in `column` of `table`; `switched(id, on)` when a person flips one."""

    switched = Signal(str, bool)

    def __init__(self, table: QTableWidget, column: int, *, words: bool = False) -> None:
        super().__init__(table)
        self._table = table
        self._column = column
        self._words = words  # the switch says its state beside it ("on", "off (paused)")
        self.switches: dict[str, Switch] = {}  # id -> its switch

    def show(self, index: int, pid: str, name: str, on: bool | None, words: str = "") -> None:
        """Row `index` gets the switch of `pid` set to `on` (None: no switch, only `words`)."""
        table = self._table
        item = table.item(index, self._column)
        if item is None:
            item = QTableWidgetItem()
            table.setItem(index, self._column, item)
        holder = table.cellWidget(index, self._column)
        shown_for = None if holder is None else holder.property("switchFor")
        if on is None:
            if holder is not None:
                self.switches.pop(str(shown_for), None)
                table.removeCellWidget(index, self._column)  # deletes it
            if item.text() != words:
                item.setText(words)
            return
        if item.text():
            item.setText("")  # the switch is drawn over the cell: its words are the switch's
        item.setData(WORDS_ROLE, words)
        switch = self.switches.get(pid)
        if switch is None or shown_for != pid:
            self.switches.pop(str(shown_for), None)  # the cell's old switch goes with it
            switch = self._new_switch(index, pid, name)
        if switch.isChecked() != on:
            switch.blockSignals(True)  # showing the engine's state is not a person's flip
            switch.setChecked(on)
            switch.blockSignals(False)
        if self._words and switch.text() != words:
            switch.setText(words)
            switch.updateGeometry()
        width = switch.sizeHint().width() + 16 if self._words else SWITCH_CELL.width()
        hint = QSize(width, SWITCH_CELL.height())
        if item.sizeHint() != hint:
            item.setSizeHint(hint)  # the column is as wide as its switches

    def words(self, index: int) -> str:
        """What row `index`'s cell says: its switch's words, or its text without a switch."""
        item = self._table.item(index, self._column)
        if item is None:
            return ""
        if self._table.cellWidget(index, self._column) is not None:
            return str(item.data(WORDS_ROLE) or "")
        return item.text()

    def set_on(self, pid: str, on: bool) -> None:
        """Show `pid`'s switch at `on` now (switched elsewhere), quietly."""
        switch = self.switches.get(pid)
        if switch is not None and switch.isChecked() != on:
            switch.blockSignals(True)
            switch.setChecked(on)
            switch.blockSignals(False)

    def _new_switch(self, index: int, pid: str, name: str) -> Switch:
        switch = Switch()
        switch.setObjectName(f"providerSwitch:{pid}")
        switch.setAccessibleName(f"Let tools call {name}")
        switch.setToolTip(f"Let tools call {name} through the gateway")
        switch.toggled.connect(lambda on, p=pid: self.switched.emit(p, on))
        holder = QWidget()
        holder.setProperty("switchFor", pid)
        row = QHBoxLayout(holder)
        row.setContentsMargins(6, 0, 6, 0)
        if self._words:
            row.addWidget(switch, 0, Qt.AlignmentFlag.AlignVCenter)
            row.addStretch(1)
        else:
            row.addWidget(switch, 0, Qt.AlignmentFlag.AlignCenter)
        self._table.setCellWidget(index, self._column, holder)
        self.switches[pid] = switch
        return switch
