"""Flight recorder: every recorded request, filtered and searched, with one request in detail.

The table is virtual: `RecorderTableModel` fetches a few hundred rows at a time as the person
scrolls, by keyset on the DB thread, so a million rows open as fast as a hundred. Filter and
search changes wait a quarter second for typing to settle. New requests arrive live: each
finished request only marks the list stale (the signal can fire hundreds of times a second),
and a once-a-second timer reloads the first page while the page is shown and the person is
at the top of the list, so reading further down is never pulled away; that reload is merged
into the rows shown (new ones inserted on top) rather than resetting the table.

Failures are one click away ("Failed only") and marked in the table by glyph and colour
(`recorder_model.py`). Columns are sized to what they hold: the fixed vocabularies (time,
states, numbers) from the font once, the free-text ones (provider, caller, ...) from the first
page each time the filters change, up to a cap; they only grow, so a live refresh never makes
the table jump, and a cell cut at the cap shows its whole text in its tooltip.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from llmgw_desktop.engine.api import ErrorCode, ExportFormat, RecorderFilters, RecordState
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.recorder_bodies import BodiesPanel
from llmgw_desktop.ui.pages.recorder_model import (
    COLUMNS,
    STATE_GLYPHS,
    TIME_COLUMN,
    RecorderTableModel,
    describe_detail,
    format_state,
    format_time,
)
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QColor,
    QComboBox,
    QDateTime,
    QDateTimeEdit,
    QEvent,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QLineEdit,
    QModelIndex,
    QPalette,
    QPlainTextEdit,
    QPushButton,
    QShortcut,
    QSplitter,
    Qt,
    QTableView,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import error_colour

__all__ = ["TIME_RANGES", "RecorderPage"]

SEARCH_SETTLE_MS = 250
FILTERS_PER_ROW = 6
LIVE_REFRESH_MS = 1000
LIVE_RECOUNT_EVERY_S = 5.0
PREFETCH_SCREENS = 2  # fetch the next page once the end is this many screens away
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
# What each column's widest usual cell looks like, for its first width (free-text columns
# then grow to their content). The state is measured over every state, glyph included.
COLUMN_SAMPLES = {
    "Time": "2026-12-31 23:59:59",
    "Provider": "openrouter",
    "Model": "claude-sonnet-4-6",
    "Error code": "upstream_timeout",
    "HTTP": "504",
    "Project": "a-project",
    "Caller": "claude-code/2.0",
    "Principal": "gateway-bearer",
    "Duration": "12m 05s",
    "Tokens in": "1,234,567",
    "Tokens out": "123,456",
    "Cache read": "1,234,567",
    "Cache write": "123,456",
    "Cost": "$0.0000",
}
FREE_TEXT_COLUMNS = ("Provider", "Model", "Error code", "Project", "Caller", "Principal")
COLUMN_MAX = 280  # a free-text column grows to its content up to this (a user agent can be long)
CELL_PADDING = 16  # the cell's margins and the gap to the next column


class RecorderPage(Page):
    KEY = "recorder"
    TITLE = "Flight recorder"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._query = self.engine.recorder_query
        self.model = RecorderTableModel(self._query, self.tasks, self)
        self._stale = True
        self._counted_at = 0.0
        self._detail_id: str | None = None

        self.provider_box = _choice_box("provider", "any provider")
        self.model_box = _choice_box("model", "any model")
        self.state_box = _choice_box("state", "any state")
        self.caller_box = _choice_box("caller", "any caller")
        self.principal_box = _choice_box("principal", "any principal")
        self.error_box = _choice_box("error_code", "any error code")
        self.status_box = _choice_box("http_status", "any HTTP status")
        self.status_box.setMinimumContentsLength(6)
        self.project_box = _choice_box("project", "any project")
        self._boxes = {
            "provider": self.provider_box,
            "model": self.model_box,
            "state": self.state_box,
            "error_code": self.error_box,
            "http_status": self.status_box,
            "project": self.project_box,
            "caller": self.caller_box,
            "principal": self.principal_box,
        }
        self.failed_button = QPushButton(f"{STATE_GLYPHS['failed']} Failed only")
        self.failed_button.setObjectName("recorderFailedOnly")
        self.failed_button.setCheckable(True)
        self.failed_button.setToolTip(
            "Show only requests that ended without an answer: "
            + ", ".join(format_state(state) for state in STATE_GLYPHS)
        )
        self.failed_button.toggled.connect(self._failed_only_toggled)
        self.range_box = QComboBox()
        self.range_box.setObjectName("recorderRange")
        for label, _seconds in TIME_RANGES:
            self.range_box.addItem(label)
        now = QDateTime.currentDateTime()
        self.from_edit = _date_edit("recorderFrom", now.addDays(-1))
        self.to_edit = _date_edit("recorderTo", now.addSecs(3600))
        self.search_box = QLineEdit()
        self.search_box.setObjectName("recorderSearch")
        self.search_box.setPlaceholderText("Search ids, callers, models, error codes, routes…")
        self.search_box.setClearButtonEnabled(True)

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SEARCH_SETTLE_MS)
        self._settle.timeout.connect(self.apply_filters)
        for box in self._boxes.values():
            box.currentTextChanged.connect(lambda _text: self._settle.start())
        self.search_box.textChanged.connect(lambda _text: self._settle.start())
        self.from_edit.dateTimeChanged.connect(lambda _when: self._settle.start())
        self.to_edit.dateTimeChanged.connect(lambda _when: self._settle.start())
        self.range_box.currentIndexChanged.connect(self._range_changed)
        self._show_custom_range()

        self.count_label = QLabel()
        self.count_label.setObjectName("recorderCount")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the filtered requests to a JSON Lines or CSV file")
        self.export_button.clicked.connect(self.open_export_dialog)
        self.export_label = QLabel()
        self.export_label.setObjectName("recorderExport")
        # Refused before any provider was asked, in the last 24 h: the rows marked refused or
        # denied here (a budget, a switch, no key, the approval gate) and the requests refused
        # at the door, which have no row (they are counted, not recorded).
        self.refused_label = QLabel()
        self.refused_label.setObjectName("recorderRefused")
        self.refused_label.setToolTip(
            "Requests the gateway refused before any provider was asked, in the last 24 h: "
            "those listed here as refused or denied (a budget, a switched-off provider, no "
            "key, the approval gate) and those refused at the door (bad credentials, rate "
            "limits, bodies it could not read), which have no rows"
        )

        self.table = QTableView()
        self.table.setObjectName("recorderTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights: the view never measures rows it does not paint.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self._header_clicked)
        self._fit_pending = True
        self._size_columns()
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)

        self.detail = QPlainTextEdit()
        self.detail.setObjectName("recorderDetail")
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select a request to see its timings, route and prompt.")
        # The kept request and response, side by side (only when body capture kept them).
        self.bodies = BodiesPanel(context.facts.health_url.removesuffix("/health"))

        # Two rows of filters: in one row the eleven boxes held the window at 1,234 px at least.
        filters = QGridLayout()
        for index, widget in enumerate(
            (*self._boxes.values(), self.range_box, self.from_edit, self.to_edit)
        ):
            filters.addWidget(widget, index // FILTERS_PER_ROW, index % FILTERS_PER_ROW)
        search_row = QHBoxLayout()
        search_row.addWidget(self.failed_button)
        search_row.addWidget(self.search_box, 1)
        search_row.addWidget(self.count_label)
        search_row.addWidget(self.export_button)
        splitter = _splitter(self.table, self.detail, self.bodies)
        page = QVBoxLayout(self)
        page.addLayout(filters)
        page.addLayout(search_row)
        page.addWidget(splitter, 1)
        page.addWidget(self.refused_label)
        page.addWidget(self.export_label)
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.search_box.setFocus)

        self.model.countChanged.connect(lambda _total: self._show_count())
        self.model.pageLoaded.connect(self._page_loaded)
        self.model.rowsAboutToBeRemoved.connect(self._rows_leaving)
        context.bridge.requestFinished.connect(self._request_finished)
        self._live = QTimer(self)
        self._live.setInterval(LIVE_REFRESH_MS)
        self._live.timeout.connect(self._live_tick)
        self._show_count()

    # -- showing and refreshing ---------------------------------------------------------------

    def page_shown(self) -> None:
        self.model.names = ProviderNames.of(self.engine)
        self._live.start()
        # The rows first: on SQLite the reads queue on one thread, so the first page is asked
        # for before the filter boxes' choices (a few index reads each) and never waits on them.
        if self._stale:
            self.apply_filters()
        self.tasks.spawn(self._load_choices(), what="list the recorder's providers and callers")
        self.tasks.spawn(self._load_refusals(), what="count the gateway's refusals")

    def page_hidden(self) -> None:
        self._live.stop()

    def current_filters(self, now: float | None = None) -> RecorderFilters:
        """What the filter row says, with a relative time range measured from `now`."""
        now = time.time() if now is None else now
        since = until = None
        reach = TIME_RANGES[self.range_box.currentIndex()][1]
        if reach == "custom":
            since = float(self.from_edit.dateTime().toSecsSinceEpoch())
            until = float(self.to_edit.dateTime().toSecsSinceEpoch())
        elif isinstance(reach, float):
            since = now - reach
        values = {name: box.currentText().strip() or None for name, box in self._boxes.items()}
        status = values.pop("http_status")
        provider = values["provider"]
        return RecorderFilters(
            # The box lists providers by name; a typed id works too.
            provider=None if provider is None else self.model.names.ids_named(provider),
            model=values["model"],
            state=values["state"],
            caller=values["caller"],
            principal=values["principal"],
            error_code=values["error_code"],
            project=values["project"],
            # Anything typed that is not a status code matches no row, as a name would not.
            http_status=None if status is None else int(status) if status.isdigit() else -1,
            failed_only=self.failed_button.isChecked(),
            since=since,
            until=until,
            text=self.search_box.text(),
        )

    def apply_filters(self) -> None:
        """Show the first page for the filters as they stand, and count them."""
        self._settle.stop()
        self._stale = False
        self._counted_at = time.monotonic()
        self._fit_pending = True
        self.model.reload(self.current_filters())
        self._show_count()

    def show_agent(
        self,
        caller: str,
        *,
        project: str | None = None,
        reach_s: float | None = None,
        principal: str | None = None,
    ) -> None:
        """List one agent's requests (of one principal, in one project, over the last
        `reach_s` seconds) and nothing else: every other filter is cleared (the Agents page's
        "open a lane")."""
        reaches = [reach for _label, reach in TIME_RANGES]
        self._show_only(
            {"caller": caller, "project": project or "", "principal": principal or ""},
            range_index=reaches.index(reach_s),
            failed_only=False,
        )

    def show_request(self, record_id: str) -> None:
        """Show one request's detail, listed among the playground's requests (its "Open in
        recorder"); the row is selected once its page of the list has loaded."""
        self._show_only({"caller": "playground"}, range_index=0, failed_only=False)
        self._detail_id = record_id
        self.tasks.spawn(self._load_detail(record_id), what="load the request's detail")

    def show_moment(self, since: float, until: float, *, failed_only: bool = False) -> None:
        """List the requests started from `since` until `until` (wall-clock seconds), the failed
        ones only if asked, and nothing else: every other filter is cleared (the Overview's
        charts, a click on a point)."""
        self.from_edit.blockSignals(True)
        self.to_edit.blockSignals(True)
        self.from_edit.setDateTime(QDateTime.fromSecsSinceEpoch(math.floor(since)))
        self.to_edit.setDateTime(QDateTime.fromSecsSinceEpoch(math.ceil(until)))
        self.from_edit.blockSignals(False)
        self.to_edit.blockSignals(False)
        custom = [reach for _label, reach in TIME_RANGES].index("custom")
        self._show_only({}, range_index=custom, failed_only=failed_only)

    def _show_only(self, values: dict[str, str], *, range_index: int, failed_only: bool) -> None:
        """Set the filter boxes to `values` (the others empty), the time range and the failed
        switch, then load once."""
        for name, box in self._boxes.items():
            box.setEditText(values.get(name, ""))
        self.search_box.setText("")
        for widget, set_value in (
            (self.range_box, lambda: self.range_box.setCurrentIndex(range_index)),
            (self.failed_button, lambda: self.failed_button.setChecked(failed_only)),
        ):
            widget.blockSignals(True)  # one load below, not one per change
            set_value()
            widget.blockSignals(False)
        self._show_custom_range()
        self._style_failed_button()
        self.apply_filters()

    def _failed_only_toggled(self, _on: bool) -> None:
        self._style_failed_button()
        self.apply_filters()

    def _style_failed_button(self) -> None:
        # On, it says so in bold and in the error colour, besides the pressed look.
        on = self.failed_button.isChecked()
        font = self.failed_button.font()
        font.setBold(on)
        self.failed_button.setFont(font)
        palette = self.palette()
        if on:
            palette.setColor(QPalette.ColorRole.ButtonText, QColor(error_colour()))
        self.failed_button.setPalette(palette)

    def show_oldest_first(self, oldest_first: bool) -> None:
        """List the requests oldest first (or newest first) from the first one on."""
        self._stale = False
        self._counted_at = time.monotonic()
        self.model.reload(oldest_first=oldest_first, recount=False)
        self.table.scrollToTop()

    def _header_clicked(self, section: int) -> None:
        # Only time sorts (the other headers' tooltips say why): a click on Time switches.
        if section == TIME_COLUMN:
            self.show_oldest_first(not self.model.oldest_first)

    def _request_finished(self, _event: object) -> None:
        # Hundreds a second under load: only remember that the list is behind.
        self._stale = True

    def _live_tick(self) -> None:
        if not self._stale or self.model.loading or self._settle.isActive():
            return
        if self.table.verticalScrollBar().value() != 0:
            return  # the person is reading further down; refresh once they are back on top
        self._stale = False
        recount = (
            not self.model.counting and time.monotonic() - self._counted_at >= LIVE_RECOUNT_EVERY_S
        )
        if recount:
            self._counted_at = time.monotonic()
        self.model.reload(self.current_filters(), recount=recount, live=True)

    def _scrolled(self, value: int) -> None:
        # Ask for the next page a little before the end, so scrolling rarely meets it.
        bar = self.table.verticalScrollBar()
        if value >= bar.maximum() - PREFETCH_SCREENS * bar.pageStep():
            self.model.fetchMore()

    def _range_changed(self) -> None:
        self._show_custom_range()
        self.apply_filters()

    def _show_custom_range(self) -> None:
        custom = TIME_RANGES[self.range_box.currentIndex()][1] == "custom"
        self.from_edit.setVisible(custom)
        self.to_edit.setVisible(custom)

    async def _load_refusals(self) -> None:
        await self.engine.recorder.flush()  # the refused rows just finished count too
        summary = await self.engine.refusals.summary()
        self.refused_label.setText(summary.describe())

    async def _load_choices(self) -> None:
        choices = await self._query.choices()
        names = self.model.names
        choices["provider"] = [names.name(pid) for pid in choices.get("provider", [])]
        choices["state"] = sorted(set(choices.get("state", [])) | set(STATES))
        # Recent rows' codes first-hand, and every code the gateway can answer with.
        choices["error_code"] = sorted(set(choices.get("error_code", [])) | set(ErrorCode))
        for name, box in self._boxes.items():
            typed = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItem("")
            box.addItems(choices.get(name, []))
            box.setEditText(typed)
            box.blockSignals(False)

    def _show_count(self) -> None:
        total, loaded = self.model.total, self.model.loaded
        if total is None:
            text = f"showing {loaded:,} · counting…" if loaded else "counting…"
        elif loaded < total:
            text = f"{total:,} requests · showing {loaded:,}"
        else:
            text = f"{total:,} request{'s' if total != 1 else ''}"
        self.count_label.setText(text)

    def _page_loaded(self, loaded: int) -> None:
        self._show_count()
        if self._fit_pending and loaded:
            self._fit_pending = False
            self._fit_free_columns()
        if self._detail_id is None:
            return
        row = self.model.row_of(self._detail_id)
        if row is not None and self.table.currentIndex().row() != row:
            self.table.selectRow(row)  # the same request again after a live reload

    def _rows_leaving(self, _parent: QModelIndex, first: int, last: int) -> None:
        # A live refresh drops what fell off the first page. Were the selected request among
        # them, the view would move the selection to a neighbour and show that one's detail:
        # let the selection go instead, as a reload does, and keep the detail shown.
        if first <= self.table.currentIndex().row() <= last:
            self.table.selectionModel().clear()

    # -- column widths ------------------------------------------------------------------------

    def _size_columns(self) -> None:
        """Every column as wide as its header and its widest usual cell."""
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        for column, name in enumerate(COLUMNS):
            samples = [COLUMN_SAMPLES.get(name, name)]
            if name == "Time":
                samples.append(format_time(time.time()))
            elif name == "State":
                samples = [format_state(state) for state in STATES]
            cell = max(metrics.horizontalAdvance(sample) for sample in samples) + CELL_PADDING
            header.resizeSection(column, max(cell, header.sectionSizeHint(column)))

    def _fit_free_columns(self) -> None:
        """Widen the free-text columns to what the rows loaded hold, up to `COLUMN_MAX`."""
        # Measured from the distinct texts, not by the view (`sizeHintForColumn` asks the
        # delegate about every row: 20-30 ms of the loop thread for a page).
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        for name in FREE_TEXT_COLUMNS:
            column = COLUMNS.index(name)
            texts = self.model.cell_texts(column)
            widest = max((metrics.horizontalAdvance(text) for text in texts), default=0)
            wanted = min(COLUMN_MAX, widest + CELL_PADDING)
            if wanted > header.sectionSize(column):
                header.resizeSection(column, wanted)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # The system switched looks: the error colour follows.
            self.model.restyle()
            self._style_failed_button()

    # -- the detail pane ----------------------------------------------------------------------

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        summary = self.model.summary(current.row()) if current.isValid() else None
        if summary is None or summary.id == self._detail_id:
            return
        self._detail_id = summary.id
        self.tasks.spawn(self._load_detail(summary.id), what="load the request's detail")

    async def _load_detail(self, record_id: str) -> None:
        detail = await self._query.detail(record_id)
        if record_id != self._detail_id:
            return  # another row was selected meanwhile
        if detail is None:
            self.detail.setPlainText(f"Request {record_id} is no longer recorded (pruned).")
            self.bodies.show_bodies(None)
        else:
            self.detail.setPlainText(describe_detail(detail, self.model.names))
            self.bodies.show_bodies(detail.bodies)

    # -- export -------------------------------------------------------------------------------

    def open_export_dialog(self) -> QFileDialog:
        """Ask where to write the filtered rows, without a nested event loop."""
        dialog = QFileDialog(self, "Export the filtered requests")
        dialog.setObjectName("recorderExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["JSON Lines (*.jsonl)", "CSV (*.csv)"])
        dialog.setDefaultSuffix("jsonl")
        dialog.setDirectory(str(Path.home()))
        dialog.selectFile(time.strftime("llmgw-requests-%Y%m%d-%H%M%S.jsonl"))
        dialog.filterSelected.connect(
            lambda chosen: dialog.setDefaultSuffix("csv" if "csv" in chosen else "jsonl")
        )
        dialog.fileSelected.connect(self.export_to)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def export_to(self, path: str) -> None:
        """Write the rows the filters show to `path`: CSV for a .csv name, else JSON Lines."""
        target = Path(path)
        fmt: ExportFormat = "csv" if target.suffix.lower() == ".csv" else "jsonl"
        self.export_button.setEnabled(False)
        self.export_label.setText(f"Exporting to {target}…")
        if not self.tasks.spawn(self._export(self.current_filters(), target, fmt), what="export"):
            self.export_button.setEnabled(True)

    async def _export(self, filters: RecorderFilters, target: Path, fmt: ExportFormat) -> None:
        def progress(written: int) -> None:
            self.export_label.setText(f"Exporting to {target}… {written:,} requests")

        try:
            written = await self._query.export(filters, target, fmt, on_progress=progress)
        except OSError as exc:
            self.export_label.setText(f"Could not export to {target}: {exc.strerror or exc}")
            return
        finally:
            self.export_button.setEnabled(True)
        self.export_label.setText(f"Exported {written:,} requests to {target}")


def _choice_box(name: str, placeholder: str) -> QComboBox:
    """An editable box: pick a value seen in the recorder, or type one; empty means any."""
    box = QComboBox()
    box.setObjectName(f"recorderFilter:{name}")
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.setMinimumContentsLength(10)
    box.addItem("")
    line = box.lineEdit()
    if line is not None:
        line.setPlaceholderText(placeholder)
        line.setClearButtonEnabled(True)
    return box


def _date_edit(name: str, when: QDateTime) -> QDateTimeEdit:
    edit = QDateTimeEdit(when)
    edit.setObjectName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    return edit


def _splitter(table: QWidget, detail: QWidget, bodies: QWidget) -> QSplitter:
    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.addWidget(table)
    splitter.addWidget(detail)
    splitter.addWidget(bodies)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setStretchFactor(2, 2)
    return splitter
