"""Overview's provider health: every provider the engine knows (coding CLIs, API providers,
local servers) in one table, with the same status words as the Providers page (both read
`provider_rows.py`), its switch (a `Switch`, as in the Providers list: the Overview's
switches are these, not a grid of check boxes of their own), its circuit, the calls it was sent
in the last 15 minutes and how many of them failed (the live figures' `asked` and `errors`, the
counts the Overview's Providers line sums, refreshed on its tick by `show_counts`), and from its
recent calls (`engine.provider_health`) its p50/p95 latency. A provider "Ready" whose calls
failed some in those 15 minutes reads "Ready, 5 recent failures" in the warning tone, and one
whose verdict counts its recent calls reads "Some calls fail: 2 of 16 calls failed in 15 min":
each count from the same read as its Calls and Failed cells, on the same tick (`show_counts`),
never the engine's count at the last load (two calls later that says "of 14" beside 16). The
verdict itself (its level, a streak, the calls since it last answered) is the last load's.
Providers that cannot answer whatever their switch says (a CLI not installed, no key, no
server) are folded away until asked for (`set_show_all`): the table opens on what can answer.

The rows load in a task while the page is shown: at once, again on a switch, pause or breaker
event, and every few seconds (a failed Test or failing calls show without a click). Versions
come from running each CLI's `--version`, which discovery caches for minutes.
"""

from __future__ import annotations

from collections.abc import Mapping

from llmgw_desktop.engine.api import Engine, Totals
from llmgw_desktop.ui.attention import ProviderVerdict
from llmgw_desktop.ui.badge import status_cell
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.counts import ProviderCounts, provider_counts
from llmgw_desktop.ui.kit.column_hint import HiddenColumnsHint
from llmgw_desktop.ui.kit.figures import ALIGN_FIGURE
from llmgw_desktop.ui.kit.switch_cells import SwitchCells
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.pages.provider_detail import status_kind
from llmgw_desktop.ui.pages.provider_rows import (
    TRAFFIC_WINDOW,
    ProviderRow,
    circuit_open,
    load_provider_rows,
    ready_words,
    status_line,
    switchable,
    unusable_reason,
)
from llmgw_desktop.ui.qt import (
    QHeaderView,
    QResizeEvent,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    Signal,
)
from llmgw_desktop.ui.tasks import OnceMore, UiTasks
from llmgw_desktop.ui.theme import tone_item

__all__ = ["FIGURES", "HEALTH_COLUMNS", "ProviderHealthTable", "errors_text", "latency_text"]

HEALTH_COLUMNS = (
    "Provider",
    "Kind",
    "Status",
    "Version",
    "Switch",
    "Circuit",
    "Calls 15 min",
    "Failed 15 min",
    "p50 / p95",
)
STATUS = HEALTH_COLUMNS.index("Status")
SWITCH = HEALTH_COLUMNS.index("Switch")
CIRCUIT = HEALTH_COLUMNS.index("Circuit")
# The columns that give their width to a status's reason when the table is short of room.
GIVE_WAY = (HEALTH_COLUMNS.index("Version"), CIRCUIT)
CALLS = HEALTH_COLUMNS.index("Calls 15 min")
ERRORS = HEALTH_COLUMNS.index("Failed 15 min")
LATENCY = HEALTH_COLUMNS.index("p50 / p95")
# Right-aligned, headings too, as every list's figures are: digits and units line up down a
# column (review 41-3, finding 11: these three were the window's only left-aligned figures).
FIGURES = (CALLS, ERRORS, LATENCY)
HEALTH_REFRESH_MS = 5000
CELL_PADDING = 8  # px beside a cell's text (the style's margins, rounded up)
# Narrower words where the table needs room for its error and latency columns.
_SHORT_KINDS = {"Local server": "Local"}


class ProviderHealthTable(QTableWidget):
    """Each provider's status, switch, circuit and recent requests, kept current while shown;
    `folded` says how many rows that cannot answer are folded away now."""

    folded = Signal(int)

    def __init__(self, bridge: EngineBridge, tasks: UiTasks) -> None:
        super().__init__(0, len(HEALTH_COLUMNS))
        self.setObjectName("providerHealth")
        self.setAccessibleName("Provider health")
        self.switch_cells = SwitchCells(self, SWITCH, words=True)
        self.hint = HiddenColumnsHint(self)  # "+2 columns ▾": Version and Circuit gave way
        self.hint.chosen.connect(self.keep_column)
        self._kept: set[int] = set()  # columns a person asked to see: they never give way
        self.show_all = False
        self._unavailable: set[int] = set()  # rows no switch can make answer
        self.counts = ProviderCounts()  # of the rows last shown (`counts.provider_counts`)
        self._engine: Engine = bridge.engine
        self._refresh = OnceMore(tasks, self._load, "check the providers")
        self._versions = False  # the first load only locates the CLIs (instant)
        self._status_words = self._status_text = 0  # px: Status's state words, its whole text
        self.rows: dict[str, int] = {}  # switch id -> row index
        # Each row's status as its provider row says it (words, reason, badge kind, and the
        # verdict it says, if any), and its failed calls in the window as last counted, of the
        # live figures last read: "Ready" is said with those failures, a verdict's count of
        # recent calls with those figures.
        self._statuses: dict[int, tuple[str, str, str, ProviderVerdict | None]] = {}
        self._failed: dict[int, tuple[int, int]] = {}
        self._served: Mapping[str, Totals] = {}
        # The last heading on two lines: its column is as narrow as its numbers.
        self.setHorizontalHeaderLabels([c.replace(" 15 min", "\n15 min") for c in HEALTH_COLUMNS])
        align_heading(self, FIGURES)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.horizontalHeader()
        # Not ResizeToContents: that measures a column again on every cell set (see the
        # Providers page); `show_rows` fits the columns once, when some text changed.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Not a stretched Status column either: it got what the others left, and an open
        # circuit's long text squeezed "Not installed" into a wrapped "Not ins…". Every column
        # fits its text (the table scrolls sideways if it must); the last one takes the rest.
        header.setStretchLastSection(True)
        # A status's reason wraps onto a second line rather than being cut mid-sentence.
        self.setWordWrap(True)
        for index, state in enumerate(self._engine.providers.states()):
            self.insertRow(index)
            self.rows[state.id] = index
            self._set(index, 0, state.display_name)
            self._set(index, STATUS, "checking…")
        # Fitted before the first load too: Qt's default 100 px a column scrolled sideways at
        # 1024x700 until the rows came in (and for good when they were slow to).
        self._fit_columns()
        self._fit_height()
        self._timer = QTimer(self)
        self._timer.setInterval(HEALTH_REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)
        bridge.providerToggled.connect(lambda _provider, _on: self.request_refresh())
        bridge.pauseChanged.connect(lambda _paused: self.request_refresh())
        bridge.breakerChanged.connect(lambda _provider, _state: self.request_refresh())
        bridge.restsChanged.connect(self.request_refresh)

    def start(self) -> None:
        """Load now and every few seconds (while the page is shown)."""
        self._timer.start()
        self.request_refresh()

    def stop(self) -> None:
        self._timer.stop()

    def cell(self, provider: str, column: str) -> str:
        """The text shown for `provider` (a switch id) in `column` (one of HEALTH_COLUMNS)."""
        if column == "Switch":
            return self.switch_cells.words(self.rows[provider])
        item = self.item(self.rows[provider], HEALTH_COLUMNS.index(column))
        return "" if item is None else item.text()

    def set_show_all(self, show: bool) -> None:
        """Show the providers that cannot answer too (a CLI not installed, no key), or fold
        them away."""
        self.show_all = show
        self._fold()

    def _fold(self) -> None:
        for index in range(self.rowCount()):
            hidden = index in self._unavailable and not self.show_all
            if self.isRowHidden(index) != hidden:
                self.setRowHidden(index, hidden)
        self._fit_height()
        self.folded.emit(0 if self.show_all else self.counts.cannot_answer)

    def _fit_height(self) -> None:
        """Room for every row shown and a sideways scroll bar, so no row hides behind it."""
        rows = sum(self.rowHeight(i) for i in range(self.rowCount()) if not self.isRowHidden(i))
        # The sideways bar's room only when it shows (a narrow window), so no row hides.
        wide = self.horizontalHeader().length() > self.viewport().width()
        bar = self.horizontalScrollBar().sizeHint().height() if wide else 0
        height = rows + self.horizontalHeader().sizeHint().height() + bar + 4
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)

    def colour(self, provider: str, column: str) -> str | None:
        """The colour name of `provider`'s text in `column`, or None for the palette's."""
        item = self.item(self.rows[provider], HEALTH_COLUMNS.index(column))
        brush = None if item is None else item.data(Qt.ItemDataRole.ForegroundRole)
        return None if brush is None else str(brush.color().name())

    def request_refresh(self) -> None:
        """Load the rows in the background; a request during a load loads once more after."""
        self._refresh.request()

    async def _load(self) -> None:
        rows = await load_provider_rows(self._engine, {}, versions=self._versions)
        self._versions = True
        self.show_rows(rows)

    def show_rows(self, rows: list[ProviderRow]) -> None:
        """Redraw from `rows` (cells whose text is unchanged are left alone)."""
        self.counts = provider_counts((), rows)
        served = self._engine.metrics.series(TRAFFIC_WINDOW).by_provider
        calls = self._engine.provider_health
        paused = self._engine.providers.paused
        changed = False
        for row in rows:
            switch_id = row.switch_id or ""
            index = self.rows.get(switch_id)
            if index is None:
                continue  # not one of the engine's switches (cannot happen today)
            on = self._engine.providers.is_enabled(switch_id)
            switch = "on" if on else "off"
            if paused:
                switch += " (paused)"
            # Recorder rows name every provider by its switch id (a CLI's engine id, an API
            # provider's `switch_id_for`): Mistral's API and Vibe are counted apart.
            health = calls.of(switch_id)
            # The reason shows when something is wrong; otherwise it is one hover away. A
            # ready row's recent failures, and a verdict's count of recent calls, are said from
            # this table's own count, on its tick (`_show_status`).
            status = "Ready" if row.recent_failures else row.status
            said = bool(row.reason and row.attention and not row.recent_failures)
            if said:
                status = status_line(status, row.reason)
            kind = _SHORT_KINDS.get(row.kind, row.kind)
            texts = (row.name, kind, "", row.version, "", row.circuit)
            latency = latency_text(health.p50_ms, health.p95_ms)
            for column, text in enumerate((*texts, "", "", latency)):
                if column in (STATUS, SWITCH, CALLS, ERRORS):
                    continue
                changed |= self.cell_text(index, column) != text
                self._set(index, column, text)
            # Its switch, as in the Providers list; none where no switch would help.
            can_switch = switchable(row)
            words = switch if can_switch else "—"
            changed |= self.switch_cells.words(index) != words
            self.switch_cells.show(index, switch_id, row.name, on if can_switch else None, words)
            switch_item = self.item(index, SWITCH)
            if switch_item is not None:
                switch_item.setToolTip(
                    "" if can_switch else f"Nothing to switch: {unusable_reason(row)}"
                )
            if can_switch:
                self._unavailable.discard(index)
            else:
                self._unavailable.add(index)
            kind = "ok" if row.recent_failures else status_kind(row)
            reason = "" if row.recent_failures else row.reason
            self._statuses[index] = (status, reason, kind, row.verdict if said else None)
            open_circuit = circuit_open(row.circuit)
            self._tone(index, CIRCUIT, "error" if open_circuit else None)
        changed |= self.show_counts(served, fit=False)
        if changed:
            self._fit_columns()
        self._fold()

    def show_counts(self, by_provider: Mapping[str, Totals], *, fit: bool = True) -> bool:
        """Each provider's calls and failed calls in the window, from the live figures
        (`series.by_provider`); True when a count changed. The Overview calls it on its own
        tick, with the same read as its Providers line; each status's count of recent calls
        is this read's too."""
        self._served = by_provider
        changed = False
        for switch_id, index in self.rows.items():
            totals = by_provider.get(switch_id)
            calls, errors = (totals.asked, totals.errors) if totals else (0, 0)
            for column, text in ((CALLS, f"{calls:,}"), (ERRORS, errors_text(errors, calls))):
                changed |= self.cell_text(index, column) != text
                self._set(index, column, text)
            self._tone(index, ERRORS, "error" if errors else None)
            self._failed[index] = (errors, calls)
            changed |= self._show_status(index)
        if changed and fit:
            self._fit_columns()
        return changed

    def _show_status(self, index: int) -> bool:
        """Row `index`'s status cell, "Ready" saying its recent failures (in the warning tone),
        a verdict its count of recent calls, as the live figures last read count them; True
        when its words changed."""
        if index not in self._statuses:
            return False
        status, reason, kind, verdict = self._statuses[index]
        if verdict is not None:
            reason = verdict.counted(self._served).why
            status = status_line(verdict.status, reason)
        tip = status if reason else ""
        errors, calls = self._failed.get(index, (0, 0))
        if status == "Ready" and kind == "ok" and errors:
            status, kind = ready_words(errors), "warning"
            tip = (
                f"{status}: {errors:,} of {calls:,} calls failed in the last 15 min, too few"
                " to call it failing"
            )
        changed = self.cell_text(index, STATUS) != status
        status_item = self._set(index, STATUS, status)
        status_item.setToolTip(tip)  # whole, however it wraps
        # The window's one status cell: the kind's glyph, the words in its tone.
        status_cell(status_item, kind, status)
        return changed

    def _fit_columns(self) -> None:
        """Fit each column to its text (Status between its state words and its whole text)."""
        for column in range(len(HEALTH_COLUMNS)):
            self.resizeColumnToContents(column)
        metrics = self.fontMetrics()
        words = max(
            (
                metrics.horizontalAdvance(self.cell_text(row, STATUS).split(":")[0])
                for row in range(self.rowCount())
            ),
            default=0,
        )
        self._status_words = words + CELL_PADDING
        self._status_text = self.columnWidth(STATUS)
        self._fit_status()
        self.resizeRowsToContents()  # a reason that wraps takes its second line

    def _fit_status(self) -> None:
        # Status takes the room the other columns leave, never less than its state words:
        # only then does the table scroll sideways. Short of room for a reason, Version and
        # then Circuit give theirs (the Providers page has both), and the reason wraps onto a
        # second line (the whole of it in the cell's tooltip).
        last = len(HEALTH_COLUMNS) - 1
        needed = max(self.sizeHintForColumn(last), self.horizontalHeader().sectionSizeHint(last))

        def room() -> int:
            shown = [c for c in range(len(HEALTH_COLUMNS)) if not self.isColumnHidden(c)]
            others = sum(self.columnWidth(c) for c in shown if c not in (STATUS, last))
            return self.viewport().width() - others - needed

        for column in GIVE_WAY:
            if self.isColumnHidden(column):
                self.setColumnHidden(column, False)
        for column in GIVE_WAY:
            if room() >= self._status_text:
                break
            if column not in self._kept:
                self.setColumnHidden(column, True)
        given_way = [c for c in GIVE_WAY if self.isColumnHidden(c)]
        self.hint.show_hidden([HEALTH_COLUMNS[c] for c in given_way], over=STATUS)
        # The room left over goes to Status too, not to the last column: latency, now
        # right-aligned, stays beside the other figures instead of at the far edge of a wide
        # window; while a column gives way, less the room of the line that says so.
        width = max(self._status_words, room() - (self.hint.room() if given_way else 0))
        if self.columnWidth(STATUS) != width:
            self.setColumnWidth(STATUS, width)
            self.resizeRowsToContents()

    def keep_column(self, name: str) -> None:
        """Show the column headed `name` from now on, whatever the room (asked for from the
        hint): the status's reason wraps instead."""
        if name in HEALTH_COLUMNS:
            self._kept.add(HEALTH_COLUMNS.index(name))
            self._fit_status()
            self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_status()
        self._fit_height()

    def _tone(self, index: int, column: int, tone: str | None) -> None:
        tone_item(self._set(index, column, self.cell_text(index, column)), tone)

    def cell_text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return "" if item is None else item.text()

    def _set(self, row: int, column: int, text: str) -> QTableWidgetItem:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem(text)
            if column in FIGURES:
                item.setTextAlignment(ALIGN_FIGURE)
            self.setItem(row, column, item)
        elif item.text() != text:
            item.setText(text)
        return item


def errors_text(errors: int, calls: int) -> str:
    """`3 (12%)`: failed calls in the window and their share; `0` without failures."""
    if not errors:
        return "0"
    return f"{errors:,} ({errors / calls:.0%})" if calls else f"{errors:,}"


def latency_text(p50_ms: float | None, p95_ms: float | None) -> str:
    """`120 / 480 ms`, `0.1 / 2.4 s` (seconds once the p95 reaches one), or `—` before any
    call: the latency of the provider's recent calls, both in one unit."""
    if p50_ms is None or p95_ms is None:
        return "—"
    if p95_ms < 1000:
        return f"{p50_ms:.0f} / {p95_ms:.0f} ms"
    return f"{p50_ms / 1000:.1f} / {p95_ms / 1000:.1f} s"
