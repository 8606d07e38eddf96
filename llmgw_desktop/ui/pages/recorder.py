"""Flight recorder: every recorded request, filtered and searched, beside one in detail.

The list is virtual: `RecorderTableModel` fetches a few hundred rows at a time as the person
scrolls, by keyset on the DB thread, so a million rows open as fast as a hundred. Filter and
search changes wait a quarter second for typing to settle (`recorder_filters.py`). New
requests arrive live: each finished request only marks the list stale (the signal can fire
hundreds of times a second), and a once-a-second timer reloads the first page while the page
is shown and the person is at the top of the list, so reading further down is never pulled
away; that reload is merged into the rows shown (new ones inserted on top) rather than
resetting the table.

The chosen request (the newest, until a person picks another) is shown beside the list: its
timings, route, error and prompt (`recorder_words.py`) as a form (`recorder_detail.py`), its
kept bodies, and its actions (`recorder_replay.py`): Replay on… opens the Playground with it.
Failures are one click away ("Unanswered only") and marked in the list by glyph and colour; a
provider call that failed over to another target reads "failed over" (amber), listed but not
counted as unanswered (`engine/recorder/attempts.py`). Columns
are sized to what they hold (`recorder_columns.py`); what does not fit beside the details is
hidden, least needed first, never scrolled to sideways: the details have every field.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from llmgw_desktop.engine.api import ExportFormat, PlaygroundReply, RecorderFilters
from llmgw_desktop.ui.design import page_margins
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.navigator import navigator_of
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.recorder_bodies import BodiesPanel
from llmgw_desktop.ui.pages.recorder_columns import RecorderColumns
from llmgw_desktop.ui.pages.recorder_detail import RecorderDetail
from llmgw_desktop.ui.pages.recorder_filters import TIME_RANGES, RecorderFilterBar
from llmgw_desktop.ui.pages.recorder_model import TIME_COLUMN, RecorderTableModel
from llmgw_desktop.ui.pages.recorder_replay import ReplayActions
from llmgw_desktop.ui.pages.recorder_words import detail_sections, format_state
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QEvent,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QModelIndex,
    QShortcut,
    Qt,
    QTableView,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["RecorderPage"]

LIVE_REFRESH_MS = 1000
LIVE_RECOUNT_EVERY_S = 5.0
PREFETCH_SCREENS = 2  # fetch the next page once the end is this many screens away
LIST_SHARE = 0.68


# The Playground replays a request; it opens this page too, so it is reached by its key and what
# it does, not by importing its class.
PLAYGROUND_KEY = "playground"


@runtime_checkable
class Replays(Protocol):
    """A page that sends a recorded request's messages again (the Playground)."""

    def replay(
        self, original: PlaygroundReply, messages: Sequence[dict[str, Any]], model: str
    ) -> bool:
        """Show `original` and send `messages` again to `model`; False while it is busy."""


class RecorderPage(Page):
    KEY = "recorder"
    TITLE = "Flight recorder"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._query = self.engine.recorder_query
        self.model = RecorderTableModel(self._query, self.tasks, self)
        self._stale = True
        self._counted_at = 0.0
        # A live refresh loaded rows the count has not seen (it recounts at most every
        # LIVE_RECOUNT_EVERY_S): counted once that has passed, traffic or none (the total stayed
        # one low after the last request of a burst, a review found).
        self._recount_owed = False
        self._detail_id: str | None = None
        self._refiltered = False  # the filters changed since the list last loaded
        self._failed_asked = 0

        head = self._page_head()
        self._build_filters()
        self.export_label = QLabel()
        self.export_label.setObjectName("recorderExport")
        self._build_refused_label()
        self._build_table()
        split = self._list_and_detail(context)
        self.empty = EmptyState(
            "recorder",
            "No requests recorded yet",
            "Point a tool at this gateway (the Connect page shows how for each): every request "
            "it sends is listed here, with its route, tokens, cost and, when one fails, why.",
        )
        self.body = EmptyOr(split, self.empty)
        page = QVBoxLayout(self)
        page_margins(page)
        page.addWidget(head)
        page.addWidget(self.filters)
        page.addWidget(self.body, 1)
        # Under the list: how many, and how to see more (the filter bar keeps its room for
        # the search), then what was refused before any provider was asked.
        under = QHBoxLayout()
        under.addWidget(self.count_label)
        under.addStretch(1)
        page.addLayout(under)
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

    def _page_head(self) -> PageHead:
        """The title, what the page is for, and Export…."""
        head = PageHead(
            self.TITLE, "Every request through the gateway: filter, search, pick one to see why."
        )
        self.export_button = head.add_action(
            action_button(
                "Export…",
                "recorderExportButton",
                icon="export",
                tip="Write the filtered requests to a JSON Lines or CSV file",
            )
        )
        self.export_button.clicked.connect(self.open_export_dialog)
        return head

    def _build_filters(self) -> None:
        """The filter bar, and its controls by name (what the page and its tests reach)."""
        self.filters = RecorderFilterBar()
        self.filters.changed.connect(self.apply_filters)
        bar = self.filters
        self.failed_button, self.range_box = bar.failed_button, bar.range_box
        self.from_edit, self.to_edit, self.search_box = bar.from_edit, bar.to_edit, bar.search_box
        self.count_label = bar.count_label
        self.provider_box, self.model_box = bar.boxes["provider"], bar.boxes["model"]
        self.state_box, self.caller_box = bar.boxes["state"], bar.boxes["caller"]
        self.principal_box, self.error_box = bar.boxes["principal"], bar.boxes["error_code"]
        self.status_box, self.project_box = bar.boxes["http_status"], bar.boxes["project"]

    def _build_refused_label(self) -> None:
        """Refused before any provider was asked, in the last 24 h: the rows marked refused or
        denied here (a budget, a switch, no key, the approval gate) and the requests refused
        at the door, which have no row (they are counted, not recorded)."""
        self.refused_label = QLabel()
        self.refused_label.setObjectName("recorderRefused")
        set_tone(self.refused_label, "muted")
        self.refused_label.setWordWrap(True)
        self.refused_label.setToolTip(
            "Requests the gateway refused before any provider was asked, in the last 24 h: "
            "those listed here as refused or denied (a budget, a switched-off provider, no "
            "key, the approval gate) and those refused at the door (bad credentials, rate "
            "limits, bodies it could not read), which have no rows"
        )

    def _build_table(self) -> None:
        """The list of recorded requests: a page at a time, fixed row heights, sorted by a
        click on a column's header."""
        self.table = QTableView()
        self.table.setObjectName("recorderTable")
        self.table.setAccessibleName("Recorded requests")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        # A tint on every other row: on a wide list the eye keeps its row.
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights: the view never measures rows it does not paint.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self._header_clicked)
        self._fit_pending = True
        self.columns = RecorderColumns(self.table, self.model)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _list_and_detail(self, context: PageContext) -> MasterDetail:
        """The list with the chosen request beside it: as a form under its heading and
        status, with its actions, and the kept request and response (when body capture kept
        them) as tabs beside the form."""
        self.detail_card = RecorderDetail()
        self.detail = self.detail_card.text
        self.bodies = BodiesPanel(context.facts.health_url.removesuffix("/health"))
        # Replay on…, Copy as curl (the bodies' own button is this one), turning capture on.
        self.replay = ReplayActions(self.engine, self.tasks)
        self.replay.replayRequested.connect(self.replay_in_playground)
        self.replay.curl_button.clicked.connect(self.bodies.copy_curl)
        self.bodies.curl_button.hide()
        self.detail_card.action_row.addWidget(self.replay)
        # What was kept, under the actions; the bodies themselves are tabs beside the form.
        self.detail_card.add_line(self.bodies)
        # "Request body" and "Response body" ran past the pane at 1024x768 ("Response b"):
        # the words that fit, the whole in each tab's tooltip.
        self.detail_card.add_tab(self.bodies.request_view, "Request", "The request body, as kept")
        self.detail_card.add_tab(
            self.bodies.response_view, "Response", "The response body, as kept"
        )
        return MasterDetail(self.table, self.detail_card, list_share=LIST_SHARE)

    # -- showing and refreshing ---------------------------------------------------------------

    def page_shown(self) -> None:
        self.model.names = ProviderNames.of(self.engine)
        self._live.start()
        # The rows first: on SQLite the reads queue on one thread, so the first page is asked
        # for before the filter boxes' choices (a few index reads each) and never waits on them.
        if self._stale:
            self.apply_filters()
        self.tasks.spawn(self._load_choices(), what="list the recorder's providers and callers")
        self.replay.load_models()
        self.tasks.spawn(self._load_refusals(), what="count the gateway's refusals")

    def page_hidden(self) -> None:
        self._live.stop()

    def current_filters(self, now: float | None = None) -> RecorderFilters:
        """What the filters say, with a relative time range measured from `now`."""
        return self.filters.current(self.model.names, now)

    def apply_filters(self) -> None:
        """Show the first page for the filters as they stand, and count them."""
        self._stale = False
        self._counted_at = time.monotonic()
        self._fit_pending = True
        filters = self.current_filters()
        self._refiltered = True  # the request shown may not be listed any more
        self.model.reload(filters)
        self._count_failed(filters)
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
            reaches.index(reach_s),
        )

    def show_principal(self, principal: str) -> None:
        """List one principal's requests (a gateway key's `key:<name>`: the Access keys page's "Its
        requests") over all time, and nothing else."""
        self._show_only({"principal": principal}, 0)

    def show_failures_of(self, provider: str) -> None:
        """List the calls one provider failed in the last hour (by its switch id), and nothing
        else (Overview's line of failing providers): its failed rows, as the providers' figure
        counts them, those that failed over to another target too (its failures, though their
        requests were answered: "Unanswered only" would leave them out)."""
        reaches = [reach for _label, reach in TIME_RANGES]
        self.model.names = ProviderNames.of(self.engine)
        self._show_only(
            {"provider": self.model.names.name(provider), "state": "failed"},
            reaches.index(3600.0),
        )

    def show_request(self, record_id: str, *, caller: str = "playground") -> None:
        """Show one request's detail, listed among its caller's (the playground's "Open in
        recorder"; "" lists every request: the command palette); the row is selected once its
        page of the list has loaded."""
        self._show_only({"caller": caller} if caller else {}, 0)
        self._detail_id = record_id
        self._refiltered = False  # listed further down, maybe: selected once its page loads
        self.tasks.spawn(self._load_detail(record_id), what="load the request's detail")

    def show_moment(self, since: float, until: float, *, failed_only: bool = False) -> None:
        """List the requests started from `since` until `until` (wall-clock seconds), the failed
        ones only if asked, and nothing else: every other filter is cleared (the Overview's
        charts, a click on a point)."""
        self.filters.set_range(since, until)
        custom = [reach for _label, reach in TIME_RANGES].index("custom")
        self._show_only({}, custom, failed_only=failed_only)

    def _show_only(self, values: dict[str, str], range_index: int, *, failed_only: bool = False):
        self.filters.show_only(values, range_index=range_index, failed_only=failed_only)
        self.apply_filters()

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
        if self.model.loading or self.filters.settling:
            return
        if not self._stale:
            self._recount_if_owed()
            return
        if self.table.verticalScrollBar().value() != 0:
            return  # the person is reading further down; refresh once they are back on top
        self._stale = False
        recount = self._may_recount()
        filters = self.current_filters()
        if recount:
            self._counted_at = time.monotonic()
            self._count_failed(filters)
        self._recount_owed = not recount
        self.model.reload(filters, recount=recount, live=True)

    def _may_recount(self) -> bool:
        return (
            not self.model.counting and time.monotonic() - self._counted_at >= LIVE_RECOUNT_EVERY_S
        )

    def _recount_if_owed(self) -> None:
        """Count the rows a live refresh loaded since the last count, once a count may run."""
        if not self._recount_owed or not self._may_recount():
            return
        self._recount_owed = False
        self._counted_at = time.monotonic()
        self._count_failed(self.current_filters())
        self.model.recount()

    def _scrolled(self, value: int) -> None:
        # Ask for the next page a little before the end, so scrolling rarely meets it.
        bar = self.table.verticalScrollBar()
        if value >= bar.maximum() - PREFETCH_SCREENS * bar.pageStep():
            self.model.fetchMore()

    def _count_failed(self, filters: RecorderFilters) -> None:
        """Count the requests the other filters leave that ended without an answer, for
        "Unanswered only (8)"."""
        self._failed_asked += 1
        asked = self._failed_asked
        failed = dataclasses.replace(filters, failed_only=True)
        self.tasks.spawn(self._show_failed(asked, failed), what="count the failed requests")

    async def _show_failed(self, asked: int, filters: RecorderFilters) -> None:
        total = await self._query.count(filters)
        if asked == self._failed_asked:  # the filters have not changed since
            self.filters.show_failed_count(total)

    async def _load_refusals(self) -> None:
        await self.engine.recorder.flush()  # the refused rows just finished count too
        summary = await self.engine.refusals.summary()
        self.refused_label.setText(summary.describe())

    async def _load_choices(self) -> None:
        self.filters.offer(await self._query.choices(), self.model.names)

    def _show_count(self) -> None:
        """`8 requests · 2 provider calls failed over`: the requests as the Overview counts
        them (a row is an attempt; `attempts.py`), then the attempts that failed over."""
        total, loaded = self.model.total, self.model.loaded
        if total is None:
            self.count_label.setText(f"showing {loaded:,} · counting…" if loaded else "counting…")
            return
        over = self.model.failed_over
        requests = total - over
        text = f"{requests:,} request{'s' if requests != 1 else ''}"
        if over:
            text += f" · {over:,} provider call{'s' if over != 1 else ''} failed over"
        if loaded < total:
            which = "oldest" if self.model.oldest_first else "newest"
            rows = f"{loaded:,} rows" if over else f"{loaded:,}"
            text += f" · showing the {which} {rows}, scroll for more"
        self.count_label.setText(text)

    def _page_loaded(self, loaded: int) -> None:
        self._show_count()
        self._show_empty(loaded)
        if self._fit_pending and loaded:
            self._fit_pending = False
            self.columns.fit_free_text()
        if self._detail_id is None:
            if loaded:
                self.table.selectRow(0)  # the newest request's details, never an empty pane
            return
        row = self.model.row_of(self._detail_id)
        refiltered, self._refiltered = self._refiltered, False
        if row is None and refiltered:
            # The filters hide the request shown: its details must not stand beside a list
            # without it. The newest one listed is shown, or none.
            self._detail_id = None
            if loaded:
                self.table.selectRow(0)
            else:
                self.detail_card.show_words("No request shown", "None matches these filters.")
                self.bodies.show_bodies(None)
                self.detail_card.show_tabs(False)
                self.replay.show_detail(None, self.model.names)
        elif row is not None and self.table.currentIndex().row() != row:
            self.table.selectRow(row)  # the same request again after a live reload

    def _show_empty(self, loaded: int) -> None:
        filtered = self.current_filters() != RecorderFilters()
        if filtered:
            self.empty.say(
                "No request matches these filters",
                "Clear the search or a filter, widen the time range, or turn Unanswered only off.",
            )
        else:
            self.empty.say(
                "No requests recorded yet",
                "Point a tool at this gateway (the Connect page shows how for each): every "
                "request it sends is listed here, with its route, tokens, cost and, when one "
                "fails, why.",
            )
        self.body.show_empty(loaded == 0)

    def _rows_leaving(self, _parent: QModelIndex, first: int, last: int) -> None:
        # A live refresh drops what fell off the first page. Were the selected request among
        # them, the view would move the selection to a neighbour and show that one's detail:
        # let the selection go instead, as a reload does, and keep the detail shown.
        if first <= self.table.currentIndex().row() <= last:
            self.table.selectionModel().clear()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # The system switched looks: the error colour follows.
            self.model.restyle()
            self.filters.style_failed_button()
            self.detail_card.restyle()

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
            self.detail_card.show_words(
                f"Request {record_id}", "No longer recorded: the recorder pruned it."
            )
            self.bodies.show_bodies(None)
            self.detail_card.show_tabs(False)
        else:
            sections = detail_sections(detail, self.model.names)
            state = format_state(
                str(detail.record["state"]), failed_over=bool(detail.record.get("failed_over"))
            )
            self.detail_card.show_sections(sections, state)
            self.bodies.show_bodies(detail.bodies)
            self.detail_card.show_tabs(detail.bodies is not None)
        self.replay.show_detail(detail, self.model.names)

    def replay_in_playground(
        self, original: PlaygroundReply, messages: list[dict[str, Any]], model: str
    ) -> None:
        """Open the Playground replaying the chosen request on `model` ("Replay on…")."""
        navigator = navigator_of(self)
        playground = navigator.page(PLAYGROUND_KEY) if navigator is not None else None
        if navigator is None or not isinstance(playground, Replays):
            return  # a page shown on its own (tests) has no Playground to open
        if playground.replay(original, messages, model):
            navigator.show_page(PLAYGROUND_KEY)

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
