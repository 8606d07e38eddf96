"""The Providers page's list: a row per CLI, API provider and local server.

Each row reads the provider's name (in the muted tone when it cannot answer now, the why in its
tooltip: its status says it once, "No API key", where the name said "Groq (no key)" beside it
as well, greyed at 2.69:1), its switch (`Switch`: one click turns it on or off, as the tray's
check box does; none for a provider no switch can make answer, whose status says why), its
status as the window's one badge (`badge.py`; the reason in the tooltip), its kind, version
and circuit (what the circuit means in its state: "calls go through (closed)" beside a red
"Failing" says the calls reach the provider and fail there). There is no "Last test" column: it
was empty until a Test in this window, which the details show. Cells are updated in place, only
where the text changed: a periodic refresh usually changes none and costs the loop well under
a millisecond. Beside the details pane the list shows what fits (`ColumnFitter`, measuring
every row, so "Local server" is never cut to "Loc…" because its rows were off screen when the
list was measured): Circuit, Version and Kind give way first, and the details show each.
"""

from __future__ import annotations

from collections.abc import Callable

from llmgw_desktop.ui.badge import plain_cell, status_cell
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.switch_cells import SwitchCells
from llmgw_desktop.ui.pages.provider_detail import status_kind
from llmgw_desktop.ui.pages.provider_rows import (
    ProviderRow,
    circuit_open,
    switchable,
    unusable_reason,
    unusable_words,
)
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QResizeEvent,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import tone_item

__all__ = [
    "CIRCUIT_COLUMN",
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "STATUS_COLUMN",
    "SWITCH_COLUMN",
    "ProvidersTable",
]

COLUMNS = ("Provider", "On", "Status", "Kind", "Version", "Circuit")
SWITCH_COLUMN = COLUMNS.index("On")
STATUS_COLUMN = COLUMNS.index("Status")  # its tooltip says why a provider cannot serve
CIRCUIT_COLUMN = COLUMNS.index("Circuit")
# Hidden first when the list is narrow (the details show each).
OPTIONAL_COLUMNS = tuple(COLUMNS.index(c) for c in ("Circuit", "Version", "Kind"))


class ProvidersTable(QTableWidget):
    """The list of providers; `show_rows` draws them, `switched(switch id, on)` says a
    person flipped a row's switch."""

    switched = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.switch_cells = SwitchCells(self, SWITCH_COLUMN)
        self.switch_cells.switched.connect(self.switched)
        self.switches = self.switch_cells.switches  # switch id -> its switch in the list
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
        # Every row measured (thirty at most): rows off screen when the list was fitted (the
        # local servers, at the bottom) had their kind cut to "Loc…" even at 1920 px.
        self.horizontalHeader().setResizeContentsPrecision(-1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the chosen row in view when the list gets shorter, if it was in view before
        (the row a tray alert or the header chose is often the last: a page's layout settling
        after the choice, or a status message, cut it to a sliver beside its own details)."""
        current = self.currentIndex()
        shorter_by = event.oldSize().height() - event.size().height()
        super().resizeEvent(event)
        if not current.isValid() or shorter_by <= 0 or event.oldSize().height() < 0:
            return
        cell = self.visualRect(current)
        now = self.viewport().rect()
        was_in_view = cell.top() >= 0 and cell.bottom() <= now.bottom() + shorter_by
        if was_in_view and not now.contains(cell):
            self.scrollTo(current)

    def show_rows(
        self,
        rows: list[ProviderRow],
        switched_on: Callable[[str], bool] = lambda _pid: True,
    ) -> None:
        """Draw `rows`, and their switches from `switched_on(switch id)`."""
        resized = self.rowCount() != len(rows)
        if resized:
            self.setRowCount(len(rows))
        texts_changed = False
        for index, row in enumerate(rows):
            cells = (row.name, "", row.status, row.kind, row.version, row.circuit)
            status_tip = "\n".join(filter(None, (row.reason, *row.stale)))
            for col, text in enumerate(cells):
                tip = status_tip if col == STATUS_COLUMN else ""
                texts_changed |= self.set_cell(index, col, text, tip)
            status = self.item(index, STATUS_COLUMN)
            if status is not None:
                status_cell(status, status_kind(row), row.status)
            circuit = self.item(index, CIRCUIT_COLUMN)
            if circuit is not None and circuit_open(row.circuit):
                status_cell(circuit, "error", row.circuit)
            elif circuit is not None:
                plain_cell(circuit)  # toned below, as the row's other cells
            self._grey_unusable(index, row)
            self._show_switch(index, row, switched_on)
        if resized or texts_changed:
            self.columns.fit()

    def _show_switch(
        self, index: int, row: ProviderRow, switched_on: Callable[[str], bool]
    ) -> None:
        """The row's switch, as the engine has it; none where no switch can make it answer."""
        pid = row.switch_id
        on = switched_on(pid) if pid is not None and switchable(row) else None
        self.switch_cells.show(index, pid or "", row.name, on)

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
        """Mute a provider that cannot answer now (the same judgement as the tray's and the
        first-run guide's: `usable_row`), in the muted tone (4.5:1 or more: the disabled grey
        was 2.69:1), the why in its name's tooltip; its status and an open circuit keep their
        badge's colour."""
        words = unusable_words(row)
        for column in range(len(COLUMNS)):
            item = self.item(index, column)
            if item is None or column in (STATUS_COLUMN, SWITCH_COLUMN):
                continue
            if column == CIRCUIT_COLUMN and circuit_open(row.circuit):
                continue
            if column == 0:
                item.setToolTip(unusable_reason(row) if words else "")
            tone_item(item, None if words is None else "muted")
