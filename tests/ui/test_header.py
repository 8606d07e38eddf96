"""The status header over every page, on the real window and a running gateway (qasync,
offscreen): its figures are the engine's (today's spend as the recorder sums it, the nearest
budget, the providers failing by the Providers page's rules, the jobs, the questions waiting
at the desk) and each chip opens its place."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, format_usd
from llmgw_desktop.engine.calls.approval import ApprovalGate
from llmgw_desktop.ui.approvals import DeskApprovals
from llmgw_desktop.ui.attention import failing_providers, seconds_since_midnight
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.providers import ProvidersPage
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import desk_gateway, messages_request
from tests.ui.test_approvals import RISKY
from tests.ui.waiting import until


def test_the_header_tells_the_engines_figures_and_each_chip_opens_its_place(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        failures = (Reply.error(500),) * 3
        async with desk_gateway(loaded, monkeypatch, tmp_path) as desk:
            engine = desk.runtime.engine
            await messages_request(desk.runtime, {"X-Caller": "editor"})  # priced: spends
            await engine.budgets.replace(
                LOCAL_CALLER, [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5}]
            )
            window = MainWindow(
                desk.bridge, desk.actions, desk.facts, close_quits=False, on_quit=lambda: None
            )
            qtbot.addWidget(window)
            window.resize(1024, 700)
            window.show()
            header = window.header
            chips = header.chips
            gate = ApprovalGate(
                allow_bypass=False, threshold=60, ask_at_desk=True, desk_timeout_s=30
            )
            approvals = DeskApprovals(gate, window)
            window.watch_questions([approvals])
            try:
                # Running, nothing failing, no job, no question: quiet tones.
                assert chips["gateway"].text() == "Running"
                assert chips["providers"].text() == "Providers OK"
                assert chips["jobs"].text() == "No jobs running"
                assert chips["questions"].text() == "No approvals"
                assert chips["providers"].property("tone") is None

                # Today's spend is the recorder's sum since local midnight, beside the budget.
                spend = await header.refresh_spend()
                now = time.time()
                today = await engine.recorder_query.costs(
                    "provider", seconds_since_midnight(now), now=now
                )
                assert spend.usd == pytest.approx(today.total.cost_usd) and spend.usd > 0
                # No budget is past its soft limit: the chip is the spend alone (no percentage
                # of something else beside it); the tooltip names the nearest budget.
                (status,) = engine.budgets.statuses()
                assert chips["spend"].text() == f"{format_usd(spend.usd)} today"
                assert f"Nearest budget: global, {format_usd(status.spent)} of $5.00 today" in (
                    chips["spend"].toolTip()
                )

                # Three failures in a row: the provider fails, in red, by the page's own rules.
                desk.upstream.script(*failures)
                for _ in failures:
                    await messages_request(desk.runtime, {"X-Caller": "editor"}, status=502)
                header.redraw()
                assert [f.provider for f in failing_providers(engine)] == ["anthropic"]
                assert chips["providers"].text() == "1 failing"
                assert chips["providers"].property("tone") == "error"
                assert "Anthropic" in chips["providers"].toolTip()
                chips["providers"].click()
                providers = window.pages[ProvidersPage.KEY]
                assert isinstance(providers, ProvidersPage)
                assert window.current_page is providers
                await until(lambda: providers.selected_row() is not None, "a provider chosen")
                await until(
                    lambda: providers.selected_row().switch_id == "anthropic",  # type: ignore[union-attr]
                    "the failing provider chosen",
                )

                # Paused everywhere: the gateway chip says so; it opens the Overview.
                engine.providers.set_paused(LOCAL_CALLER, True)
                assert chips["gateway"].text() == "Paused"
                assert chips["gateway"].property("tone") == "warning"
                chips["gateway"].click()
                assert window.current_page.KEY == "overview"
                engine.providers.set_paused(LOCAL_CALLER, False)
                assert chips["gateway"].text() == "Running"

                chips["spend"].click()
                assert window.current_page.KEY == "budgets"
                chips["jobs"].click()
                jobs = window.pages[JobsPage.KEY]
                assert isinstance(jobs, JobsPage) and window.current_page is jobs
                assert jobs.state_filter.currentText() == "Active"

                # A question waiting at the desk: counted, and the chip brings it forward.
                deciding = asyncio.get_running_loop().create_task(gate.decide(RISKY))
                await until(lambda: approvals.open_dialogs, "the approval asked")
                assert chips["questions"].text() == "1 waiting"
                assert chips["questions"].property("tone") == "warning"
                assert chips["questions"].accessibleName() == "Approvals: 1 waiting"
                (box,) = approvals.open_dialogs.values()
                box.hide()
                chips["questions"].click()
                assert box.isVisible()
                next(b for b in box.buttons() if b.text() == "Deny").click()
                assert not (await deciding).allowed
                assert chips["questions"].text() == "No approvals"
                chips["questions"].click()  # none waits: the notification history
                assert window.current_page.KEY == "notifications"
            finally:
                approvals.detach()
                for page in window.pages.values():
                    page.page_hidden()
                    page.tasks.cancel_all()
                window.hide()

    qloop.run_until_complete(scenario())
