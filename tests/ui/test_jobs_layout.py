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
from llmgw_desktop.ui.qt import QScrollArea

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
    return DeskJob(
        view=JobView(
            id="job_401b07ea3798457e88ee9c2b671ae933",
            provider="mistral",
            state=state,
            created_at=now - 60,
            updated_at=now,
            started_at=now - 60,
            last_activity_at=now,
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
    qtbot.wait(20)  # the layout settles

    assert pane.cause_label.isVisible()
    assert pane.cause_label.text() == "Mistral Vibe failed: TimeoutError: timed out"
    assert pane.details_toggle.isVisible() and pane.details_toggle.text() == "Show details"
    assert not pane.result_stack.isVisible()  # folded: the cause first, nothing to scroll
    area = page.body.findChild(QScrollArea, "detailScroll")
    assert area is not None
    assert not area.verticalScrollBar().isVisible()

    pane.details_toggle.click()
    qtbot.wait(20)
    assert pane.result_stack.isVisible() and "urllib/request.py" in (
        pane.result_view.toPlainText()
    )
    assert pane.details_toggle.text() == "Hide details"
    # Unfolded, the traceback scrolls in its own view; the details around it do not scroll.
    assert not area.verticalScrollBar().isVisible(), size
    pane.details_toggle.click()
    assert not pane.result_stack.isVisible() and pane.details_toggle.text() == "Show details"
