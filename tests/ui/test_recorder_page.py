"""The Flight recorder page on a real running gateway, offscreen on a qasync loop.

Rows come from the real write paths: gateway requests over HTTP to the scripted upstream
(Anthropic dialect), records started and finished through `engine.recorder`, a job run by
`engine.jobs`, and, for the lazy-fetch case, a bulk insert into the store's file. Waits are
awaited and bounded, never blocking sleeps.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.jobs.live import JobContext, JobSpec
from llmgw_desktop.engine.recorder.detail import RecordDetail
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.badge import status_data
from llmgw_desktop.ui.pages import recorder as recorder_page
from llmgw_desktop.ui.pages.job_detail import result_text
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_detail import RecorderDetail
from llmgw_desktop.ui.pages.recorder_filters import TIME_RANGES
from llmgw_desktop.ui.pages.recorder_model import COLUMNS, ORDER_HEADERS, STATE_COLUMN, TIME_COLUMN
from llmgw_desktop.ui.pages.recorder_words import (
    NO_PROMPT_FOR_API,
    detail_sections,
    format_cost_cell,
)
from llmgw_desktop.ui.qt import QColor, QDateTime, QFileDialog, QPalette, Qt
from llmgw_desktop.ui.theme import error_colour
from tests.engine.recorder.test_query import bulk_insert, synthetic_rows
from tests.fakes.upstream import ANTHROPIC_INPUT_TOKENS, Reply
from tests.ui.desk_gateway import Desk, OnDesk, RunDesk, messages_request
from tests.ui.detail_text import describe_detail
from tests.waiting import until

STEP_TIMEOUT = 5.0
FOREGROUND, DECORATION = int(Qt.ItemDataRole.ForegroundRole), int(Qt.ItemDataRole.DecorationRole)


async def gateway_request(
    runtime: GatewayRuntime, caller: str, *, project: str = "", status: int = 200
) -> None:
    await messages_request(runtime, {"user-agent": caller}, project=project, status=status)


def record_failure(runtime: GatewayRuntime, caller: str) -> str:
    recorder = runtime.engine.recorder
    record = recorder.start(principal="team-ci", provider="codex", caller=caller, model="gpt-5")
    recorder.finish(record, state="failed", error_code="process_timeout", exit_code=124)
    return record


def shown_column(page: RecorderPage, column: str) -> list[str]:
    number = COLUMNS.index(column)
    model = page.model
    return [model.data(model.index(row, number)) for row in range(model.rowCount())]


def shown_colours(page: RecorderPage, column: str) -> list[str | None]:
    """Each row's text colour in `column` as the view paints it (None: the palette's)."""
    number = COLUMNS.index(column)
    model = page.model
    colours = [
        model.data(model.index(row, number), Qt.ItemDataRole.ForegroundRole)
        for row in range(model.rowCount())
    ]
    return [QColor(c).name() if c is not None else None for c in colours]


def shown_icons(page: RecorderPage, column: str) -> list[object]:
    """Each row's icon in `column` (the status cell's glyph)."""
    number = COLUMNS.index(column)
    model = page.model
    return [model.data(model.index(row, number), DECORATION) for row in range(model.rowCount())]


def click_header(page: RecorderPage, column: int) -> None:
    """A real click on a column's header, where the person would click."""
    header = page.table.horizontalHeader()
    where = header.viewport().rect().center()
    where.setX(header.sectionViewportPosition(column) + header.sectionSize(column) // 2)
    QtBot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_page_lists_engine_requests_filters_them_and_shows_one_in_detail(
    run_desk: RunDesk,
) -> None:
    labels = [label for label, _reach in TIME_RANGES]

    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        await gateway_request(runtime, "sdk-tests/1.0")
        await gateway_request(runtime, "sdk-tests/1.0")
        record_failure(runtime, "nightly-batch")
        page.page_shown()
        await until(lambda: page.model.loaded == 3, "three requests listed")
        await until(lambda: page.count_label.text() == "3 requests", "the count")
        assert sorted(shown_column(page, "Provider")) == ["Anthropic", "Anthropic", "Codex"]
        assert shown_column(page, "Tokens in").count(f"{ANTHROPIC_INPUT_TOKENS:,}") == 2
        await until(lambda: page.provider_box.findText("Codex") > 0, "provider choices")

        page.provider_box.setCurrentIndex(page.provider_box.findText("Anthropic"))
        await until(lambda: shown_column(page, "Provider") == ["Anthropic"] * 2, "provider")
        page.provider_box.setEditText("")
        page.search_box.setText("nightly")
        await until(lambda: shown_column(page, "Caller") == ["nightly-batch"], "search")
        await until(lambda: page.model.total == 1, "the search's count")
        page.search_box.setText("")
        page.principal_box.setEditText("team-ci")
        await until(lambda: shown_column(page, "Runs as") == ["team-ci"], "who it runs as")
        page.principal_box.setEditText("")
        page.range_box.setCurrentIndex(labels.index("Last 15 minutes"))
        await until(lambda: page.model.loaded == 3 and not page.model.loading, "recent ones")
        page.range_box.setCurrentIndex(labels.index("Custom range"))
        assert page.from_edit.isVisible() and page.to_edit.isVisible()
        page.from_edit.setDateTime(QDateTime.currentDateTime().addSecs(3600))
        page.to_edit.setDateTime(QDateTime.currentDateTime().addSecs(7200))
        await until(lambda: page.model.loaded == 0, "none in a range in the future")
        page.range_box.setCurrentIndex(labels.index("All time"))
        await until(lambda: page.model.loaded == 3, "all of them again")

        page.table.selectRow(shown_column(page, "Provider").index("Codex"))
        await until(lambda: "process_timeout" in page.detail.toPlainText(), "detail")
        text = page.detail.toPlainText()
        assert "exit code 124" in text and "team-ci" in text and NO_PROMPT_FOR_API in text
        page.table.selectRow(shown_column(page, "Provider").index("Anthropic"))
        await until(lambda: "Route" in page.detail.toPlainText(), "API detail")
        await until(lambda: "→ ok" in page.detail.toPlainText(), "the route's attempt")

    run_desk(body)


def test_detail_shows_the_jobs_redacted_prompt_and_answer(
    run_desk: RunDesk,
    tmp_path: Path,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        engine = runtime.engine

        async def work(_ctx: JobContext) -> dict[str, Any]:
            return {"text": "All tests pass."}

        secret = "sk-ant-api03-" + "k" * 40
        spec = JobSpec(
            principal="local",
            provider="claude",
            request={"prompt": f"run the tests with {secret}"},
            working_dir=str(tmp_path),
            work=work,
        )
        submitted = await engine.jobs.submit(spec)
        await engine.jobs.wait(submitted.job_id, "local", timeout_s=STEP_TIMEOUT)
        record = engine.recorder.start(principal="local", provider="claude", caller="editor")
        engine.recorder.update(record, job_id=submitted.job_id)
        engine.recorder.finish(record, state="completed", input_tokens=40, output_tokens=4)
        page.page_shown()
        await until(lambda: page.model.loaded == 1, "the job's request listed")
        page.table.selectRow(0)
        await until(lambda: "All tests pass." in page.detail.toPlainText(), "the answer")
        text = page.detail.toPlainText()
        assert "run the tests with" in text and secret not in text

    run_desk(body)


def test_new_requests_appear_live_while_the_list_is_at_the_top(
    run_desk: RunDesk,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        record_failure(runtime, "first")
        page.page_shown()
        await until(lambda: page.model.loaded == 1, "the first request")
        page.table.selectRow(0)
        await gateway_request(runtime, "live-client")
        await until(lambda: page.model.loaded == 2, "the new request, live")
        assert shown_column(page, "Provider") == ["Anthropic", "Codex"]
        # The selected request stays selected across the live reload.
        await until(lambda: page.table.currentIndex().row() == 1, "selection kept")

        page.page_hidden()
        record_failure(runtime, "while hidden")
        await asyncio.sleep(1.5)  # longer than a live tick: nothing reloads while hidden
        assert page.model.loaded == 2
        page.page_shown()
        await until(lambda: page.model.loaded == 3, "caught up when shown again")

    run_desk(body)


def test_the_total_counts_the_last_request_of_a_burst_once_a_recount_may_run(
    run_desk: RunDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live refresh recounts at most every `LIVE_RECOUNT_EVERY_S`: a review saw "45
    requests" over 46 rows after its last call, until more traffic came. The rows a refresh
    loaded without a count are counted once a recount may run, traffic or none."""
    monkeypatch.setattr(recorder_page, "LIVE_RECOUNT_EVERY_S", 2.5)  # past a live tick (1 s)

    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        record_failure(runtime, "first")
        page.page_shown()
        await until(lambda: page.model.total == 1, "the first counted")
        record_failure(runtime, "second, within a second of the count")
        await until(lambda: page.model.loaded == 2, "the second listed live")
        await until(lambda: page.model.total == 2, "the second counted, with no more traffic")

    run_desk(body)


async def a_thousand_rows_shown(
    runtime: GatewayRuntime, page: RecorderPage, what: str
) -> list[dict[str, Any]]:
    """A thousand recorded rows of the last hour (the engine prunes rows older than its
    retention period), the page shown on its first page of them; the rows."""
    rows = synthetic_rows(1000, start=time.time() - 3600)
    await bulk_insert(runtime.engine.store, rows)
    page.page_shown()
    await until(lambda: page.model.loaded == 300, what)
    return rows


def test_scrolling_down_fetches_further_pages_until_the_end(
    run_desk: RunDesk,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        await a_thousand_rows_shown(runtime, page, "the first page only")
        await until(lambda: page.model.total == 1000, "the total")
        assert page.count_label.text() == "1,000 requests · showing the newest 300, scroll for more"
        for _ in range(10):  # bounded: four pages make the thousand
            page.table.scrollToBottom()
            before = page.model.loaded
            await until(lambda b=before: page.model.loaded > b, "another page")
            if page.model.loaded == 1000:
                break
        assert page.model.loaded == 1000 and not page.model.canFetchMore()
        shown = [page.model.summary(row) for row in range(1000)]
        keys = [(s.started_at, s.id) for s in shown if s is not None]
        assert keys == sorted(keys, reverse=True) and len(set(keys)) == 1000

    run_desk(body)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_export_from_the_dialog_writes_only_the_filtered_rows(
    run_desk: RunDesk, tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"requests{suffix}"

    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        await gateway_request(runtime, "exported")
        failed = {record_failure(runtime, f"batch-{i}") for i in range(3)}
        page.page_shown()
        await until(lambda: page.model.loaded == 4, "all requests")
        page.state_box.setEditText("failed")
        await until(lambda: page.model.loaded == 3, "failed ones")
        dialog = page.open_export_dialog()
        assert isinstance(dialog, QFileDialog) and dialog.isVisible()
        dialog.selectFile(str(target))
        dialog.accept()
        await until(lambda: page.export_label.text().startswith("Exported"), "export done")
        assert page.export_label.text() == f"Exported 3 requests to {target}"
        if suffix == ".csv":
            with target.open(newline="") as f:
                ids = {row["id"] for row in csv.DictReader(f)}
        else:
            ids = {json.loads(line)["id"] for line in target.read_text().splitlines()}
        assert ids == failed

    run_desk(body)


def test_the_detail_reads_approval_route_and_cache_and_shortens_long_answers() -> None:
    record = {
        "id": "r1",
        "started_at": 1_700_000_000.0,
        "finished_at": 1_700_000_002.5,
        "duration_ms": 2500.0,
        "provider": "claude",
        "model": "sonnet",
        "requested_model": None,
        "state": "completed",
        "attempts": 2,
        "caller": "editor",
        "transport": "mcp",
        "tool": "llm_call",
        "owner_principal": "local",
        "project": None,
        "job_id": "job-9",
        "input_tokens": 100,
        "output_tokens": 20,
        "reasoning_tokens": 0,
        "cache_read_tokens": 300,
        "cache_write_tokens": 100,
        "cost_usd": 0.0123,
        "approval": {
            "allowed": True,
            "decided_by": "desk",
            "score": 40,
            "threshold": 50,
            "permission_mode": "acceptEdits",
            "reasons": ["prompt mentions deleting files"],
            "warnings": [],
        },
        "route": None,
        "fallback_used": False,
    }
    detail = RecordDetail(
        record, job_found=True, job_state="completed", prompt="p", response="x" * 200_000
    )
    text = describe_detail(detail)
    assert "2.50\u00a0s" in text and "2 attempt(s)" in text  # "2.50 s" held on one line
    assert "60% of the prompt read from cache" in text and "$0.0123" in text
    assert (
        "allowed by you at the desk · risk 40 (you are asked from 50) · may edit files without "
        "asking" in text
    )
    assert "- prompt mentions deleting files" in text
    assert "claude directly" in text
    assert "100,000 more characters not shown" in text and len(text) < 110_000
    assert "Trace" not in text
    # With OpenTelemetry export on, the row's route names its trace, and the detail shows it.
    traced = RecordDetail(record | {"route": {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736"}})
    assert "Trace       4bf92f3577b34da6a3ce929d0e0e4736" in describe_detail(traced)
    # A gateway row says why its route tried the target.
    chosen = {"route": {"attempts": []}, "chosen_because": "weighted: 3 of 5 shares"}
    assert "Chosen      weighted: 3 of 5 shares" in describe_detail(RecordDetail(record | chosen))


def test_a_filter_that_hides_the_request_shown_shows_one_it_lists(run_desk: RunDesk) -> None:
    """With "Unanswered only" on, the details pane still showed the completed request chosen
    before, which the list no longer held (person pass, 2026-11-29)."""

    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        await gateway_request(runtime, "rate-limited", project="apollo", status=429)
        await gateway_request(runtime, "fine")
        page.page_shown()
        await until(lambda: page.model.loaded == 2, "both listed")
        completed = shown_column(page, "State").index("completed")
        page.table.selectRow(completed)
        await until(
            lambda: (
                "completed" in page.detail_card.heading.text() + page.detail_card.text.toPlainText()
            ),
            "its details",
        )
        page.failed_button.click()
        await until(lambda: page.model.loaded == 1 and not page.model.loading, "failed only")
        failed_id = page.model.summary(0).id
        await until(lambda: page._detail_id == failed_id, "the listed one shown")
        await until(lambda: failed_id[:8] in page.detail_card.heading.text(), "its heading")

    run_desk(body, replies=(Reply.error(429),))


def test_failed_rows_are_marked_and_found_by_failed_only_and_each_failure_filter(
    run_desk: RunDesk,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        # A real failure through the gateway: the upstream answers 429 for project apollo.
        await gateway_request(runtime, "rate-limited", project="apollo", status=429)
        await gateway_request(runtime, "fine", project="apollo")
        await gateway_request(runtime, "fine")
        record_failure(runtime, "nightly-batch")  # a CLI timeout: failed, no HTTP status
        recorder = runtime.engine.recorder
        for state in ("interrupted", "canceled", "refused"):
            recorder.finish(recorder.start(principal="local", provider="claude"), state=state)
        page.page_shown()
        await until(lambda: page.model.loaded == 7, "every request listed")

        states = shown_column(page, "State")
        assert sorted(states) == sorted(
            ["failed", "failed", "interrupted", "canceled", "refused"] + ["completed"] * 2
        )
        # The window's one status cell: each state's kind glyph as the icon, the word in its
        # tone (a bare "×" before a word read as a delete button).
        red = QColor(error_colour()).name()
        colours = dict(zip(states, shown_colours(page, "State"), strict=True))
        icons = dict(zip(states, shown_icons(page, "State"), strict=True))
        for state, kind in (
            ("completed", "ok"),
            ("failed", "error"),
            ("refused", "error"),
            ("interrupted", "warning"),
            ("canceled", "off"),
        ):
            assert colours[state] == status_data(kind, FOREGROUND).name(), state
            assert icons[state] is status_data(kind, DECORATION), state
        assert colours["failed"] == red
        rate_limited = shown_column(page, "Caller").index("rate-limited")
        assert shown_column(page, "HTTP")[rate_limited] == "429"
        assert shown_column(page, "Project")[rate_limited] == "apollo"
        code = shown_column(page, "Error code")[rate_limited]
        assert code and shown_colours(page, "Error code")[rate_limited] == red

        # The toggle is a funnel with the count of what it would show, not a "remove" cross.
        counted = "Unanswered only (5)"  # not "Failed": refused and canceled rows count too
        await until(lambda: page.failed_button.text() == counted, "the failures counted")
        page.failed_button.click()  # one click
        await until(lambda: page.model.loaded == 5 and not page.model.loading, "failed only")
        assert "completed" not in shown_column(page, "State")
        button = page.failed_button
        assert button.isChecked() and button.font().bold()
        assert button.palette().color(QPalette.ColorRole.ButtonText).name() == red
        await until(lambda: page.count_label.text() == "5 requests", "failures counted")
        page.failed_button.click()
        await until(lambda: page.model.loaded == 7, "every request again")

        await until(lambda: page.error_box.findText(code) > 0, "the error code offered")
        assert page.project_box.findText("apollo") > 0 and page.status_box.findText("429") > 0
        for box, value in ((page.error_box, code), (page.status_box, "429")):
            box.setCurrentIndex(box.findText(value))
            await until(lambda: shown_column(page, "Caller") == ["rate-limited"], value)
            box.setEditText("")
            await until(lambda: page.model.loaded == 7, "the filter cleared")
        page.project_box.setCurrentIndex(page.project_box.findText("apollo"))
        await until(lambda: sorted(shown_column(page, "Caller")) == ["fine", "rate-limited"], "p")
        page.failed_button.click()
        await until(lambda: shown_column(page, "Caller") == ["rate-limited"], "failed in apollo")
        page.status_box.setEditText("5xx")  # not a status: no request has it
        await until(lambda: page.model.loaded == 0 and not page.model.loading, "no rows")

    run_desk(body, replies=(Reply.error(429),))


def test_oldest_first_pages_correctly_across_page_boundaries(
    run_desk: RunDesk,
) -> None:
    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        rows = await a_thousand_rows_shown(runtime, page, "the first page, newest first")
        model = page.model
        assert model.headerData(TIME_COLUMN, Qt.Orientation.Horizontal) == ORDER_HEADERS[False]
        newest = model.summary(0)

        click_header(page, COLUMNS.index("Provider"))  # does not sort: only time does
        await asyncio.sleep(0.1)
        assert model.summary(0) == newest and not model.oldest_first
        click_header(page, TIME_COLUMN)
        assert model.headerData(TIME_COLUMN, Qt.Orientation.Horizontal) == ORDER_HEADERS[True]
        await until(lambda: not model.loading and model.summary(0) != newest, "oldest first")

        async def scroll_to_the_end(count: int) -> list[tuple[float, str]]:
            for _ in range(10):  # bounded: four pages make the thousand
                if model.loaded == count and not model.canFetchMore():
                    break
                page.table.scrollToBottom()
                before = model.loaded
                await until(lambda b=before: model.loaded > b, "another page")
            shown = [model.summary(row) for row in range(model.loaded)]
            return [(s.started_at, s.id) for s in shown if s is not None]

        keys = await scroll_to_the_end(1000)
        assert keys == sorted((r["started_at"], r["id"]) for r in rows)

        # Oldest first under "failed only": failed and refused rows, 400 of them, two pages.
        page.failed_button.click()
        await until(
            lambda: model.total == 400 and 300 <= model.loaded <= 400 and not model.loading,
            "failures, a page or two",
        )
        failures = sorted(
            (r["started_at"], r["id"]) for r in rows if r["state"] in ("failed", "refused")
        )
        assert await scroll_to_the_end(len(failures)) == failures

        click_header(page, TIME_COLUMN)  # and back to newest first
        await until(lambda: model.oldest_first is False and not model.loading, "newest again")
        await until(lambda: model.loaded == 300, "a first page")
        assert (model.summary(0).started_at, model.summary(0).id) == failures[-1]

    run_desk(body)


def test_detail_says_what_optimize_prompt_saved_and_which_tokenizer_counted(
    run_desk: RunDesk,
    tmp_path: Path,
) -> None:
    captured = Path(__file__).resolve().parents[1] / "fixtures" / "cli" / "claude"
    # desk_gateway's PATH is this one directory: the stand-in is the only CLI it finds.
    stand_in = tmp_path / "empty-bin" / "claude"
    stand_in.parent.mkdir()
    stand_in.write_text(
        f"#!/bin/sh\n/bin/cat > /dev/null\n/bin/cat '{captured}/plain_stream_json.stdout'\n"
    )
    stand_in.chmod(0o755)
    log = "\n".join(f"PASS tests/test_{n}.py::test_case_{n}" for n in range(300))

    async def body(runtime: GatewayRuntime, page: RecorderPage) -> None:
        engine = runtime.engine
        meta = RequestMeta(transport="test", tool="claude_request", optimize_prompt=True)
        prompt = f"Test output:\n{log}\n\nWhich test is slowest?"
        submitted = await engine.calls.submit("claude", CallParams(prompt=prompt), "local", meta)
        view = await engine.jobs.wait(submitted.job_id, "local", timeout_s=60)
        assert view.result is not None, view.state
        page.page_shown()
        await until(lambda: page.model.loaded == 1, "the call listed")
        page.table.selectRow(0)
        await until(lambda: "Optimisation" in page.detail.toPlainText(), "the saving")
        measured = view.result["optimization"]["prompt"]
        before, after = measured["tokensBefore"], measured["tokensAfter"]
        line = (
            f"Prompt: tokens {before:,} → {after:,} (saved {before - after:,}, "
            f"{(before - after) / before:.1%}) by o200k_base (approximate for claude) "
            "· long_output"
        )
        # A row of the form: its label, its value in the value column.
        assert line.removeprefix("Prompt: ") in page.detail.toPlainText()
        assert "Prompt\ntokens" in page.detail.toPlainText()
        assert line in result_text(view)  # the Jobs page's detail pane says the same
        page.detail.grab().save(str(Path("/tmp") / "recorder_optimisation.png"))

    run_desk(body)


def test_the_detail_is_a_form_led_by_its_result_with_an_error_section_only_on_failure(
    qtbot: QtBot,
) -> None:
    """Issue 41, review finding 5: a successful request showed an "Error: HTTP 200" section
    and a route reading "with key key being tried"; labels and values were indented prose
    whose values started at different places."""
    ok = {
        "id": "r2",
        "started_at": 1_700_000_000.0,
        "finished_at": 1_700_000_000.2,
        "duration_ms": 22.0,
        "provider": "openai",
        "model": "gpt-5-fake",
        "requested_model": "openai/gpt-5-fake",
        "state": "completed",
        "attempts": 1,
        "http_status": 200,
        "caller": "dashboard",
        "transport": "desktop",
        "owner_principal": "local",
        "input_tokens": 112,
        "output_tokens": 9,
        "reasoning_tokens": 2,
        "cache_read_tokens": 200,
        "cache_write_tokens": 0,
        "cost_usd": 0.000255,
        "route": {
            "attempts": [{"target": "openai/gpt-5-fake", "key": "key being tried", "outcome": "ok"}]
        },
        "fallback_used": False,
    }
    sections = detail_sections(RecordDetail(ok))
    titles = [section.title for section in sections]
    assert titles[0] == "Request r2" and "Error" not in titles
    result = sections[0].rows[0]
    assert (result.label, result.value, result.tone) == (
        "Result",
        "completed · HTTP 200 · 1 attempt(s)",
        "ok",
    )
    text = describe_detail(RecordDetail(ok))
    assert "openai/gpt-5-fake (key being tried) → ok" in text and "key key" not in text
    assert "gpt-5-fake (asked for openai/gpt-5-fake)" in text
    # Review 2026-11-28: "claude-sonnet-4-5 (asked for claude-sonnet-4-5)" said it twice.
    same = describe_detail(RecordDetail(ok | {"requested_model": "gpt-5-fake"}))
    assert "asked for" not in same and "gpt-5-fake" in same
    # Issue 54.5: the end on the same day says its time, not the date again (three lines at
    # 1024 px).
    timing = next(row.value for row in sections[0].rows if row.label == "Time")
    assert timing.count("-") == 2 and "\u00a0→\u00a0" in timing, timing
    failed = ok | {"state": "failed", "error_code": "upstream_500", "http_status": 502}
    sections = detail_sections(RecordDetail(failed))
    error = next(section for section in sections if section.title == "Error")
    assert [(row.label, row.value) for row in error.rows] == [
        ("Code", "upstream_500"),
        ("HTTP status", "502"),
    ]
    assert sections[0].rows[0].tone == "error"

    # On screen: one table of two columns (every value starts at the same x), the Result
    # first with the status glyph, the heading and badge above it.
    card = RecorderDetail()
    qtbot.addWidget(card)
    card.resize(360, 600)
    card.show()
    card.show_sections(detail_sections(RecordDetail(ok)), "completed")
    assert card.heading.text() == "Request r2" and card.badge.words == "completed"
    html = card.text.toHtml()
    assert html.count("<table") == 1
    plain = card.text.toPlainText()
    assert plain.index("Result") < plain.index("Time") < plain.index("Tokens and cache")
    assert "Error" not in plain


def test_a_narrow_list_keeps_provider_state_and_cost_with_the_model_under_its_provider(
    on_desk: OnDesk,
) -> None:
    """Issue 41, review finding 9: at 1024 px the list showed only Time, Model and State (the
    Time column spending ~140 px on "2026-11-24" in every row); now the model moves under its
    provider, the time is the clock's (its date in the tooltip), costs have two significant
    figures with their decimal points aligned, rows are tinted alternately, and the count says
    how to see more. Issue 54.5: Cost (what this app is about) was hidden at 1024 px: it stays,
    the error code giving way (in the state's tooltip, and one click away on the hint)."""

    async def body(desk: Desk, page: RecorderPage) -> None:
        runtime = desk.runtime
        await gateway_request(runtime, "sdk-tests/1.0")
        record_failure(runtime, "nightly-batch")
        page.page_shown()
        await until(lambda: page.model.loaded == 2 and not page.model.loading, "listed")
        header = page.table.horizontalHeader()
        shown = [COLUMNS[c] for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
        for kept in ("Time", "Provider", "State", "Cost"):
            assert kept in shown, (shown, page.columns.widths, page.table.viewport().width())
        assert "Model" not in shown
        failed = next(
            row
            for row in range(page.model.rowCount())
            if shown_column(page, "State")[row] == "failed"
        )
        tip = page.model.data(page.model.index(failed, STATE_COLUMN), Qt.ItemDataRole.ToolTipRole)
        code = page.model.summary(failed).error_code
        assert code and code in tip.splitlines(), tip
        # The hint is the way to what gave way: picking a column shows it, another giving way.
        hint = page.columns.hint
        assert "Error code" in hint.hidden_names
        menu = hint.open_menu()
        (show_code,) = [a for a in menu.actions() if a.text() == "Show Error code"]
        show_code.trigger()
        menu.close()
        shown = [COLUMNS[c] for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
        assert "Error code" in shown and "Error code" not in hint.hidden_names, shown
        assert page.table.horizontalScrollBar().maximum() == 0
        # The model is the provider cell's second line, and the row is tall enough for two.
        codex = shown_column(page, "Provider").index("Codex")
        index = page.model.index(codex, COLUMNS.index("Provider"))
        assert page.columns.second_line(index) == "gpt-5"
        lines = page.table.fontMetrics().lineSpacing()
        assert page.table.rowHeight(codex) >= 2 * lines
        times = shown_column(page, "Time")
        assert all(re.fullmatch(r"\d\d:\d\d:\d\d", t) for t in times), times
        tip = page.model.data(page.model.index(0, TIME_COLUMN), Qt.ItemDataRole.ToolTipRole)
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", tip), tip
        assert page.table.alternatingRowColors()
        # The unanswered filter's longest words still read whole at 1024 px.
        page.filters.show_failed_count(123_456)
        await until(
            lambda: page.failed_button.width() >= page.failed_button.sizeHint().width(),
            "the unanswered filter's words whole",
        )
        # Costs as every page writes them, padded to line their decimal points up.
        assert format_cost_cell(0.000255) == "$0.000255\u2007"
        assert format_cost_cell(0.0682) == "$0.0682\u2007\u2007\u2007"
        widths = {
            page.table.fontMetrics().horizontalAdvance(format_cost_cell(usd).split(".")[1])
            for usd in (0.000255, 0.0682, 0.0000372, 0.5)
        }
        assert len(widths) == 1, widths  # the same width after every decimal point
        # Wide, the model has its own column again, the cost shows, rows are one line.
        page.resize(1800, 800)
        await until(lambda: not header.isSectionHidden(COLUMNS.index("Model")), "the model back")
        assert not header.isSectionHidden(COLUMNS.index("Cost"))
        assert page.table.rowHeight(0) < 2 * lines and page.columns.second_line(index) == ""

    on_desk(RecorderPage, body, size=(800, 600))
