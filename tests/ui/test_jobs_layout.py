"""The Jobs page's list and details as the gallery shows them (issue 41, second review).

- N2: a job that failed while its Output tab was shown opened its Result with the whole
  traceback unfolded under a button saying "Show details", and at 1024 px the traceback's own
  scroll bar sat inside the details' scroll bar.

The page is the real one in the real window, on an engine that is built but not started: the
rows and the chosen job's updates are handed to it as the store and the job's follower would.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.desk_rows import DeskJob
from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.base import WindowFacts
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.qt import QFont, QScrollArea

# A CLI's failure as the gallery's Mistral Vibe stand-in ends: a Python traceback.
TRACEBACK = (
    "mistral: Traceback (most recent call last):\n"
    + "".join(
        f'  File "/usr/lib/python3.11/urllib/request.py", line {n}, in open\n'
        "    response = self._open(req, data)\n"
        "               ^^^^^^^^^^^^^^^^^^^^^^\n"
        for n in range(200, 230)
    )
    + "TimeoutError: timed out\n"
)
SIZES = [(1024, 700), (1920, 1080)]


@pytest.fixture
def window(loaded: LoadedSettings, qtbot: QtBot) -> Iterator[MainWindow]:
    engine = Engine(loaded.settings)
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: "", open_dashboard=lambda: None, quit_app=lambda: None
    )
    data = engine.settings.data_path
    facts = WindowFacts("http://127.0.0.1:9/mcp", "http://127.0.0.1:9/health", data, data)
    shown = MainWindow(bridge, actions, facts, close_quits=False, on_quit=lambda: None)
    qtbot.addWidget(shown)
    yield shown
    for page in shown.pages.values():
        page.page_hidden()
        page.tasks.cancel_all()
    bridge.detach()


def _jobs_page(window: MainWindow, size: tuple[int, int]) -> JobsPage:
    window.resize(*size)
    window.show()
    window.show_page(JobsPage.KEY)
    page = window.pages[JobsPage.KEY]
    assert isinstance(page, JobsPage)
    return page


def _job(now: float, state: JobState, **view: object) -> DeskJob:
    view = {"last_activity_at": now} | view
    return DeskJob(
        view=JobView(
            id="job_401b07ea3798457e88ee9c2b671ae933",
            provider="mistral",
            state=state,
            created_at=now - 60,
            updated_at=now,
            started_at=now - 60,
            **view,  # type: ignore[arg-type]
        ),
        principal="gateway-bearer",
        caller="cursor",
        prompt="Why does this query take 3 seconds?",
        model="devstral-medium-latest",
        transport="http",
        tool="/v1/chat/completions",
        approval={
            "allowed": True,
            "decided_by": "policy",
            "strategy": "mcp_managed",
            "score": 0,
            "threshold": 60,
            "permission_mode": "plan",
        },
        decided_at=now - 60,
    )


@pytest.mark.parametrize("size", SIZES)
def test_a_job_that_fails_while_followed_opens_on_its_cause_with_the_traceback_folded(
    size: tuple[int, int], window: MainWindow, qtbot: QtBot
) -> None:
    page = _jobs_page(window, size)
    now = time.time()
    running = _job(now, JobState.RUNNING)
    page._show_rows([running])
    pane = page.pane
    assert pane.job is not None and pane.texts.currentIndex() == 0  # its output, as it streams
    # The follower sees it fail, then turns to its Result (`JobPane._follow_job`).
    failed = dataclasses.replace(
        running.view,
        state=JobState.FAILED,
        finished_at=now,
        error={"code": "provider_error", "message": TRACEBACK},
    )
    pane._show_view(failed)
    pane.texts.setCurrentIndex(1)
    qtbot.wait(20)  # the layout settles; the scroll bar it could bring is asserted absent

    assert pane.cause_label.isVisible()
    assert pane.cause_label.text() == "Mistral Vibe failed: TimeoutError: timed out"
    assert pane.details_toggle.isVisible() and pane.details_toggle.text() == "Show details"
    assert not pane.result_stack.isVisible()  # folded: the cause first, nothing to scroll
    area = page.body.findChild(QScrollArea, "detailScroll")
    assert area is not None
    assert not area.verticalScrollBar().isVisible()

    pane.details_toggle.click()
    qtbot.wait(20)  # a settle: an outer scroll bar, asserted absent, comes passes later
    assert pane.result_stack.isVisible()
    assert "urllib/request.py" in pane.result_view.toPlainText()
    assert pane.details_toggle.text() == "Hide details"
    # Unfolded, the traceback scrolls in its own view; the details around it do not scroll.
    assert not area.verticalScrollBar().isVisible(), size
    pane.details_toggle.click()
    assert not pane.result_stack.isVisible() and pane.details_toggle.text() == "Show details"


def _gallery_jobs(now: float, *, stuck: bool) -> list[DeskJob]:
    """The gallery's four Mistral Vibe jobs, the second one stuck (the light pictures were
    taken then) or failed by its idle timeout (the dark ones, a minute later)."""
    first = _job(now, JobState.FAILED, error={"code": "provider_error", "message": "boom"})
    if stuck:
        second = _job(now, JobState.RUNNING, stuck=True, last_activity_at=now - 46)
    else:
        second = _job(
            now, JobState.FAILED, finished_at=now, error={"code": "provider_error", "message": "x"}
        )
    done = [
        dataclasses.replace(
            _job(now, JobState.COMPLETED, finished_at=now - 50),
            input_tokens=312,
            output_tokens=9,
        )
        for _ in range(2)
    ]
    jobs = [first, second, *done]
    return [
        dataclasses.replace(
            job,
            view=dataclasses.replace(job.view, id=f"job_{n:08x}", created_at=now - 60 + n),
            caller=("aider", "cursor", "codex", "claude-code")[n],
        )
        for n, job in enumerate(jobs)
    ]


def _columns_read(page: JobsPage) -> set[str]:
    """The columns a person reads: shown ones, and those shown under a neighbour."""
    from llmgw_desktop.ui.pages.jobs_model import COLUMNS
    from llmgw_desktop.ui.pages.jobs_table import SECOND_LINES

    header = page.table.horizontalHeader()
    shown = {c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)}
    under = {u for over, u in SECOND_LINES.items() if over in shown and u not in shown}
    return {COLUMNS[c] for c in shown | under}


@pytest.mark.parametrize("size", SIZES)
def test_a_stuck_job_does_not_change_which_columns_the_list_shows(
    size: tuple[int, int], window: MainWindow, qtbot: QtBot
) -> None:
    """N11: at 1920 px the light pictures (a job stuck: "no output for 46s · limit 5s") had no
    Who column and the dark ones (that job failed: "provider_error") had one. A live job's
    progress changes every second; the columns must not change with it."""
    page = _jobs_page(window, size)
    page.model.stuck_after_s = 5.0
    now = time.time()
    read = []
    for stuck in (True, False):
        page._show_rows(_gallery_jobs(now, stuck=stuck))
        qtbot.wait(20)  # a settle: the check is that nothing changes
        read.append(_columns_read(page))
    assert read[0] == read[1], read
    if size[0] == 1920:
        assert {"Who", "Tool", "Tokens", "Elapsed", "Model"} <= read[0], read[0]


@pytest.mark.parametrize("size", SIZES)
def test_the_details_title_reads_on_one_line_beside_its_status(
    size: tuple[int, int], window: MainWindow, qtbot: QtBot
) -> None:
    """#10: at 1024 px the title "Mistral Vibe · 401b07ea" wrapped over two lines beside its
    status pill. It reads on one line in whatever state the job is (the widest pill is
    "interrupted"): whole where it fits, else the provider alone, the job's id starting the
    line under it; a screen reader and the tooltip have it whole."""
    page = _jobs_page(window, size)
    pane = page.pane
    now = time.time()
    for state in (JobState.COMPLETED, JobState.FAILED, JobState.INTERRUPTED):
        page._show_rows([_job(now, state, finished_at=now)])
        qtbot.waitUntil(
            lambda: (
                pane.heading.fontMetrics().horizontalAdvance(pane.heading.text())
                <= pane.heading.width()
                and pane.badge.width() >= pane.badge.sizeHint().width()
            ),
            timeout=5000,
        )
        heading = page.pane.heading
        needed = heading.fontMetrics().horizontalAdvance(heading.text())
        assert needed <= heading.width(), (state, heading.text(), needed, heading.width())
        if size[0] == 1920:
            assert heading.text() == "Mistral Vibe · 401b07ea"
        else:
            assert heading.text() in ("Mistral Vibe · 401b07ea", "Mistral Vibe")
            assert page.detail_title.text().startswith("job_401b07ea · ")
        assert heading.accessibleName() == "Mistral Vibe · 401b07ea"
        badge = page.pane.badge
        assert badge.width() >= badge.sizeHint().width()
    # The list beside it still scrolls nothing sideways. A column too wide would show the bar
    # only after Qt's deferred pass: an absence has no state to wait for, so a settle.
    qtbot.wait(20)
    assert page.table.horizontalScrollBar().maximum() == 0


@pytest.mark.parametrize("size", SIZES)
def test_two_line_rows_have_room_around_their_lines_and_the_last_figure_a_gap_to_the_frame(
    size: tuple[int, int], window: MainWindow, qtbot: QtBot
) -> None:
    """N11: the two-line cells ("Mistral Vibe" over "devstral-medium-latest") filled their rows
    to the edges (the window's table style had set every list's rows to one line's height),
    and "312 in / 9 out", right-aligned in the last column, touched the list's frame."""
    page = _jobs_page(window, size)
    page._show_rows(_gallery_jobs(time.time(), stuck=False))
    table = page.table
    lines = table.fontMetrics().lineSpacing()
    qtbot.waitUntil(lambda: table.rowHeight(0) >= 2 * lines + 6, timeout=5000)
    assert table.rowHeight(0) >= 2 * lines + 6, (table.rowHeight(0), lines)
    header = table.horizontalHeader()
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    last = max(shown, key=header.sectionViewportPosition)
    end = header.sectionViewportPosition(last) + header.sectionSize(last)
    assert table.viewport().width() - end >= 6, (end, table.viewport().width())


@pytest.mark.parametrize("size", SIZES)
def test_the_prompt_takes_the_width_the_other_columns_leave(
    size: tuple[int, int], window: MainWindow, qtbot: QtBot
) -> None:
    """Issue 41, last review: at 1920 px the prompt sat at its floor (a fifth of the list),
    wrapping the gallery's short prompts over two lines, while the room beside it went spare.
    Every other column is as wide as its text needs and no wider; the prompt, the column a
    person reads, takes the rest: at 1920 px the widest column, the gallery's prompts on one
    line each. The window opens at 1024 px and is then resized, as the gallery's is (and a
    person's maximising it): the list keeps its share of the wider window, where Qt's own
    resizing kept the proportion of the narrow one."""
    from llmgw_desktop.ui.kit.master_detail import DETAIL_MIN_WIDTH, MasterDetail
    from llmgw_desktop.ui.pages.jobs import LIST_SHARE
    from llmgw_desktop.ui.pages.jobs_model import COLUMNS, PROMPT_COLUMN
    from llmgw_desktop.ui.pages.jobs_table import END_GAP, PROMPT_MIN_WIDTH

    page = _jobs_page(window, SIZES[0])
    page.model.stuck_after_s = 5.0
    jobs = _gallery_jobs(time.time(), stuck=True)
    page._show_rows(jobs)
    qtbot.wait(20)
    window.resize(*size)
    table, header = page.table, page.table.horizontalHeader()
    qtbot.waitUntil(  # the columns fitted to the resized list, the prompt taking the rest
        lambda: (
            sum(header.sectionSize(c) for c in range(len(COLUMNS)) if not header.isSectionHidden(c))
            == table.viewport().width() - END_GAP
        ),
        timeout=5000,
    )
    fitter = table.columns
    assert fitter is not None
    shown = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
    others = [c for c in shown if c != PROMPT_COLUMN]
    for column in others:  # each as its text (or its clock-proof sample) needs
        assert header.sectionSize(column) == fitter._wanted(column), COLUMNS[column]
    prompt = header.sectionSize(PROMPT_COLUMN)
    used = sum(header.sectionSize(c) for c in shown)
    assert used == table.viewport().width() - END_GAP  # the prompt has the rest
    assert prompt >= PROMPT_MIN_WIDTH
    split = page.body.content
    assert isinstance(split, MasterDetail)
    assert split.detail_area.width() >= DETAIL_MIN_WIDTH  # the details keep their room
    if size[0] == 1920:
        total = sum(split.sizes())
        assert abs(split.sizes()[0] - LIST_SHARE * total) <= 2, split.sizes()
    if size[0] == 1920:
        assert prompt == max(header.sectionSize(c) for c in shown)
        assert prompt >= 0.25 * table.viewport().width(), prompt  # its floor is a fifth
        metrics = table.fontMetrics()
        for job in jobs:  # one line each, nothing cut
            assert metrics.horizontalAdvance(job.prompt) + 12 <= prompt, job.prompt


def test_a_split_the_person_dragged_stays_theirs_when_the_window_is_resized(
    window: MainWindow, qtbot: QtBot
) -> None:
    """The list's share is kept on a resize only until the person drags the handle."""
    from llmgw_desktop.ui.kit.master_detail import MasterDetail

    page = _jobs_page(window, SIZES[0])
    page._show_rows(_gallery_jobs(time.time(), stuck=False))
    split = page.body.content
    assert isinstance(split, MasterDetail)
    window.resize(*SIZES[1])
    qtbot.wait(20)
    shared = split.sizes()[0]
    split.moveSplitter(shared - 300, 1)  # what dragging the handle does
    assert split.dragged
    dragged = split.sizes()[0]
    assert abs(dragged - (shared - 300)) <= 2, (dragged, shared)
    window.resize(1600, 1000)
    qtbot.wait(20)
    window.resize(*SIZES[1])
    qtbot.waitUntil(lambda: abs(split.sizes()[0] - dragged) <= 2, timeout=5000)
    assert abs(split.sizes()[0] - dragged) <= 2, (split.sizes(), dragged)


def test_a_stuck_jobs_details_say_stuck_its_endpoint_whole_and_a_failure_across_the_pane(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Gallery review, finding 8: the details' line said "running" beside the "stuck" badge,
    "/v1/" ended a line and "chat/completions" began the next, and a failure's cause stood
    in bold red beside its code chip, a narrow column four lines tall. The line says the
    badge's state, the endpoint moves whole, and the cause reads in plain weight across the
    pane under its code."""
    page = _jobs_page(window, (1024, 700))
    page.model.stuck_after_s = 5.0
    now = time.time()
    page._show_rows([_job(now, JobState.RUNNING, stuck=True, last_activity_at=now - 46)])
    pane = page.pane
    qtbot.waitUntil(lambda: pane.badge.words == "stuck", timeout=5000)
    assert pane.badge.words == "stuck"
    line = page.detail_title.text()
    assert " · stuck · " in line and "running" not in line, line
    words = line.replace("\u2060", "")
    assert "/v1/chat/completions" in words
    # No break inside the endpoint: every slash is held to what follows it.
    assert "/v1/\u2060chat/\u2060completions" in line or line.count("/\u2060") >= 3, line

    assert pane.job is not None
    failed = dataclasses.replace(
        pane.job.view,
        state=JobState.FAILED,
        stuck=False,
        finished_at=now,
        error={"code": "provider_error", "message": "the provider closed the stream early"},
    )
    pane._show_view(failed)
    pane.texts.setCurrentIndex(1)
    cause = pane.cause_label
    qtbot.waitUntil(
        lambda: (
            pane.code_badge.geometry().bottom() < cause.geometry().top()
            and cause.width() >= pane.texts.currentWidget().width() - 4
        ),
        timeout=5000,
    )
    assert cause.isVisible() and cause.font().weight() < QFont.Weight.DemiBold
    assert pane.code_badge.geometry().bottom() < cause.geometry().top()  # the chip above it
    # Across the pane: as wide as the result's box, not a column beside the chip.
    assert cause.width() >= pane.texts.currentWidget().width() - 4, cause.width()
