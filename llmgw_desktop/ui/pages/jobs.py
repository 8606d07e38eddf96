"""Jobs: every principal's jobs, live, with filters; cancel, retry, and a job's output.

The desk is this machine's operator, so the table lists every principal's jobs
(`JobManager.list_for_desk`). It redraws from `jobStateChanged`, coalesced so a burst of jobs
costs at most four loads a second, and only while the page is shown. A one-second tick
repaints the elapsed time and, while any listed job is live, reloads for its progress (the
store's listing is cheap: summaries only, no output). Opening a job (double-click or Enter)
follows it in the detail pane: its streamed output while it runs, then its result or error
in words (`job_detail.py`), the raw JSON one toggle away, and the approval gate's decision.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from llmgw_desktop.engine.api import FINISHED, DeskFilter, DeskJob, EngineError, JobState, JobView
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.job_detail import approval_text, raw_result, result_text
from llmgw_desktop.ui.pages.jobs_model import (
    JobsModel,
    can_cancel,
    can_retry,
    front_door,
    short_id,
)
from llmgw_desktop.ui.pages.jobs_table import JobsTable
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QComboBox,
    QFontDatabase,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QModelIndex,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    Qt,
    QTextCursor,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["STATE_FILTERS", "JobsPage", "JobsTable"]

log = logging.getLogger(__name__)

# At most this often a burst of job events turns into a load (about four a second).
COALESCE_MS = 250
TICK_MS = 1000
SEARCH_DEBOUNCE_MS = 300
LIST_LIMIT = 200
# An open running job: wait this long for a change, and no less than the gap between redraws.
FOLLOW_WAIT_S = 5.0
FOLLOW_GAP_S = 0.25

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
        self._detail: DeskJob | None = None
        self._detail_output = ""
        # The open job's follower is cancelled on its own (another job opened, page hidden).
        self._follow = UiTasks(on_error=self.show_error)
        self.confirm_box: QMessageBox | None = None

        self.state_filter = QComboBox()
        self.state_filter.setObjectName("jobsStateFilter")
        for label, states in STATE_FILTERS:
            self.state_filter.addItem(label, states)
        self.provider_filter = QComboBox()
        self.provider_filter.setObjectName("jobsProviderFilter")
        self.provider_filter.addItem("Any provider", None)
        for provider in self.engine.providers.states():
            if provider.is_cli:  # jobs run on CLIs only
                self.provider_filter.addItem(provider.display_name, provider.id)
        self.search = QLineEdit()
        self.search.setObjectName("jobsSearch")
        self.search.setPlaceholderText("Search job id, principal, caller, prompt…")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.count_label.setObjectName("jobsCount")
        filters = QHBoxLayout()
        filters.addWidget(self.state_filter)
        filters.addWidget(self.provider_filter)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.count_label)

        self.model = JobsModel(stuck_after_s=self.engine.jobs.stuck_after_s)
        self.model.names = ProviderNames.of(self.engine)
        self.table = JobsTable()
        self.table.setObjectName("jobsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        # One line a job: long cells end in "…" and say the rest in their tooltip.
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)

        self.cancel_button = QPushButton("&Cancel job…")
        self.cancel_button.setToolTip("Stop the selected queued or running job")
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setToolTip("Run the selected failed, canceled or interrupted job again")
        self.notice = QLabel()
        self.notice.setObjectName("jobsNotice")
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.notice, 1)

        self.detail_title = QLabel("Open a job (double-click or Enter) to see its output.")
        self.detail_title.setObjectName("jobTitle")
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_title.setWordWrap(True)
        self.approval_label = QLabel()
        self.approval_label.setObjectName("jobApproval")
        self.approval_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.approval_label.setWordWrap(True)
        self.approval_label.hide()
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.output_view = _read_only("jobOutput", "The job's output appears here as it streams.")
        # The result in words by default; the JSON the store kept only when asked for.
        self.result_view = _read_only("jobResult", "Its result or error, once it ends.")
        self.raw_view = _read_only("jobResultRaw", "The stored result as JSON, once it ends.")
        self.raw_toggle = QPushButton("Show raw JSON")
        self.raw_toggle.setObjectName("jobRawToggle")
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setToolTip("Show the result exactly as the job store keeps it")
        for view in (self.output_view, self.result_view, self.raw_view):
            view.setFont(fixed)
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.result_view)
        self.result_stack.addWidget(self.raw_view)
        result_box = QWidget()
        result_column = QVBoxLayout(result_box)
        result_column.setContentsMargins(0, 0, 0, 0)
        toggle_row = QHBoxLayout()
        toggle_row.addStretch(1)
        toggle_row.addWidget(self.raw_toggle)
        result_column.addLayout(toggle_row)
        result_column.addWidget(self.result_stack, 1)
        texts = QSplitter(Qt.Orientation.Horizontal)
        texts.addWidget(self.output_view)
        texts.addWidget(result_box)
        texts.setStretchFactor(0, 3)
        texts.setStretchFactor(1, 2)
        detail = QWidget()
        detail_column = QVBoxLayout(detail)
        detail_column.setContentsMargins(0, 0, 0, 0)
        detail_column.addWidget(self.detail_title)
        detail_column.addWidget(self.approval_label)
        detail_column.addWidget(texts, 1)

        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_column = QVBoxLayout(top)
        top_column.setContentsMargins(0, 0, 0, 0)
        top_column.addWidget(self.table, 1)
        top_column.addLayout(buttons)
        split.addWidget(top)
        split.addWidget(detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        column = QVBoxLayout(self)
        column.addLayout(filters)
        column.addWidget(split, 1)

        self._coalesce = _single_shot(self, COALESCE_MS, self._load_now)
        self._search_debounce = _single_shot(self, SEARCH_DEBOUNCE_MS, self.request_refresh)
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)

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
        self.raw_toggle.toggled.connect(self._show_raw)
        self._update_buttons()

    # -- showing ------------------------------------------------------------------------

    def page_shown(self) -> None:
        self._shown = True
        self._tick.start()
        if self._stale:
            self.request_refresh()
        if self._detail is not None and not self._detail.view.finished:
            self._start_following(self._detail)

    def page_hidden(self) -> None:
        self._shown = False
        self._tick.stop()
        self._coalesce.stop()
        self._follow.cancel_all()

    # -- loading ------------------------------------------------------------------------

    def current_filter(self) -> DeskFilter:
        states = self.state_filter.currentData()
        provider = self.provider_filter.currentData()
        return DeskFilter(
            states=states if isinstance(states, frozenset) else None,
            provider=provider if isinstance(provider, str) else None,
            text=self.search.text(),
        )

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
        # A new job, or one that ended, may need more room in a column (or less).
        # Progress is never cut, so its text's length counts too (it changes far less often
        # than its text: a stuck job's silence grows from "2m 05s" to "2m 06s").
        self.table.fit_columns(contents=self.model.shape())
        row = None if keep is None else self.model.row_of(keep)
        if row is not None and not self._is_selected(row):
            self.table.selectRow(row)
        elif row is None:
            self._selected_id = None
        live = sum(1 for r in rows if not r.view.finished)
        shown = f"{len(rows)} job{'s' if len(rows) != 1 else ''}"
        if len(rows) >= LIST_LIMIT:
            shown = f"newest {LIST_LIMIT} jobs"
        if live:
            shown += f" · {live} live"
        if stuck := self.model.stuck_count():
            shown += f" · {stuck} stuck"
        self.count_label.setText(shown)
        if self._detail is not None:
            # A call's caller label reaches the store a moment after its job starts.
            fresh = next((r for r in rows if r.view.id == self._detail.view.id), None)
            if fresh is not None and _record_of(fresh) != _record_of(self._detail):
                self._detail = dataclasses.replace(
                    self._detail,
                    caller=fresh.caller,
                    transport=fresh.transport,
                    tool=fresh.tool,
                    approval=fresh.approval,
                    decided_at=fresh.decided_at,
                )
                self._show_title()
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
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "llmgw-desktop: cancel job?",
            f"Cancel job {short_id(job.view.id)} ({job.view.provider}, for {job.principal})?"
            "\n\nIts process is stopped; the output so far is kept.",
            parent=self,
        )
        box.setObjectName("confirmCancelJob")
        stop = box.addButton("Cancel job", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)

        def answered(_result: int) -> None:
            if box.clickedButton() == stop:
                self.tasks.spawn(self.cancel_job(job), what="cancel the job")

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

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

    # -- the detail pane ----------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        job = self.model.job_at(index.row())
        if job is not None:
            self.open_job(job)

    def open_job(self, job: DeskJob) -> None:
        """Show `job` in the detail pane and follow it while it runs."""
        self._follow.cancel_all()
        self._detail = job
        self._detail_output = ""
        self.output_view.clear()
        self.result_view.clear()
        self.raw_view.clear()
        self._show_detail(job.view)
        self._start_following(job)

    def _start_following(self, job: DeskJob) -> None:
        self._follow.spawn(self._follow_job(job), what="show the job")

    async def _follow_job(self, job: DeskJob) -> None:
        jobs = self.engine.jobs
        view = await jobs.get(job.view.id, job.principal)
        while self._detail is not None and self._detail.view.id == job.view.id:
            self._show_detail(view)
            if view.finished:
                return
            # Bounds the redraws of a chatty job; `watch` returns on its next change.
            await asyncio.sleep(FOLLOW_GAP_S)
            view = await jobs.watch(job.view.id, job.principal, timeout_s=FOLLOW_WAIT_S)

    def _show_detail(self, view: JobView) -> None:
        if self._detail is None:
            return
        self._detail = dataclasses.replace(self._detail, view=view)
        self._show_title()
        self._set_output(view.output)
        text = result_text(view, view.output)
        if text != self.result_view.toPlainText():
            self.result_view.setPlainText(text)
        if self.raw_toggle.isChecked():
            self.raw_view.setPlainText(raw_result(view))

    def _show_raw(self, raw: bool) -> None:
        """Switch the result between words and the stored JSON (made only when asked for)."""
        if raw and self._detail is not None:
            self.raw_view.setPlainText(raw_result(self._detail.view))
        self.result_stack.setCurrentWidget(self.raw_view if raw else self.result_view)
        self.raw_toggle.setText("Show formatted" if raw else "Show raw JSON")

    def _show_title(self) -> None:
        job = self._detail
        if job is None:
            return
        view = job.view
        who = job.principal + (f" via {job.caller}" if job.caller else "")
        door = front_door(job)
        facts = [
            view.id,
            view.provider + (f" ({job.model})" if job.model else ""),
            view.state.value,
        ]
        facts += [who] + ([f"through {door}"] if door else [])
        if view.attempts > 1:
            facts.append(f"{view.attempts} attempts")
        if view.correlation_id:
            facts.append(f"correlation {view.correlation_id}")
        if view.session_id:
            facts.append(f"session {view.session_id}")
        self.detail_title.setText(" · ".join(facts))
        approval = approval_text(job)
        self.approval_label.setText(approval)
        self.approval_label.setVisible(bool(approval))

    def _set_output(self, text: str) -> None:
        """Append what streamed since the last redraw (a running job's output only grows);
        redraw the whole text only when it did not."""
        if text == self._detail_output:
            return
        bar = self.output_view.verticalScrollBar()
        at_end = bar.value() >= bar.maximum()
        if self._detail_output and text.startswith(self._detail_output):
            cursor = self.output_view.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[len(self._detail_output) :])
        else:
            self.output_view.setPlainText(text)
        self._detail_output = text
        if at_end:
            bar.setValue(bar.maximum())


def _record_of(job: DeskJob) -> tuple[object, ...]:
    """What the flight recorder tells of a job; it can reach the store after the job's row."""
    return (job.caller, job.transport, job.tool, job.approval, job.decided_at)


def _read_only(name: str, placeholder: str) -> QPlainTextEdit:
    """A read-only pane Tab reaches and leaves, its text selectable and scrolled by keys."""
    view = QPlainTextEdit()
    view.setObjectName(name)
    view.setReadOnly(True)
    view.setPlaceholderText(placeholder)
    view.setTabChangesFocus(True)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return view


def _single_shot(parent: QWidget, interval_ms: int, slot: Callable[[], None]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
