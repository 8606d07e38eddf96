"""Words of the trade say what they mean on hover (issue 54.2): "Circuit", "p50 / p95",
"Runs as" and the rest, in every list that uses them, from one table (`ui/terms.py`); the
engine's own words for things (a principal, a CLI's permission mode) are said in plain words."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import JobState
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractListModel,
    QLabel,
    QLineEdit,
    QModelIndex,
    Qt,
    QWidget,
)
from llmgw_desktop.ui.risk_words import permission_words
from llmgw_desktop.ui.terms import TERMS, meaning
from tests.ui.desk_gateway import Desk, OnWindow, messages_request, shown_page
from tests.ui.test_jobs_layout import _job


def test_the_terms_a_newcomer_meets_are_explained_in_every_list(on_window: OnWindow) -> None:
    async def body(_desk: Desk, window: MainWindow) -> None:
        health = window.overview.health
        tips = {
            health.horizontalHeaderItem(c).text(): health.horizontalHeaderItem(c).toolTip()
            for c in range(health.columnCount())
        }
        assert tips["Circuit"] == TERMS["Circuit"] and "median" in tips["p50 / p95"]
        window.show_page(RecorderPage.KEY)
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        model = recorder.table.model()
        headings = {
            model.headerData(c, Qt.Orientation.Horizontal): model.headerData(
                c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
            )
            for c in range(model.columnCount())
        }
        assert headings["Runs as"].startswith(TERMS["Runs as"])
        assert meaning("Not a term") == ""

    on_window(body)


# The engine's and the CLIs' words a person met in the window (gallery review, finding 13).
JARGON = (
    "principal",
    "Principal",
    "gateway-bearer",
    "Whose",
    "mcp_managed",
    "of threshold",
    "bearer token",
    "NAME__",
    "full auto",
    "acceptEdits",
    "not asked",
    "runs as plan",
)


def _words_shown(page: QWidget) -> list[str]:
    """Every piece of text `page` shows: labels, buttons, fields' hints, and the headings and
    cells of its lists."""
    shown: list[str] = []
    for label in page.findChildren(QLabel):
        if label.isVisibleTo(page):
            shown.append(label.text())
    for button in page.findChildren(QAbstractButton):
        if button.isVisibleTo(page):
            shown.append(button.text())
    for field in page.findChildren(QLineEdit):
        if field.isVisibleTo(page):
            shown.append(field.placeholderText())
    for view in page.findChildren(QAbstractItemView):
        model = view.model()
        if model is None or not view.isVisibleTo(page):
            continue
        # A list model (a picker's popup) has one column, and PySide hides its columnCount.
        columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount()
        for column in range(columns):
            shown.append(str(model.headerData(column, Qt.Orientation.Horizontal) or ""))
            for row in range(min(model.rowCount(QModelIndex()), 50)):
                shown.append(str(model.index(row, column).data() or ""))
    return shown


def test_no_page_shows_the_engines_words_for_things(on_window: OnWindow, qtbot: QtBot) -> None:
    """Gallery review, finding 13: "principal", "gateway-bearer", "Whose", "mcp_managed ·
    score 0 of threshold 60 · runs as plan", "Static bearer token", "NAME__tool", "full
    auto", "acceptEdits", "not asked" were on screen. A job run with the master token and an
    approval, a refused request and a kept one: no page says any of them, and a word of the
    trade kept ("Circuit") says what it means on hover, in the details too."""

    async def body(desk: Desk, window: MainWindow) -> None:
        await messages_request(desk.runtime, {"X-Caller": "cursor"})
        jobs = shown_page(window, JobsPage)
        now = time.time()
        job = _job(now, JobState.COMPLETED, finished_at=now)
        job = dataclasses.replace(
            job, approval={**(job.approval or {}), "permission_mode": "acceptEdits"}
        )
        jobs._show_rows([job])
        await asyncio.sleep(0.02)
        assert "master token" in jobs.detail_title.text()
        approval = jobs.pane.approval_label.text()
        assert "may edit files without asking" in approval and "risk 0" in approval
        assert permission_words("acceptEdits", True) == (
            "It may edit files without asking, with no confirmations."
        )
        found: dict[str, list[str]] = {}
        for key in window.pages:
            if key != JobsPage.KEY:
                window.show_page(key)
                await asyncio.sleep(0.15)
            page = window.pages[key]
            for words in _words_shown(page):
                hits = [j for j in JARGON if j in words]
                if hits:
                    found.setdefault(key, []).append(f"{hits}: {words[:80]!r}")
        assert not found, found
        providers = shown_page(window, ProvidersPage)
        circuit = next(
            label for label in providers.detail.findChildren(QLabel) if label.text() == "Circuit"
        )
        assert circuit.toolTip() == TERMS["Circuit"]

    on_window(body)


def test_a_key_made_at_the_desk_says_by_whom_in_words(on_window: OnWindow, qtbot: QtBot) -> None:
    """The 1024x768 sweep (issue 64's leftovers, item 2): the Access keys page's details read
    "Made 2026-11-27 02:12 by local", the engine's id for the person at the desk."""
    from llmgw_desktop.engine.api import KeySpec
    from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
    from llmgw_desktop.ui.pages.key_detail import KeyDetail

    async def body(desk: Desk, window: MainWindow) -> None:
        keys = desk.runtime.engine.keys
        await keys.create(LOCAL_CALLER, KeySpec(name="desk-made"))
        (record,) = await keys.list(LOCAL_CALLER)
        detail = KeyDetail()
        qtbot.addWidget(detail)
        detail.show_key(record, None, time.time())
        assert detail.made_label.text().endswith(" by you at this desk"), detail.made_label.text()

    on_window(body, show=False)
