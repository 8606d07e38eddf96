"""The Jobs page's details: the chosen job's facts, its streamed output, and its result.

The pane follows the job it shows: while it runs, its output as it streams (appended, never
redrawn whole); once it ends, its result or error in words (`job_detail.py`), the stored JSON
one toggle away, and the approval gate's decision. Output and result are two tabs; a finished
job opens on its result, a running one on its output.
"""

from __future__ import annotations

import asyncio
import dataclasses

from llmgw_desktop.engine.api import DeskJob, Engine, JobView
from llmgw_desktop.ui.badge import StatusBadge, state_kind
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.kit.text import unbroken
from llmgw_desktop.ui.pages.job_detail import (
    FailureWords,
    approval_text,
    failure_words,
    raw_result,
    result_text,
)
from llmgw_desktop.ui.pages.jobs_model import (
    OUTPUT_AWAITED,
    front_door,
    job_tag,
    output_awaited,
    short_id,
)
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QFontDatabase,
    QHBoxLayout,
    QPlainTextEdit,
    QResizeEvent,
    QSizePolicy,
    QStackedWidget,
    Qt,
    QTabWidget,
    QTextCursor,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.terms import caller_words
from llmgw_desktop.ui.theme import set_tone

__all__ = ["JobPane", "read_only"]

# An open running job: wait this long for a change, and no less than the gap between redraws.
FOLLOW_WAIT_S = 5.0
FOLLOW_GAP_S = 0.25
# The output and result views: at least this many lines (and their frame and margins) high.
TEXT_MIN_LINES = 4
TEXT_FRAME_PX = 12


def read_only(name: str, placeholder: str) -> QPlainTextEdit:
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
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    # It takes the height the details leave, a few lines at least, and never asks for more:
    # the details sit in a scroll area, and a text view asking for its usual 190 px made them
    # scroll at 1024 px around a view that scrolls itself (a scroll bar inside a scroll bar).
    policy = view.sizePolicy()
    policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
    view.setSizePolicy(policy)
    view.setMinimumHeight(TEXT_MIN_LINES * view.fontMetrics().lineSpacing() + TEXT_FRAME_PX)
    return view


class JobPane(DetailCard):
    """The chosen job; `show_job` opens one and follows it while it runs."""

    def __init__(self, engine: Engine, follow: UiTasks, parent: QWidget | None = None) -> None:
        super().__init__("jobDetail", parent)
        self._engine = engine
        self._follow = follow  # the follower is cancelled on its own (another job, hidden)
        self.job: DeskJob | None = None
        self.names = ProviderNames()  # the page gives the engine's names
        self._output = ""
        self._titles = ("", "")  # the job's title, whole and short (`_fit_title`)
        self.heading.setText("No job chosen")
        self.detail_title = value_label("jobTitle")
        set_tone(self.detail_title, "muted")
        self.approval_label = value_label("jobApproval")
        self.approval_label.hide()
        self.cancel_button = action_button(
            "&Cancel job…", "cancelJob", icon="stop", tip="Stop this queued or running job"
        )
        self.retry_button = action_button(
            "&Retry",
            "retryJob",
            icon="refresh",
            tip="Run this failed, canceled or interrupted job again",
        )
        self.output_view = read_only("jobOutput", OUTPUT_AWAITED)
        result_box = self._result_box()
        self._failed = False
        self._show_failure(None)
        self.texts = QTabWidget()
        self.texts.setObjectName("jobTexts")
        self.texts.setDocumentMode(True)
        self.texts.addTab(self.output_view, "Output")
        self.texts.addTab(result_box, "Result")
        self.column.insertWidget(1, self.detail_title)
        self.column.insertWidget(2, self.approval_label)
        self.action_row.addWidget(self.cancel_button)
        self.action_row.addWidget(self.retry_button)
        self.action_row.addStretch(1)
        # The texts take the pane's height, not an empty stretch under the buttons.
        self.column.takeAt(self.column.count() - 1)
        self.column.addWidget(self.texts, 1)

    def _result_box(self) -> QWidget:
        """The Result tab: the result in words by default, the JSON the store kept only when
        asked for; a failure as its code as a chip, then its cause in plain words across the
        pane (beside the chip, in bold, it was a narrow red column four lines tall), and the
        rest (a CLI's traceback, the error's details) folded under "Show details"."""
        self.result_view = read_only("jobResult", "Its result or error, once it ends.")
        self.raw_view = read_only("jobResultRaw", "The stored result as JSON, once it ends.")
        self.raw_toggle = action_button(
            "Show raw JSON", "jobRawToggle", tip="Show the result exactly as the job store keeps it"
        )
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.toggled.connect(self._show_raw)
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.result_view)
        self.result_stack.addWidget(self.raw_view)
        self.cause_label = value_label("jobCause")
        set_tone(self.cause_label, "error")
        self.code_badge = StatusBadge()
        self.code_badge.setObjectName("jobErrorCode")
        self.details_toggle = action_button(
            "Show details", "jobDetailsToggle", tip="The whole error: the message as it came"
        )
        self.details_toggle.setCheckable(True)
        self.details_toggle.toggled.connect(self._show_details)
        result_box = QWidget()
        result_column = QVBoxLayout(result_box)
        result_column.setContentsMargins(0, 0, 0, 0)
        result_column.addWidget(self.code_badge, 0, Qt.AlignmentFlag.AlignLeft)
        result_column.addWidget(self.cause_label)
        toggle_row = QHBoxLayout()
        toggle_row.addWidget(self.details_toggle)
        toggle_row.addStretch(1)
        toggle_row.addWidget(self.raw_toggle)
        result_column.addLayout(toggle_row)
        result_column.addWidget(self.result_stack, 1)
        # Folded, the cause and its buttons stay together at the top rather than spread down.
        result_column.addStretch(0)
        return result_box

    def show_job(self, job: DeskJob) -> None:
        """Show `job` and follow it while it runs."""
        self._follow.cancel_all()
        self.job = job
        self._output = ""
        self.output_view.clear()
        self.result_view.clear()
        self.raw_view.clear()
        self.texts.setCurrentIndex(1 if job.view.finished else 0)
        self._show_view(job.view)
        # The list's row is a summary: the whole job (output, result) is read once, then
        # followed while it runs.
        self._follow.spawn(self._follow_job(job), what="show the job")

    def follow(self) -> None:
        """Follow the shown job again (the page was hidden meanwhile), if it still runs."""
        if self.job is not None and not self.job.view.finished:
            self._follow.spawn(self._follow_job(self.job), what="show the job")

    def stop(self) -> None:
        """Stop following (the page is hidden)."""
        self._follow.cancel_all()

    def update_record(self, fresh: DeskJob) -> None:
        """What the flight recorder tells of the job reached the store after it: show it."""
        if self.job is None or fresh.view.id != self.job.view.id:
            return
        self.job = dataclasses.replace(
            self.job,
            caller=fresh.caller,
            transport=fresh.transport,
            tool=fresh.tool,
            approval=fresh.approval,
            decided_at=fresh.decided_at,
        )
        self._show_title()

    async def _follow_job(self, job: DeskJob) -> None:
        jobs = self._engine.jobs
        view = await jobs.get(job.view.id, job.principal)
        while self.job is not None and self.job.view.id == job.view.id:
            self._show_view(view)
            if view.finished:
                if self.texts.currentIndex() == 0 and not view.output.strip():
                    self.texts.setCurrentIndex(1)  # nothing streamed: the result says why
                return
            # Bounds the redraws of a chatty job; `watch` returns on its next change.
            await asyncio.sleep(FOLLOW_GAP_S)
            view = await jobs.watch(job.view.id, job.principal, timeout_s=FOLLOW_WAIT_S)

    def _show_view(self, view: JobView) -> None:
        if self.job is None:
            return
        self.job = dataclasses.replace(self.job, view=view)
        self._show_title()
        self._set_output(view.output)
        awaited = output_awaited(view, self.names.name(view.provider))
        if awaited != self.output_view.placeholderText():
            self.output_view.setPlaceholderText(awaited)
        failure = failure_words(view.error, self.names.name(view.provider)) if view.error else None
        self._show_failure(failure)
        text = failure.details if failure is not None else result_text(view, view.output)
        if text != self.result_view.toPlainText():
            self.result_view.setPlainText(text)
        if self.raw_toggle.isChecked():
            self.raw_view.setPlainText(raw_result(view))

    def _show_failure(self, failure: FailureWords | None) -> None:
        """The cause line and its code chip for a failed job; for any other, none of it."""
        failed = self._failed = failure is not None
        self.cause_label.setVisible(failed)
        self.code_badge.set_status("error", failure.code if failure is not None else "")
        self.details_toggle.setVisible(failed and bool(failure.details if failure else ""))
        if failure is not None and self.cause_label.text() != failure.cause:
            self.cause_label.setText(failure.cause)
            self.details_toggle.setChecked(False)  # a new failure opens folded
        self._show_details(self.details_toggle.isChecked())

    def _show_details(self, shown: bool) -> None:
        """Unfold (or fold) a failure's whole message; any other result is always shown."""
        # Whether the job failed, not whether its cause line is on screen: a job that fails
        # while its Output tab is shown has its Result tab (and the line) hidden at this moment.
        folded = self._failed and not shown and not self.raw_toggle.isChecked()
        self.result_stack.setVisible(not folded)
        self.details_toggle.setText("Hide details" if shown else "Show details")

    def _show_raw(self, raw: bool) -> None:
        """Switch the result between words and the stored JSON (made only when asked for)."""
        if raw and self.job is not None:
            self.raw_view.setPlainText(raw_result(self.job.view))
        self.result_stack.setCurrentWidget(self.raw_view if raw else self.result_view)
        self.raw_toggle.setText("Show formatted" if raw else "Show raw JSON")
        self._show_details(self.details_toggle.isChecked())

    def _show_title(self) -> None:
        job = self.job
        if job is None:
            return
        view = job.view
        # "Mistral Vibe · 24faa54b": who ran it, and enough of its id to tell jobs apart.
        name = self.names.name(view.provider)
        self._titles = (f"{name} · {job_tag(view.id)}", name)
        state = "stuck" if view.stuck and not view.finished else view.state.value
        self.badge.set_status(state_kind(state), state)
        self._fit_title()
        who = "from " + caller_words(job.caller, job.principal)
        door = front_door(job)
        model = f" ({job.model})" if job.model else ""
        # The id in short (its whole, unbroken, would widen a narrow pane past the window);
        # the whole id is the line's tooltip and what a screen reader hears first. The state
        # as the badge says it ("stuck", where the line said "running" beside it).
        facts = [short_id(view.id), self.names.name(view.provider) + model, state]
        facts += [who] + ([f"through {door}"] if door else [])
        if view.attempts > 1:
            facts.append(f"{view.attempts} attempts")
        if view.correlation_id:
            facts.append(f"correlation {view.correlation_id}")
        if view.session_id:
            facts.append(f"session {view.session_id}")
        # The way in moves to the next line whole ("/v1/" ended one line, the rest began the
        # next); a screen reader hears it plain.
        line = " · ".join(facts)
        self.detail_title.setText(line.replace(job.tool, unbroken(job.tool)) if job.tool else line)
        self.detail_title.setToolTip(f"Job {view.id}")
        self.detail_title.setAccessibleName(" · ".join([view.id, *facts[1:]]))
        approval = approval_text(job)
        self.approval_label.setText(approval)
        self.approval_label.setVisible(bool(approval))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_title()

    def _fit_title(self) -> None:
        """The title on one line beside its status: whole where it fits, else the name alone
        (its id starts the line under it), never wrapped over two lines."""
        whole, name = self._titles
        if not whole:
            return
        margins = self.column.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        if self.badge.isVisibleTo(self):
            room -= self.badge.sizeHint().width() + SPACE["s"]
        fits = self.heading.fontMetrics().horizontalAdvance(whole) <= room
        text = whole if fits else name
        if self.heading.text() != text:
            self.heading.setText(text)
        self.heading.setAccessibleName(whole)
        self.heading.setToolTip("" if fits else whole)

    def _set_output(self, text: str) -> None:
        """Append what streamed since the last redraw (a running job's output only grows);
        redraw the whole text only when it did not."""
        if text == self._output:
            return
        bar = self.output_view.verticalScrollBar()
        at_end = bar.value() >= bar.maximum()
        if self._output and text.startswith(self._output):
            cursor = self.output_view.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[len(self._output) :])
        else:
            self.output_view.setPlainText(text)
        self._output = text
        if at_end:
            bar.setValue(bar.maximum())
