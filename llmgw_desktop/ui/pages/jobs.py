"""Jobs: every principal's jobs, live, with filters, in a list beside the chosen job's details.

The desk is this machine's operator, so the list holds every principal's jobs
(`JobManager.list_for_desk`). It redraws from `jobStateChanged`, coalesced so a burst of jobs
costs at most four loads a second, and only while the page is shown. A one-second tick
repaints the elapsed time and, while any listed job is live, reloads for its progress (the
store's listing is cheap: summaries only, no output). The chosen job (the first, until a person
picks another) is shown beside the list and followed (`job_pane.py`): its streamed output
while it runs, then its result or error in words, the raw JSON one toggle away, the approval
gate's decision, and Cancel and Retry. The list shows what fits beside it (`ColumnFitter`):
who, tokens, tool and model give way first on a narrow window; the details have them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from llmgw_desktop.engine.api import FINISHED, DeskFilter, DeskJob, EngineError, JobState, JobView
from llmgw_desktop.ui.counts import JobCounts, job_counts, running_words
from llmgw_desktop.ui.design import page_margins
from llmgw_desktop.ui.kit.confirm import ask_first
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.job_pane import JobPane
from llmgw_desktop.ui.pages.jobs_model import JobsModel, can_cancel, can_retry, short_id, who
from llmgw_desktop.ui.pages.jobs_table import JobsTable
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QModelIndex,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["STATE_FILTERS", "JobsPage", "count_words"]

log = logging.getLogger(__name__)

# At most this often a burst of job events turns into a load (about four a second).
COALESCE_MS = 250
TICK_MS = 1000
SEARCH_DEBOUNCE_MS = 300
LIST_LIMIT = 200
# The list's share of the width: its prompt (the column a person reads) takes what the other
# columns leave. At 0.65 the details had ~590 px at 1920 px, mostly empty, while the prompt sat
# at its floor (a fifth of the list) and wrapped short prompts; at 1024 px the details are at
# their minimum width whatever the share.
LIST_SHARE = 0.72

STATE_FILTERS: tuple[tuple[str, frozenset[JobState] | None], ...] = (
    ("All jobs", None),
    ("Active", frozenset({JobState.QUEUED, JobState.RUNNING})),
    ("Finished", FINISHED),
    ("Failed", frozenset({JobState.FAILED, JobState.CANCELED, JobState.INTERRUPTED})),
)


class JobsPage(Page):
    KEY = "jobs"
    TITLE = "Jobs"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._shown = False
        self._stale = True
        self._loading = False
        self._load_again = False
        self._selected_id: str | None = None
        self._select_after_load: str | None = None
        self.confirm_box: QMessageBox | None = None
        self._cancel_asked_for: str | None = None  # the job the open cancel question names

        filters = self._filters()
        self._build_table()
        self._build_pane()
        self.notice = QLabel()
        self.notice.setObjectName("jobsNotice")
        self.notice.setWordWrap(True)
        split = MasterDetail(self.table, self.pane, list_share=LIST_SHARE)
        self.body = EmptyOr(
            split,
            EmptyState(
                "jobs",
                "No jobs yet",
                "A job is a coding CLI (Claude Code, Codex, Gemini ...) run for a tool through "
                "this gateway: ask one through MCP or an API with a CLI model, and it shows "
                "here live, with its output, result, cost and approval.",
            ),
        )
        column = QVBoxLayout(self)
        page_margins(column)
        column.addLayout(filters)
        column.addWidget(self.body, 1)
        column.addWidget(self.notice)

        self._coalesce = _single_shot(self, COALESCE_MS, self._load_now)
        self._search_debounce = _single_shot(self, SEARCH_DEBOUNCE_MS, self.request_refresh)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._connect(context)
        self._update_buttons()

    def _filters(self) -> QHBoxLayout:
        """The jobs shown: by state, by provider (CLIs only: jobs run on CLIs), by a search;
        and how many."""
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("jobsStateFilter")
        self.state_filter.setAccessibleName("Show jobs")
        for label, states in STATE_FILTERS:
            self.state_filter.addItem(label, states)
        self.provider_filter = QComboBox()
        self.provider_filter.setObjectName("jobsProviderFilter")
        self.provider_filter.setAccessibleName("Provider")
        self.provider_filter.addItem("Any provider", None)
        for provider in self.engine.providers.states():
            if provider.is_cli:  # jobs run on CLIs only
                self.provider_filter.addItem(provider.display_name, provider.id)
        self.search = QLineEdit()
        self.search.setObjectName("jobsSearch")
        self.search.setAccessibleName("Search jobs")
        self.search.setPlaceholderText("Search job id, key or client, tool, prompt…")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.count_label.setObjectName("jobsCount")
        filters = QHBoxLayout()
        filters.addWidget(self.state_filter)
        filters.addWidget(self.provider_filter)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.count_label)
        return filters

    def _build_table(self) -> None:
        """The list of jobs, two lines a job."""
        self.model = JobsModel(stuck_after_s=self.engine.jobs.stuck_after_s)
        self.model.names = ProviderNames.of(self.engine)
        self.table = JobsTable()
        self.table.setObjectName("jobsTable")
        self.table.setAccessibleName("Jobs")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        # Two lines a job: a long prompt ends in "…" and says the rest in its tooltip.
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)

    def _build_pane(self) -> None:
        """The chosen job's pane, and its parts by name (what the page and its tests reach)."""
        # The chosen job's follower is cancelled on its own (another job chosen, page hidden).
        self.pane = JobPane(self.engine, UiTasks(on_error=self.show_error))
        self.pane.names = self.model.names
        self.cancel_button = self.pane.cancel_button
        self.retry_button = self.pane.retry_button
        self.detail_title = self.pane.detail_title
        self.approval_label = self.pane.approval_label
        self.output_view = self.pane.output_view
        self.result_view = self.pane.result_view
        self.raw_view = self.pane.raw_view
        self.raw_toggle = self.pane.raw_toggle
        self.result_stack = self.pane.result_stack

    def _connect(self, context: PageContext) -> None:
        """What reloads the list (a job's change, a filter) and what the buttons do."""
        context.bridge.jobStateChanged.connect(lambda *_event: self.request_refresh())
        context.bridge.jobStuckChanged.connect(lambda _event: self.request_refresh())
        self.state_filter.currentIndexChanged.connect(lambda _i: self.request_refresh())
        self.provider_filter.currentIndexChanged.connect(lambda _i: self.request_refresh())
        self.search.textChanged.connect(lambda _t: self._search_debounce.start())
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._on_selection())
        self.table.doubleClicked.connect(self._open_index)
        self.table.openRequested.connect(self._open_index)
        self.cancel_button.clicked.connect(self.confirm_cancel)
        self.retry_button.clicked.connect(self.retry_selected)

    # -- showing ------------------------------------------------------------------------

    def page_shown(self) -> None:
        self._shown = True
        self._tick.start()
        if self._stale:
            self.request_refresh()
        self.pane.follow()

    def page_hidden(self) -> None:
        self._shown = False
        self._tick.stop()
        self._coalesce.stop()
        self.pane.stop()

    # -- loading ------------------------------------------------------------------------

    def current_filter(self) -> DeskFilter:
        states = self.state_filter.currentData()
        provider = self.provider_filter.currentData()
        return DeskFilter(
            states=states if isinstance(states, frozenset) else None,
            provider=provider if isinstance(provider, str) else None,
            text=self.search.text(),
        )

    def show_state(self, label: str) -> None:
        """List the jobs of one state filter ("Active", "Failed" ...; the header's Jobs chip).

        Raises:
            ValueError: `label` is not one of `STATE_FILTERS`.
        """
        labels = [name for name, _states in STATE_FILTERS]
        self.state_filter.setCurrentIndex(labels.index(label))

    def show_agent(self, caller: str, *, active_only: bool) -> None:
        """List the jobs whose caller is `caller` (the search matches it), the active ones
        only when asked (the Agents page's "Jobs of this agent")."""
        wanted = "Active" if active_only else "All jobs"
        labels = [label for label, _states in STATE_FILTERS]
        self.state_filter.blockSignals(True)  # one load below, not one per change
        self.state_filter.setCurrentIndex(labels.index(wanted))
        self.state_filter.blockSignals(False)
        self.provider_filter.blockSignals(True)
        self.provider_filter.setCurrentIndex(0)
        self.provider_filter.blockSignals(False)
        self.search.setText(caller)
        self._search_debounce.stop()
        if self._shown:
            self._load_now()
        else:
            self.request_refresh()

    def show_job(self, job_id: str) -> None:
        """Choose job `job_id` once the list has it (the command palette)."""
        self.show_state("All jobs")
        self.search.setText(job_id)
        self._search_debounce.stop()
        self._select_after_load = job_id
        self._load_now() if self._shown else self.request_refresh()

    def request_refresh(self) -> None:
        """Reload soon (coalesced); while hidden, only remember to reload when shown."""
        if not self._shown:
            self._stale = True
            return
        if not self._coalesce.isActive():
            self._coalesce.start()

    def _load_now(self) -> None:
        if self._loading:
            self._load_again = True
            return
        self._loading = True
        self._stale = False
        if not self.tasks.spawn(self._load(), what="load the jobs"):
            self._loading = False

    async def _load(self) -> None:
        try:
            rows = await self.engine.jobs.list_for_desk(self.current_filter(), LIST_LIMIT)
        finally:
            self._loading = False
        self._show_rows(rows)
        if self._load_again:
            self._load_again = False
            self.request_refresh()

    def _show_rows(self, rows: list[DeskJob]) -> None:
        keep = self._select_after_load or self._selected_id
        self._select_after_load = None
        self.model.set_rows(rows)
        self._close_a_moot_question(rows)
        filtered = self.current_filter() != DeskFilter(None, None, "")
        self.body.show_empty(not rows and not filtered)
        # A new job, or one that ended, may need more room in a column (or less).
        self.table.fit_columns(contents=self.model.shape())
        row = None if keep is None else self.model.row_of(keep)
        if row is None and rows:
            row = 0  # the first job's details, never an empty pane
        if row is not None and not self._is_selected(row):
            self.table.selectRow(row)
        elif row is None:
            self._selected_id = None
        self.count_label.setText(count_words(len(rows), job_counts(self.engine)))
        shown_job = self.pane.job
        if shown_job is not None:
            # A call's caller label reaches the store a moment after its job starts.
            fresh = next((r for r in rows if r.view.id == shown_job.view.id), None)
            if fresh is not None and _record_of(fresh) != _record_of(shown_job):
                self.pane.update_record(fresh)
        self._update_buttons()

    def _on_tick(self) -> None:
        self.model.tick()
        if self.model.has_unfinished():
            self.request_refresh()  # their progress moved; the load is summaries only

    # -- selection and actions ----------------------------------------------------------

    def selected_job(self) -> DeskJob | None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        return self.model.job_at(rows[0].row()) if rows else None

    def _is_selected(self, row: int) -> bool:
        selected = self.selected_job()
        job = self.model.job_at(row)
        return selected is not None and job is not None and selected.view.id == job.view.id

    def _on_selection(self) -> None:
        job = self.selected_job()
        self._selected_id = None if job is None else job.view.id
        if job is not None and (self.pane.job is None or self.pane.job.view.id != job.view.id):
            self.open_job(job)
        self._update_buttons()

    def _update_buttons(self) -> None:
        job = self.selected_job()
        self.cancel_button.setEnabled(job is not None and can_cancel(job.view))
        self.retry_button.setEnabled(job is not None and can_retry(job.view))

    def confirm_cancel(self) -> None:
        """Ask before stopping the selected job: its process is killed."""
        job = self.selected_job()
        if job is None or not can_cancel(job.view):
            return
        self._cancel_asked_for = job.view.id
        self.confirm_box = ask_first(
            self,
            "confirmCancelJob",
            "cancel job?",
            f"Cancel the {self.model.names.name(job.view.provider)} job {short_id(job.view.id)}"
            f" from {who(job)}?\n\nIts process is stopped; the output so far is kept.",
            "Cancel job",
            lambda: self.tasks.spawn(self.cancel_job(job), what="cancel the job"),
            keep="Keep running",
        )

    def _close_a_moot_question(self, rows: list[DeskJob]) -> None:
        """A cancel question open about a job that has ended meanwhile is closed, the notice
        saying how the job ended: a click on "Cancel job" would have stopped nothing."""
        box, job_id = self.confirm_box, self._cancel_asked_for
        if box is None or job_id is None or not box.isVisible():
            return
        fresh = next((row for row in rows if row.view.id == job_id), None)
        if fresh is None or can_cancel(fresh.view):
            return
        self._cancel_asked_for = None
        box.reject()
        self.notice.setText(
            f"Job {short_id(job_id)} ended ({fresh.view.state.value}) before it was canceled."
        )

    async def cancel_job(self, job: DeskJob) -> JobView | None:
        try:
            view = await self.engine.jobs.cancel(job.view.id, job.principal)
        except EngineError as error:
            self.notice.setText(f"Could not cancel job {short_id(job.view.id)}: {error.message}")
            return None
        self.notice.setText(f"Job {short_id(job.view.id)} is {view.state.value}.")
        self.request_refresh()
        return view

    def retry_selected(self) -> None:
        job = self.selected_job()
        if job is None or not can_retry(job.view):
            return
        self.retry_button.setEnabled(False)  # one click, one new job
        self.tasks.spawn(self.retry_job(job), what="retry the job")

    async def retry_job(self, job: DeskJob) -> str | None:
        """Run the job's call again; the new job's id, or None (the notice says why)."""
        try:
            submitted = await self.engine.job_retry.retry(job.view.id)
        except EngineError as error:
            self.notice.setText(f"Could not retry job {short_id(job.view.id)}: {error.message}")
            self._update_buttons()
            return None
        self.notice.setText(f"Job {short_id(job.view.id)} retried as {short_id(submitted.job_id)}.")
        self._select_after_load = submitted.job_id
        self.request_refresh()
        return submitted.job_id

    # -- the details --------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        job = self.model.job_at(index.row())
        if job is not None:
            self.open_job(job)
            self.pane.texts.currentWidget().setFocus()

    def open_job(self, job: DeskJob) -> None:
        """Show `job` in the details and follow it while it runs."""
        self.pane.show_job(job)


def _record_of(job: DeskJob) -> tuple[object, ...]:
    """What the flight recorder tells of a job; it can reach the store after the job's row."""
    return (job.caller, job.transport, job.tool, job.approval, job.decided_at)


def _single_shot(parent: QWidget, interval_ms: int, slot: Callable[[], None]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


def count_words(listed: int, jobs: JobCounts) -> str:
    """`4 jobs · 1 running · 1 stuck`: the jobs listed, then the gateway's running and stuck
    jobs as the header counts them (`counts.job_counts`), whatever the filter shows."""
    shown = f"{listed} job{'s' if listed != 1 else ''}"
    if listed >= LIST_LIMIT:
        shown = f"newest {LIST_LIMIT} jobs"
    if jobs.active:
        shown += f" · {running_words(jobs)}"
    if jobs.stuck:
        shown += f" · {len(jobs.stuck)} stuck"
    return shown
