"""The Jobs page on a real started engine, offscreen: real Claude Code CLI runs against the
scripted upstream become live rows; cancel, retry, filters and the detail pane act on them."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.approval import PendingApproval
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import ApprovalDenied
from llmgw_desktop.engine.jobs.desk_rows import PROMPT_SUMMARY_CHARS, DeskJob
from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.ui.badge import status_data
from llmgw_desktop.ui.glyphs import NAMES
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.job_detail import approval_text, failure_words, when
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.jobs_model import COLUMNS, describe_progress, short_id, who
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.qt import QColor, QMessageBox, QRect, QSystemTrayIcon, Qt
from llmgw_desktop.ui.theme import error_colour, warning_colour
from llmgw_desktop.ui.tray import TrayIcon
from tests.contract.conftest import engine_settings
from tests.contract.offline import find_cli, offline_environment
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    Reply,
    ScriptedUpstream,
)
from tests.ui.desk_gateway import page_parts, shown_page
from tests.waiting import until

CALLER = "editor/1.0"
WORD_WRAP = int(Qt.TextFlag.TextWordWrap)
# What the scripted upstream reports, as the Tokens column reads it: all input (cache reads and
# writes included), the cached share in brackets.
TOTAL_INPUT = ANTHROPIC_INPUT_TOKENS + ANTHROPIC_CACHE_READ_TOKENS + ANTHROPIC_CACHE_CREATION_TOKENS
TOKENS = f"{TOTAL_INPUT} in ({ANTHROPIC_CACHE_READ_TOKENS} cached) / {ANTHROPIC_OUTPUT_TOKENS} out"


@pytest.fixture
def claude() -> str:
    return find_cli("claude")


class Desk:
    """The page, its engine and the upstream the CLI talks to."""

    def __init__(self, page: JobsPage, engine: Engine, upstream: ScriptedUpstream) -> None:
        self.page, self.engine, self.upstream = page, engine, upstream

    async def submit(self, prompt: str, **meta: Any) -> str:
        model = meta.pop("model", None)
        meta = {"transport": "test", "caller": CALLER} | meta
        params = CallParams(prompt=prompt, model=model)
        return (
            await self.engine.calls.submit("claude", params, "local", RequestMeta(**meta))
        ).job_id

    def cell(self, job_id: str, column: str) -> str | None:
        """The text the table shows for `job_id` in `column`; None while the job is not shown."""
        model = self.page.model
        row = model.row_of(job_id)
        if row is None:
            return None
        return str(model.data(model.index(row, COLUMNS.index(column))))

    def select(self, job_id: str) -> None:
        row = self.page.model.row_of(job_id)
        assert row is not None
        self.page.table.selectRow(row)


@asynccontextmanager
async def jobs_desk(
    loaded: LoadedSettings,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Mapping[str, Any] | None = None,
) -> AsyncIterator[Desk]:
    """A started engine whose Claude Code talks to the scripted upstream, and the page, shown."""
    async with ScriptedUpstream() as upstream:
        offline_environment(tmp_path / "home", upstream.base_url, monkeypatch)
        engine = Engine(engine_settings(loaded, settings))
        await engine.start()
        bridge, actions, facts = page_parts(engine)
        page = JobsPage(PageContext(bridge=bridge, actions=actions, facts=facts))
        qtbot.addWidget(page)
        page.show()
        page.page_shown()
        try:
            yield Desk(page, engine, upstream)
        finally:
            page.page_hidden()
            page.tasks.cancel_all()
            bridge.detach()
            await engine.stop()


def _run(
    qloop: qasync.QEventLoop,
    desk: Callable[[], Any],
    scenario: Callable[[Desk], Awaitable[None]],
) -> None:
    async def main() -> None:
        async with desk() as opened:
            await scenario(opened)

    qloop.run_until_complete(main())


@pytest.fixture
def desk(
    claude: str,
    loaded: LoadedSettings,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], Any]:
    return lambda: jobs_desk(loaded, qtbot, tmp_path, monkeypatch)


def test_a_job_appears_runs_and_finishes_live_and_opens_to_its_answer(
    qloop: qasync.QEventLoop, desk: Callable[[], Any], qtbot: QtBot
) -> None:
    async def scenario(d: Desk) -> None:
        d.upstream.script(Reply.ok("the desk sees this", delay_s=0.6))
        job_id = await d.submit("hello from the desk")
        await until(lambda: d.cell(job_id, "State") == "running", "the running job's row")
        assert d.cell(job_id, "Provider") == "Claude Code"  # by name, as every page
        d.select(job_id)
        assert d.page.cancel_button.isEnabled() and not d.page.retry_button.isEnabled()
        qtbot.keyClick(d.page.table, Qt.Key.Key_Return)  # opens it
        assert job_id in d.page.detail_title.toolTip() and job_id[:12] in d.page.detail_title.text()

        await until(lambda: d.cell(job_id, "State") == "completed", "the row turns completed")
        # The state comes with the job's event, its tokens with the load that follows it.
        await until(lambda: d.cell(job_id, "Tokens") == TOKENS, "the row's tokens")
        assert d.cell(job_id, "Progress") == "done"
        await until(lambda: d.cell(job_id, "Who") == f"{CALLER} (run by you)", "the caller")
        await until(lambda: "the desk sees this" in d.page.output_view.toPlainText(), "the answer")
        cached = re.compile(rf"cache read +{ANTHROPIC_CACHE_READ_TOKENS}\n")
        await until(lambda: cached.search(d.page.result_view.toPlainText()), "the result's usage")
        assert "completed" in d.page.detail_title.text()
        assert not d.page.cancel_button.isEnabled() and not d.page.retry_button.isEnabled()

    _run(qloop, desk, scenario)


def test_a_burst_of_job_events_costs_a_few_loads(
    qloop: qasync.QEventLoop, desk: Callable[[], Any]
) -> None:
    async def scenario(d: Desk) -> None:
        loads: list[int] = []
        listing = d.engine.jobs.list_for_desk

        async def counted(*args: Any, **kwargs: Any) -> Any:
            loads.append(1)
            return await listing(*args, **kwargs)

        # Counts the page's loads; the listing itself is the real one.
        d.engine.jobs.list_for_desk = counted  # type: ignore[method-assign]
        await asyncio.sleep(0.4)  # the load on showing settles
        loads.clear()
        for n in range(300):
            d.page.context.bridge.jobStateChanged.emit(f"job_{n}", "claude", "running", "local")
        await until(lambda: loads, "a load for the burst")
        await asyncio.sleep(0.4)  # a settle for the upper bound: loads not coalesced would follow
        assert 1 <= len(loads) <= 3, loads
        # Hidden, the page does not load at all; shown again, it catches up once.
        d.page.page_hidden()
        loads.clear()
        d.page.context.bridge.jobStateChanged.emit("job_x", "claude", "running", "local")
        await asyncio.sleep(0.4)
        assert loads == []
        d.page.page_shown()
        await until(lambda: loads, "a load once shown again")

    _run(qloop, desk, scenario)


def test_cancel_from_the_page_stops_the_running_job(
    qloop: qasync.QEventLoop, desk: Callable[[], Any]
) -> None:
    async def scenario(d: Desk) -> None:
        d.upstream.default = Reply.ok(delay_s=60)
        job_id = await d.submit("take your time")
        await until(lambda: d.cell(job_id, "State") == "running", "the running job's row")
        first = d.cell(job_id, "Elapsed")
        await until(lambda: d.cell(job_id, "Elapsed") != first, "the elapsed time ticks")

        d.select(job_id)
        d.page.cancel_button.click()
        box: QMessageBox = await until(lambda: d.page.confirm_box, "the confirmation")
        assert box.defaultButton().text() == "Keep running"  # Enter never kills a job
        # Named as the page names it (review 2026-11-27 under Xvfb: "(mistral, for
        # gateway-bearer)", the engine's ids, beside a pane saying "Mistral Vibe" and "the
        # master token").
        named, job = d.page.model.names.name("claude"), d.page.selected_job()
        assert job is not None and named == "Claude Code"
        asked = f"Cancel the {named} job {short_id(job_id)} from {who(job)}?"
        assert box.text().startswith(asked), box.text()
        next(b for b in box.buttons() if b.text() == "Cancel job").click()

        await until(lambda: d.cell(job_id, "State") == "canceled", "the row turns canceled")
        assert (await d.engine.jobs.get(job_id, "local")).state is JobState.CANCELED
        # Said once the cancel returns, which can be after the row's own event turned it (a
        # CI run under load read the notice between the two).
        await until(lambda: "canceled" in d.page.notice.text(), "the notice says so")
        await until(lambda: d.page.retry_button.isEnabled(), "a canceled job can be retried")
        assert not d.page.cancel_button.isEnabled()

    _run(qloop, desk, scenario)


def test_a_cancel_question_about_a_job_that_ended_meanwhile_closes_and_says_so(
    qloop: qasync.QEventLoop, desk: Callable[[], Any]
) -> None:
    """The person asks to cancel, and the job answers before they choose: the question goes
    (its "Cancel job" would stop nothing) and the notice says how the job ended."""

    async def scenario(d: Desk) -> None:
        d.upstream.default = Reply.ok(delay_s=1.5)
        job_id = await d.submit("almost done")
        await until(lambda: d.cell(job_id, "State") == "running", "the running job's row")
        d.select(job_id)
        d.page.cancel_button.click()
        box: QMessageBox = await until(lambda: d.page.confirm_box, "the confirmation")
        assert box.isVisible()
        await until(lambda: d.cell(job_id, "State") == "completed", "the job answers")
        await until(lambda: not box.isVisible(), "the question closes")
        said = d.page.notice.text()
        assert said == f"Job {short_id(job_id)} ended (completed) before it was canceled.", said
        assert (await d.engine.jobs.get(job_id, "local")).state is JobState.COMPLETED

    _run(qloop, desk, scenario)


def test_a_hung_job_is_shown_stuck_with_its_idle_time_and_limit(
    qloop: qasync.QEventLoop,
    claude: str,
    loaded: LoadedSettings,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claude Code starts, then its upstream sends nothing: the CLI prints nothing more. Past
    `jobs.stuck_after_ms` the engine marks the job stuck (its event, `stuck_jobs()`), and the
    page, the Overview and the tray say so, with the silence and the limit, uncut; a cancel
    clears it. The offscreen platform has no notification server: the tray's pop-ups are
    recorded by a spy on `QSystemTrayIcon.showMessage`."""
    popped: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QSystemTrayIcon, "showMessage", lambda _self, title, text, *_a: popped.append((title, text))
    )

    async def main() -> None:
        async with jobs_desk(
            loaded, qtbot, tmp_path, monkeypatch, {"jobs.stuck_after_ms": 2000}
        ) as d:
            changes: list[Any] = []
            d.page.context.bridge.jobStuckChanged.connect(changes.append)
            overview = OverviewPage(d.page.context)
            qtbot.addWidget(overview)
            tray = TrayIcon(d.page.context.bridge, d.page.context.actions, "endpoint")
            tray.show()  # in a system tray: its messages pop up
            overview.refresh_status()
            assert overview.stuck_label.text() == "no job stuck"
            assert tray.state == "idle"
            d.upstream.default = Reply.slow(120)
            job_id = await d.submit("this one hangs")
            await until(lambda: d.cell(job_id, "State") == "running", "the running row")
            await until(lambda: d.cell(job_id, "State") == "stuck", "the row turns stuck")
            assert [(c.job_id, c.stuck, c.limit_s) for c in changes] == [(job_id, True, 2.0)]
            assert changes[0].idle_s >= 2.0
            (stuck,) = d.engine.jobs.stuck_jobs()
            assert (stuck.job_id, stuck.provider, stuck.limit_s) == (job_id, "claude", 2.0)
            assert d.engine.jobs.health()["stuck"] == 1
            progress = d.cell(job_id, "Progress") or ""
            assert re.fullmatch(r"no output for \d+s · limit 2s", progress), progress
            row = d.page.model.row_of(job_id)
            assert row is not None
            cell = d.page.model.index(row, COLUMNS.index("Progress"))
            assert d.page.model.data(cell, Qt.ItemDataRole.ForegroundRole) == QColor(
                warning_colour()
            )
            assert "jobs.stuck_after_ms" in d.page.model.data(cell, Qt.ItemDataRole.ToolTipRole)
            assert "1 stuck" in d.page.count_label.text()
            # The whole phrase reads over the row's two lines: nothing ends in "…" (the column's
            # width is fixed, so a job turning stuck never changes which columns fit).
            room = d.page.table.columnWidth(COLUMNS.index("Progress")) - 12  # the cell's margins
            metrics = d.page.table.fontMetrics()
            wrapped = metrics.boundingRect(QRect(0, 0, room, 1000), WORD_WRAP, progress)
            assert wrapped.width() <= room and wrapped.height() <= 2 * metrics.lineSpacing()
            # The idle time keeps counting on the page's own tick.
            await until(lambda: d.cell(job_id, "Progress") != progress, "the silence grows")

            # The Overview's Stuck line and the tray: named, with the silence and the limit.
            overview.refresh_status()
            line = overview.stuck_label.text()
            assert re.fullmatch(
                rf"Claude Code {job_id[:8]}: no output for \d+s · limit 2s", line
            ), line
            assert warning_colour() in overview.stuck_label.styleSheet()
            tray.redraw()
            assert tray.state == "error"
            assert re.search(
                rf"Stuck: Claude Code job {job_id[:8]}, no output for \d+s \(limit 2s\)",
                tray.tooltip(),
            ), tray.tooltip()
            assert [title for title, _ in popped] == ["A job is stuck"]
            assert job_id[:8] in popped[0][1] and "limit 2s" in popped[0][1]
            # The tray's menu counts it as the header does, and opens the Jobs page on it
            # (review 41-3, finding 25).
            assert tray.alerts.stuck.isVisible()
            assert tray.alerts.stuck.text() == "1 job stuck"
            opened: list[tuple[str, str]] = []
            tray.opened.connect(lambda place, detail: opened.append((place, detail)))
            tray.alerts.stuck.trigger()
            assert opened == [("jobs", "stuck")]  # the header's Jobs chip's place when stuck

            await d.engine.jobs.cancel(job_id, "local")
            await until(lambda: len(changes) == 2, "the stuck mark cleared")
            assert not changes[1].stuck and d.engine.jobs.stuck_jobs() == []
            tray.redraw()
            assert not tray.alerts.stuck.isVisible()
            await until(lambda: d.cell(job_id, "State") == "canceled", "the canceled row")
            assert "stuck" not in d.page.count_label.text()
            overview.refresh_status()
            assert overview.stuck_label.text() == "no job stuck"
            assert overview.stuck_label.styleSheet() == ""
            tray.redraw()
            assert tray.state != "error" and "Stuck" not in tray.tooltip()
            assert len(popped) == 1  # one message a stuck job, none for the clearing
            tray.hide()
            overview.page_hidden()
            overview.tasks.cancel_all()

    qloop.run_until_complete(main())


def test_retry_of_a_failed_job_runs_it_again_and_filters_narrow_the_table(
    qloop: qasync.QEventLoop, desk: Callable[[], Any], qtbot: QtBot
) -> None:
    async def scenario(d: Desk) -> None:
        d.upstream.script(Reply.error(401))
        failed = await d.submit("please work")
        await until(lambda: d.cell(failed, "State") == "failed", "the failed job's row")
        assert d.cell(failed, "Progress") == "auth_required"
        # Marked as the Flight recorder marks it: the one status cell, its glyph and colour.
        model, at = d.page.model, d.page.model.row_of(failed)
        assert at is not None
        state = model.index(at, COLUMNS.index("State"))
        assert model.data(state, Qt.ItemDataRole.ForegroundRole) == QColor(error_colour())
        decoration = int(Qt.ItemDataRole.DecorationRole)
        assert model.data(state, decoration) is status_data("error", decoration)
        row = d.page.model.row_of(failed)
        assert row is not None
        where = d.page.table.visualRect(d.page.model.index(row, 0)).center()
        # A real double-click arrives after the press that selects the row.
        qtbot.mouseClick(d.page.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
        qtbot.mouseDClick(d.page.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
        # Why it failed, in words first: one plain line naming the provider, the code as a
        # chip beside it; the rest of the message folded under "Show details".
        pane = d.page.pane
        await until(lambda: pane.code_badge.words == "auth_required", "the error, opened")
        assert pane.cause_label.text().startswith("Claude Code failed: ")
        assert pane.cause_label.isVisible() and pane.code_badge.isVisible()
        if pane.details_toggle.isVisible():
            assert not pane.result_stack.isVisible()
            pane.details_toggle.click()
            assert pane.result_stack.isVisible() and d.page.result_view.toPlainText()

        assert d.page.retry_button.isEnabled()
        d.page.retry_button.click()
        await until(lambda: d.page.model.rowCount() == 2, "the retry's new row")
        retried = next(r.view.id for r in d.page.model.jobs if r.view.id != failed)
        await until(lambda: d.cell(retried, "State") == "completed", "the retry completes")
        assert "retried as" in d.page.notice.text()
        assert d.page.selected_job() is not None
        assert d.page.selected_job().view.id == retried  # type: ignore[union-attr]
        assert len(d.upstream.llm_requests) == 2

        async def shows(expected: set[str], **filters: Any) -> None:
            """Set the filters as the person would, and wait for the table to show `expected`."""
            if "state" in filters:
                d.page.state_filter.setCurrentText(filters["state"])
            if "provider" in filters:
                found = d.page.provider_filter.findData(filters["provider"])
                d.page.provider_filter.setCurrentIndex(found)
            if "text" in filters:
                d.page.search.setText(filters["text"])
            await until(
                lambda: {r.view.id for r in d.page.model.jobs} == expected, f"rows for {filters}"
            )

        await shows({failed}, state="Failed")
        await shows(set(), state="Active")
        await shows({retried}, state="All jobs", text=retried[:14])
        await shows(set(), text="", provider="codex")
        await shows({failed, retried}, provider=None)

    _run(qloop, desk, scenario)


def test_a_finished_job_reads_in_words_with_its_prompt_model_tool_and_approval(
    qloop: qasync.QEventLoop, desk: Callable[[], Any], qtbot: QtBot
) -> None:
    async def scenario(d: Desk) -> None:
        asked: list[PendingApproval] = []

        def at_the_desk(pending: PendingApproval) -> None:
            asked.append(pending)
            d.engine.approvals.answer(pending.id, approved=len(asked) == 1)

        d.engine.approvals.attach_desk(at_the_desk)
        d.upstream.script(Reply.ok("cleaned up", delay_s=0.2))
        prompt = "  Please   run\n\n  rm -rf ./build  and then " + "tell me what changed " * 8
        job_id = await d.submit(
            prompt,
            model="claude-sonnet-4-5",
            transport="mcp-http",
            tool="claude_request",
            approval_strategy="mcp_managed",
        )
        await until(lambda: d.cell(job_id, "State") == "completed", "the finished row")
        summary = d.cell(job_id, "Prompt")
        assert summary is not None and summary.startswith("Please run rm -rf ./build and then tell")
        assert len(summary) == PROMPT_SUMMARY_CHARS and summary.endswith("…")
        assert d.cell(job_id, "Model") == "claude-sonnet-4-5"
        assert d.cell(job_id, "Tool") == "mcp-http · claude_request"
        # Today's time alone (the date is in its tooltip): the prompt gets the room.
        assert re.fullmatch(r"\d\d:\d\d:\d\d", d.cell(job_id, "Started") or "")
        assert d.cell(job_id, "Tokens") == TOKENS

        d.select(job_id)
        qtbot.keyClick(d.page.table, Qt.Key.Key_Return)
        result = d.page.result_view
        await until(lambda: "Completed in" in result.toPlainText(), "the result in words")
        words = result.toPlainText()
        assert re.search(r"^Completed in \d+\.\d\d s\b", words, re.M), words
        assert re.search(rf"^  total input +{TOTAL_INPUT}$", words, re.M), words
        assert "{" not in words and "duration_s" not in words  # no raw JSON by default
        assert d.page.result_stack.currentWidget() is result
        assert "claude-sonnet-4-5" in d.page.detail_title.text()
        assert "through mcp-http · claude_request" in d.page.detail_title.text()
        approval = d.page.approval_label
        assert approval.isVisible()
        assert approval.text().startswith("Approval: Approved by you at the desk today")
        assert "today" in approval.text() and "recursive forced delete" in approval.text()

        d.page.raw_toggle.click()  # the stored JSON, on request
        assert d.page.result_stack.currentWidget() is d.page.raw_view
        assert '"duration_s": ' in d.page.raw_view.toPlainText()
        d.page.raw_toggle.click()
        assert d.page.result_stack.currentWidget() is result

        # A denial at the desk stops the call before any job exists: the refusal is the
        # recorder's row, and the Jobs table gains none.
        with pytest.raises(ApprovalDenied):
            await d.submit("rm -rf ./build again", approval_strategy="mcp_managed")
        await asyncio.sleep(0.5)
        assert [r.view.id for r in d.page.model.jobs] == [job_id]

    _run(qloop, desk, scenario)


def test_a_denied_decision_reads_as_denied_with_its_reasons() -> None:
    view = JobView(
        id="job_1", provider="claude", state=JobState.COMPLETED, created_at=0.0, updated_at=0.0
    )
    decision = {
        "strategy": "mcp_managed",
        "allowed": False,
        "score": 125,
        "threshold": 60,
        "reasons": ["prompt deletes files recursively"],
        "permission_mode": "acceptEdits",
        "decided_by": "desk-timeout",
    }
    job = DeskJob(view=view, principal="local", caller="", approval=decision, decided_at=0.0)
    text = approval_text(job, now=0.0)
    assert text.startswith("Approval: Denied: no answer at the desk in time today")
    assert text.endswith("risk 125 (you are asked from 60) · prompt deletes files recursively")
    assert "runs as" not in text
    assert approval_text(dataclasses.replace(job, approval=None)) == ""
    legacy = decision | {"strategy": "legacy", "allowed": True, "decided_by": "policy", "score": 0}
    passed = approval_text(dataclasses.replace(job, approval=legacy), now=0.0)
    assert passed.startswith("Approval: Approved by the policy today")
    assert "asked about" not in passed and "may edit files without asking" in passed


def test_started_shows_the_date_for_an_older_job() -> None:
    now = time.mktime((2026, 11, 22, 21, 0, 0, 0, 0, -1))
    yesterday = now - 86_400
    assert when(now - 60, now) == "today 20:59:00"
    assert when(yesterday, now) == "2026-11-21 21:00"


def _wide_rows(now: float) -> list[DeskJob]:
    """Jobs whose cells are as long as real ones get: a dated start, a long model id, an MCP
    tool, six-figure token counts with a cached share, a caller's full user agent."""
    rows = []
    for n, state in enumerate((JobState.RUNNING, JobState.COMPLETED, JobState.FAILED)):
        # The running one waits to retry after a failed attempt: the phrase must read whole.
        retry = {"lastError": "upstream_overloaded", "retryInSeconds": 4.5} if n == 0 else {}
        view = JobView(
            id=f"job_{n:08x}",
            provider="claude",
            state=state,
            created_at=now - 86_400 * 3 - n,
            updated_at=now,
            started_at=now - 86_400 * 3 - n,
            finished_at=None if state == JobState.RUNNING else now - 60,
            progress={"phase": "tool_use", "events": 1234, "outputBytes": 456_789} | retry,
            attempts=2 if n == 0 else 1,
            last_activity_at=now,
        )
        rows.append(
            DeskJob(
                view=view,
                principal="oauth:client_7f3a9c",
                caller="claude-code/2.0.31 (external, cli) node/22.11.0",
                prompt="Refactor the recorder's query module so keyset pages " * 4,
                model="claude-sonnet-4-5-20250929",
                transport="mcp-http",
                tool="run_job_async",
                input_tokens=123_456,
                cache_read_tokens=100_000,
                cache_write_tokens=2_345,
                output_tokens=45_678,
            )
        )
    return rows


@contextmanager
def jobs_window(
    loaded: LoadedSettings, qtbot: QtBot, width: int, rows: list[DeskJob]
) -> Iterator[JobsPage]:
    """The window `width` wide (taller when wide) on an engine that is not started, its Jobs
    page showing `rows`, once its layout settles."""
    from llmgw_desktop.ui.main_window import MainWindow

    bridge, actions, facts = page_parts(Engine(loaded.settings))
    window = MainWindow(bridge, actions, facts, close_quits=False, on_quit=lambda: None)
    qtbot.addWidget(window)
    window.resize(width, 700 if width < 1920 else 1080)
    window.show()
    page = shown_page(window, JobsPage)
    page._show_rows(rows)
    qtbot.wait(20)  # the layout settles
    try:
        yield page
    finally:
        page.page_hidden()
        page.tasks.cancel_all()
        bridge.detach()


@pytest.mark.parametrize("width", [1024, 1280, 1920])
def test_the_list_fits_beside_the_details_without_cutting_or_scrolling_sideways(
    width: int, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """Issue 41: the list beside the chosen job's details. Every column it shows reads whole
    (only the prompt summary ends in "…"); what does not fit is hidden, least needed first,
    and the details show it; a wide window shows more columns."""
    from llmgw_desktop.ui.pages.jobs_table import OPTIONAL, PROMPT_MIN_WIDTH

    with jobs_window(loaded, qtbot, width, _wide_rows(time.time())) as page:
        table = page.table
        header = table.horizontalHeader()
        shown = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
        widths = {c: header.sectionSize(c) for c in shown}
        assert table.horizontalScrollBar().maximum() == 0, (width, widths, table.viewport().width())
        assert sum(widths.values()) <= table.viewport().width()
        assert widths[COLUMNS.index("Prompt")] >= PROMPT_MIN_WIDTH  # the summary stretches
        hidden = set(range(len(COLUMNS))) - set(shown)
        assert hidden <= set(OPTIONAL)  # started, state and progress always stay
        # The least needed go first: whatever is hidden, everything before it in OPTIONAL is too.
        order = [c for c in OPTIONAL if c in hidden]
        assert order == list(OPTIONAL[: len(order)])
        progress = page.model.data(page.model.index(0, COLUMNS.index("Progress")))
        assert progress == "attempt 2 · retry in 4s"
        for column in shown:
            if column != COLUMNS.index("Prompt"):
                whole = table.sizeHintForColumn(column)  # never cut
                assert widths[column] >= whole, (COLUMNS[column], widths[column], whole)
        if width == 1024:
            assert COLUMNS.index("Who") in hidden  # a caller's whole user agent needs the room
        if width == 1920:
            # The room is used: columns, and those shown as a second line under a neighbour.
            from llmgw_desktop.ui.pages.jobs_table import SECOND_LINES

            under = [u for over, u in SECOND_LINES.items() if over in shown and u not in shown]
            assert len(shown) + len(under) >= 7, [COLUMNS[c] for c in (*shown, *under)]
        # The first job's details are beside the list: nothing to double-click first.
        assert page.pane.job is not None and page.pane.job.view.id == "job_00000000"
        assert "job_00000000" in page.detail_title.toolTip()


def test_optional_columns_are_hidden_least_needed_first_until_the_rest_fit() -> None:
    from llmgw_desktop.ui.kit.columns import plan_columns

    wanted = {0: 100, 1: 200, 2: 80, 3: 40}  # column 1 stretches
    fit = {"stretch": 1, "optional": [3, 2], "stretch_min": 120}
    assert plan_columns(wanted, 500, **fit) == (set(), 280)  # room for all: untouched
    assert plan_columns(wanted, 340, **fit) == (set(), 120)  # the stretch gives way first
    assert plan_columns(wanted, 300, **fit) == ({3}, 120)  # then the least needed goes
    assert plan_columns(wanted, 200, **fit) == ({2, 3}, 120)  # and the next
    # Never below the stretch's minimum, even when that does not fit: the table then scrolls.
    assert plan_columns(wanted, 100, **fit) == ({2, 3}, 120)
    # Unless a floor lets it give way further once nothing else can (the figures stay whole).
    assert plan_columns(wanted, 200, **fit, stretch_floor=40) == ({2, 3}, 100)
    assert plan_columns(wanted, 100, **fit, stretch_floor=40) == ({2, 3}, 40)


def test_a_failure_reads_as_its_cause_in_one_line_with_the_traceback_folded() -> None:
    """Issue 41, review finding 5: a CLI's failure showed "Failed: provider_error" over a raw
    Python traceback whose last line, the actual cause, was scrolled off."""
    message = (
        "mistral: Traceback (most recent call last):\n"
        '  File "/tmp/fake_vibe.py", line 61, in <module>\n'
        "    with urllib.request.urlopen(request, timeout=60) as response:\n"
        '  File "/usr/lib/python3.11/urllib/request.py", line 216, in urlopen\n'
        "    return opener.open(url, data, timeout)\n"
        "urllib.error.URLError: <urlopen error [Errno 111] Connection refused>\n"
    )
    words = failure_words({"code": "provider_error", "message": message}, "Mistral Vibe")
    assert words.cause == (
        "Mistral Vibe failed: URLError: <urlopen error [Errno 111] Connection refused>"
    )
    assert words.code == "provider_error"
    assert "Traceback" in words.details and "fake_vibe.py" in words.details
    plain = failure_words(
        {"code": "auth_required", "message": "not logged in", "retryable": True}, "Codex"
    )
    assert plain.cause == "Codex failed: not logged in"
    assert plain.details == "Sending it again may work (Retry)."
    # A cancel the person made is no failure of the agent's.
    canceled = failure_words({"code": "canceled", "message": "the job was canceled"}, "Qwen Code")
    assert canceled.cause == "Qwen Code: the job was canceled"
    # Its details in words, not the stored keys (a helper's review read `modelCallsFailed`).
    counted = failure_words(
        {
            "code": "canceled",
            "message": "the job was canceled",
            "details": {
                "modelCallsFailed": 16,
                "lastModelCallError": "upstream_500: boom",
                "exit_code": 1,
                "agent": {"stopReason": "cancelled"},
            },
        },
        "Qwen Code",
    )
    assert counted.details.splitlines() == [
        "Details",
        "  Model calls failed     16",
        "  Last model call error  upstream_500: boom",
        "  Exit code              1",
        "  Agent › stop reason    cancelled",
    ]


def _gallery_rows(now: float) -> list[DeskJob]:
    """Jobs as the gallery's: Mistral Vibe jobs sent by cursor over HTTP."""
    rows = []
    for n, state in enumerate((JobState.FAILED, JobState.RUNNING, JobState.COMPLETED)):
        view = JobView(
            id=f"job_24faa5{n:02x}3798457e88ee9c2b671ae933",
            provider="mistral",
            state=state,
            created_at=now - 60 + n,
            updated_at=now,
            started_at=now - 60 + n,
            finished_at=None if state == JobState.RUNNING else now - 30,
            error={"code": "provider_error", "message": "boom"} if n == 0 else None,
            last_activity_at=now,
        )
        rows.append(
            DeskJob(
                view=view,
                principal="gateway-bearer",
                caller="cursor",
                prompt="Why does this query take 3 seconds on the orders table? " * 2,
                model="devstral-medium-latest",
                transport="http",
                tool="/v1/chat/completions",
                input_tokens=312,
                output_tokens=9,
            )
        )
    return rows


@pytest.mark.parametrize("width", [1024, 1920])
def test_the_prompt_gets_the_room_and_a_wide_list_shows_who_and_the_tool(
    width: int, loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """Issue 41, review finding 10: at 1024 px the prompt was cut to 14 characters beside
    "today 08:16:49"; at 1920 Tool and Who were missing although there was room; Cancel's icon
    read as a check box; the title stuttered "Job job_24faa54b · Mistral Vibe"."""
    from llmgw_desktop.ui.pages.jobs_table import PROMPT_SHARE

    with jobs_window(loaded, qtbot, width, _gallery_rows(time.time())) as page:
        table, model = page.table, page.model
        header = table.horizontalHeader()
        started = model.data(model.index(0, COLUMNS.index("Started")))
        assert re.fullmatch(r"\d\d:\d\d:\d\d", started), started
        prompt = header.sectionSize(COLUMNS.index("Prompt"))
        assert prompt >= PROMPT_SHARE * table.viewport().width() - 1
        # Two lines a row: the prompt wraps onto the second.
        lines = table.fontMetrics().lineSpacing()
        assert table.rowHeight(0) >= 2 * lines and table.wordWrap()
        who, tool = COLUMNS.index("Who"), COLUMNS.index("Tool")
        if width == 1920:
            # Who sent it and through what: its own column, or under who sent it.
            assert not header.isSectionHidden(who)
            tool_shown = (
                not header.isSectionHidden(tool)
                or table.second_line(model.index(0, who)) == "http · /v1/chat/completions"
            )
            assert tool_shown
            model_shown = (
                not header.isSectionHidden(COLUMNS.index("Model"))
                or table.second_line(model.index(0, COLUMNS.index("Provider")))
                == "devstral-medium-latest"
            )
            assert model_shown
        # The details: named by who ran it and a short tag (the tag on the line under it where
        # the two do not fit on one line beside the status); Cancel's icon is a stop sign.
        whole = "Mistral Vibe · 24faa500"
        assert page.pane.heading.text() in ((whole,) if width == 1920 else (whole, "Mistral Vibe"))
        assert page.pane.heading.accessibleName() == whole
        assert NAMES["stop"] == "stop-circle" and not page.cancel_button.icon().isNull()


def test_a_running_jobs_failed_model_calls_read_first_in_its_progress() -> None:
    """A job whose routed model calls fail at the gateway says so before its counts, which a
    narrow column cuts first (a review at 1024 px read "quiet 1m 42s · 552.2 KB · 27 model
    calls …"); a stuck one says it beside its silence."""
    now = time.time()
    progress = {"events": 3, "outputBytes": 552_200, "modelCallsFailed": 27}
    view = JobView(
        id="job_1",
        provider="qwen",
        state=JobState.RUNNING,
        created_at=now - 200,
        updated_at=now,
        started_at=now - 200,
        progress=progress | {"lastModelCallError": "all_routes_failed: every route failed"},
        last_activity_at=now - 100,
    )
    # Not "quiet" beside its failing calls: the agent retries them, it is not stalled (a
    # review read "quiet 41 s" beside a call failing every 2 s).
    said = describe_progress(view, now)
    assert said == "27 model calls failed · 3 events · 539.3 KB", said
    assert "quiet" in describe_progress(dataclasses.replace(view, progress={}), now)
    stuck = describe_progress(dataclasses.replace(view, stuck=True), now, 120.0)
    assert stuck.startswith("27 model calls failed · no output for"), stuck
    one = dataclasses.replace(view, progress={"modelCallsFailed": 1})
    assert describe_progress(one, now).startswith("1 model call failed")
    # A call waiting for room in a hard budget is said first: the job is not stuck for nothing.
    waiting = dataclasses.replace(view, progress=progress | {"modelCallsWaiting": 1})
    said = describe_progress(waiting, now)
    assert said.startswith("1 model call waits for budget room · 27 model calls failed"), said
    over = dataclasses.replace(view, progress={"modelCallsWaiting": 0, "modelCallsFailed": 1})
    assert "budget room" not in describe_progress(over, now)


def test_an_empty_output_pane_says_what_the_agent_sent_meanwhile(
    loaded: LoadedSettings, qtbot: QtBot
) -> None:
    """A helper's review: a running ACP job read "552.2 KB" in its Progress beside an empty
    Output pane, as if an answer were lost. The bytes are the agent's protocol messages, plans
    and tool calls; the empty pane says so while no answer text has come, and says nothing
    more before the agent has sent anything; ended with none, it says that."""
    from llmgw_desktop.ui.pages.jobs_model import OUTPUT_AWAITED, OUTPUT_NONE, output_awaited

    now = time.time()
    rows = _gallery_rows(now)
    running = rows[1]
    assert running.view.state is JobState.RUNNING
    spoke = dataclasses.replace(
        running.view, progress={"events": 12, "outputBytes": 565_453}, output=""
    )
    words = output_awaited(spoke, "Qwen Code")
    assert words == (
        "No answer text yet. Qwen Code has sent 12 events (552.2 KB): its protocol messages, "
        "plans and tool calls. Its answer appears here as it streams."
    )
    assert output_awaited(running.view, "Qwen Code") == OUTPUT_AWAITED  # nothing sent yet
    # An ACP agent's turn counts no events until it ends: the bytes alone ("0 events" read
    # as nothing sent, a review).
    quiet = dataclasses.replace(spoke, progress={"events": 0, "outputBytes": 565_453})
    assert output_awaited(quiet, "Qwen Code").startswith(
        "No answer text yet. Qwen Code has sent 552.2 KB: its protocol messages"
    )
    # Ended with none, it says so: "appears here as it streams" for a job that never will.
    ended = dataclasses.replace(spoke, state=JobState.CANCELED, finished_at=now)
    assert output_awaited(ended, "Qwen Code") == OUTPUT_NONE
    with jobs_window(loaded, qtbot, 1024, rows) as page:
        pane = page.pane
        pane.show_job(dataclasses.replace(running, view=spoke))
        assert pane.output_view.placeholderText() == output_awaited(spoke, "Mistral Vibe")
        assert pane.output_view.toPlainText() == ""
