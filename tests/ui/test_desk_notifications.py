"""System notifications (tray messages) for what needs the person, on the real window, tray and
a running gateway (qasync, offscreen): a provider failing, a budget reached, a job stuck, an
approval waiting. Each fires once per event, a click on it opens its place, and during quiet
hours nothing pops up while the notification history still keeps every message.

The offscreen platform has no notification server: what the tray pops up is recorded by a spy
on its icon's `showMessage`, and a click is the icon's own `messageClicked` signal.
"""

from __future__ import annotations

import asyncio
import time as time_module
from collections.abc import Awaitable, Callable
from datetime import time
from typing import Protocol

import pytest

from llmgw_desktop.engine.api import LOCAL_CALLER, JobStuckChanged
from llmgw_desktop.engine.calls.approval import ApprovalGate
from llmgw_desktop.shell.app import _NotifyingApprovals
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.tray import TrayIcon
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnWindow, desk_tray, messages_request
from tests.ui.test_approvals import RISKY
from tests.waiting import until

Popped = list[tuple[str, str]]


class Clock:
    """The time of day the tray reads (quiet hours), set by the test."""

    def __init__(self) -> None:
        self.now = time(12, 0)

    def __call__(self) -> time:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class OnTray(Protocol):
    """`on_tray(body, size=..., seconds=...)`: `await body(desk, window, tray, popped)` (see
    the fixture)."""

    def __call__(
        self,
        body: Callable[[Desk, MainWindow, TrayIcon, Popped], Awaitable[None]],
        *,
        size: tuple[int, int] = ...,
        seconds: Callable[[], float] = ...,
    ) -> None: ...


@pytest.fixture
def on_tray(on_window: OnWindow, clock: Clock) -> OnTray:
    """`on_tray(body, size=..., seconds=...)`: the window (at `size`) and the tray (on `clock`'s
    time of day, timing jobs by `seconds`) on a desk gateway, wired as the app wires them, what
    the tray pops up recorded in `popped`; `await body(desk, window, tray, popped)`."""

    def run(
        body: Callable[[Desk, MainWindow, TrayIcon, Popped], Awaitable[None]],
        *,
        size: tuple[int, int] = (1024, 700),
        seconds: Callable[[], float] = time_module.monotonic,
    ) -> None:
        async def in_window(desk: Desk, window: MainWindow) -> None:
            with desk_tray(desk, time_now=clock, clock=seconds) as tray:
                popped: Popped = []
                tray.icon.showMessage = lambda title, text, *_a: popped.append((title, text))  # type: ignore[method-assign]
                tray.shown.connect(window.notifications.record)
                tray.opened.connect(window.open_place)  # as the app wires it
                await body(desk, window, tray, popped)

        on_window(in_window, size=size)

    return run


def test_a_failing_provider_is_told_once_an_outage_and_opens_its_row(on_tray: OnTray) -> None:
    async def fail(desk: Desk, times: int) -> None:
        desk.upstream.script(*(Reply.error(500),) * times)
        for _ in range(times):
            await messages_request(desk.runtime, {"X-Caller": "editor"}, status=502)

    async def body(desk: Desk, window: MainWindow, tray: TrayIcon, popped: Popped) -> None:
        await fail(desk, 3)  # three in a row: failing
        tray.redraw()
        assert popped == [
            (
                "Anthropic is failing",
                "Calls to Anthropic are failing: 3 in a row, upstream_500.",
            )
        ]
        await fail(desk, 2)  # the same outage: no second message
        tray.redraw()
        assert len(popped) == 1
        # Its place: the Providers page with Anthropic chosen.
        window.show_page("keys")
        tray.icon.messageClicked.emit()
        providers = window.pages[ProvidersPage.KEY]
        assert isinstance(providers, ProvidersPage)
        assert window.current_page is providers
        await until(
            lambda: (row := providers.selected_row()) is not None and row.switch_id == "anthropic",
            "Anthropic chosen",
        )
        # Recovered (most calls answer again), then failing again: news again.
        for _ in range(6):
            await messages_request(desk.runtime, {"X-Caller": "editor"})
        tray.redraw()
        assert tray.failing == {}
        await fail(desk, 3)  # most calls fail again within two
        tray.redraw()
        assert len(popped) == 2 and popped[1][0] == "Anthropic is failing"
        # Kept in the history too (the same words within a second are kept once).
        history = [n.text for n in window.notifications.entries()]
        assert any(t.startswith("Calls to Anthropic are failing") for t in history)

    on_tray(body)


def test_budget_reached_stuck_job_and_waiting_approval_each_pop_once_and_open_their_place(
    on_tray: OnTray,
) -> None:
    async def body(desk: Desk, window: MainWindow, tray: TrayIcon, popped: Popped) -> None:
        engine = desk.runtime.engine
        gate = ApprovalGate(allow_bypass=False, threshold=60, ask_at_desk=True, desk_timeout_s=30)
        approvals = _NotifyingApprovals(gate, window, tray)
        window.watch_questions([approvals])
        try:
            # A budget too small for one call's hold: calls are held at what they may
            # cost, so a budget is reached when it starts refusing, not only when its
            # spend passes the limit; told once, not at each refusal.
            await engine.budgets.replace(
                LOCAL_CALLER,
                [{"scope": "global", "unit": "usd", "period": "daily", "hard": 0.000001}],
            )
            await messages_request(desk.runtime, {"X-Caller": "editor"}, status=402)
            await until(lambda: popped, "the budget's message")
            await messages_request(desk.runtime, {"X-Caller": "editor"}, status=402)
            await asyncio.sleep(0.1)
            assert [title for title, _ in popped] == ["Budget reached"]
            assert "is used up" in popped[0][1] and "too little left" in popped[0][1]
            tray.icon.messageClicked.emit()
            assert window.current_page.KEY == "budgets"

            # A job stuck: the engine's event, told once; its place is that job.
            stuck = JobStuckChanged("job_1234abcd", "claude", "local", True, 125.0, 120.0)
            engine.events.publish(stuck)
            engine.events.publish(JobStuckChanged("job_1234abcd", "claude", "local", False, 0, 120))
            assert [title for title, _ in popped][1:] == ["A job is stuck"]
            assert "2m 05s" in popped[1][1] and "limit 2m 00s" in popped[1][1]
            tray.icon.messageClicked.emit()
            jobs = window.pages[JobsPage.KEY]
            assert isinstance(jobs, JobsPage) and window.current_page is jobs
            assert jobs.search.text() == "job_1234abcd"

            # An approval waiting: told once; a click brings its dialog forward.
            deciding = asyncio.get_running_loop().create_task(gate.decide(RISKY))
            await until(lambda: approvals.open_dialogs, "the question asked")
            assert [title for title, _ in popped][2:] == ["Approval needed"]
            (box,) = approvals.open_dialogs.values()
            box.hide()
            tray.icon.messageClicked.emit()
            assert box.isVisible()
            next(b for b in box.buttons() if b.text() == "Deny").click()
            assert not (await deciding).allowed
            assert len(popped) == 3
        finally:
            approvals.detach()

    on_tray(body)


def test_quiet_hours_hold_back_the_pop_ups_and_the_history_keeps_them(
    on_tray: OnTray, clock: Clock
) -> None:
    async def body(desk: Desk, window: MainWindow, tray: TrayIcon, popped: Popped) -> None:
        engine = desk.runtime.engine
        tray.set_quiet_hours("22:00-07:00")  # over midnight
        clock.now = time(23, 30)
        assert tray.is_quiet()
        stuck = JobStuckChanged("jobA0001xx", "claude", "local", True, 125.0, 120.0)
        engine.events.publish(stuck)
        clock.now = time(6, 59)
        engine.events.publish(JobStuckChanged("jobB0002xx", "claude", "local", True, 125.0, 120.0))
        assert popped == []  # silent
        history = [n.text for n in window.notifications.entries()]
        assert sum("A job is stuck" in text for text in history) == 2  # kept
        clock.now = time(7, 0)  # the end is not quiet any more
        engine.events.publish(JobStuckChanged("jobC0003xx", "claude", "local", True, 125.0, 120.0))
        assert [title for title, _ in popped] == ["A job is stuck"]
        with pytest.raises(ValueError, match="not a span"):
            tray.set_quiet_hours("after dinner")

    on_tray(body)


def test_every_notification_has_its_level_and_an_open_beside_its_words(on_tray: OnTray) -> None:
    """Review 41-2, finding 8: "Job failed" and a provider's failing calls were warnings (red on
    Jobs and in the header), only budget rows had Open, and at 1920 px Open stood ~1,000 px
    from its text. Every row has an Open to its place, next to its words, at the level the
    rest of the window gives the same news."""
    from llmgw_desktop.engine.api import Notice
    from llmgw_desktop.ui.notifications import NotificationsPage

    ran = [0.0]  # the tray's clock: how long a job ran

    async def body(desk: Desk, window: MainWindow, tray: TrayIcon, _popped: Popped) -> None:
        gate = ApprovalGate(allow_bypass=False, threshold=60, ask_at_desk=True, desk_timeout_s=30)
        approvals = _NotifyingApprovals(gate, window, tray)
        window.watch_questions([approvals])
        try:
            # A provider failing: red, about its row.
            desk.upstream.script(*(Reply.error(500),) * 3)
            for _ in range(3):
                await messages_request(desk.runtime, {"X-Caller": "editor"}, status=502)
            tray.redraw()
            # A long job that failed: red, about that job.
            desk.bridge.jobStateChanged.emit("job_failed_1", "anthropic", "running", "local")
            ran[0] += 3600.0  # an hour
            desk.bridge.jobStateChanged.emit("job_failed_1", "anthropic", "failed", "local")
            # A question asked and answered: where each shows.
            deciding = asyncio.get_running_loop().create_task(gate.decide(RISKY))
            await until(lambda: approvals.open_dialogs, "the approval asked")
            (box,) = approvals.open_dialogs.values()
            next(b for b in box.buttons() if b.text() == "Deny").click()
            assert not (await deciding).allowed
            # A notice of the engine's without a topic, and the desk's own.
            desk.runtime.engine.events.publish(Notice("warning", "Something to see"))
            desk.bridge.notice.emit("info", "Copied the endpoint")
            window.show_page(NotificationsPage.KEY)
            page = window.pages[NotificationsPage.KEY]
            assert isinstance(page, NotificationsPage)
            entries = {e.text.split(":")[0]: e for e in window.notifications.entries()}
            failing = entries["Calls to Anthropic are failing"]
            assert (failing.level, failing.place, failing.detail) == (
                "error",
                "providers",
                "anthropic",
            )
            job = entries["Job failed"]
            assert (job.level, job.place, job.detail) == ("error", "jobs", "job_failed_1")
            asked = entries["Approval needed"]
            assert asked.place == "approval" and asked.detail
            denied = next(e for e in entries.values() if e.text.startswith("Denied"))
            assert (denied.place, denied.detail) == ("recorder", RISKY.provider)
            assert entries["Something to see"].place  # the page shown then
            assert entries["Copied the endpoint"].place

            await until(lambda: page.table.rowCount() == len(entries), "the rows")
            table = page.table
            for row in range(table.rowCount()):
                button = page.open_button(row)
                words = table.item(row, 3)
                assert words is not None and button is not None, row
                # Open right before the words it opens, at 1920 px as at any width.
                cell = table.visualRect(table.model().index(row, 3))
                right = button.mapTo(table.viewport(), button.rect().topRight()).x()
                assert 0 <= cell.left() - right <= 16, (words.text(), cell.left() - right)
            assert not table.horizontalScrollBar().isVisible()

            # The answered question's "waits for you" opens where its answer shows.
            page.open_entry(asked)
            assert window.current_page.KEY == "recorder"
        finally:
            approvals.detach()

    on_tray(body, size=(1920, 1080), seconds=lambda: ran[0])


def test_the_trays_alert_lines_are_whole_and_name_every_budget_past_its_limit(
    on_tray: OnTray,
) -> None:
    """Review 41-2, finding 9: the tray cut its alert lines ("…2 of …", "8 of 110 c…") and
    listed one of the two budgets used up."""

    caller = "claude-code-on-the-laptop"  # a long name, as an agent's can be

    async def body(desk: Desk, window: MainWindow, tray: TrayIcon, _popped: Popped) -> None:
        await messages_request(desk.runtime, {"X-Caller": caller})
        tiny = {"unit": "tokens", "period": "daily", "hard": 1}  # used up by that call
        await desk.runtime.engine.budgets.replace(
            LOCAL_CALLER, [{"scope": "global"} | tiny, {"scope": f"agent={caller}"} | tiny]
        )
        desk.upstream.script(*(Reply.error(500),) * 8)
        await desk.runtime.engine.budgets.replace(LOCAL_CALLER, [])  # let them through
        for _ in range(8):
            await messages_request(desk.runtime, {"X-Caller": "other"}, status=502)
        await desk.runtime.engine.budgets.replace(
            LOCAL_CALLER,
            [{"scope": "global"} | tiny, {"scope": f"agent={caller}"} | tiny],
        )
        tray.redraw()
        alerts = tray.alerts
        (provider,) = alerts.lines
        assert provider.text() == "Anthropic: failing · 8 in a row, upstream_500"
        budgets = [a for a in [alerts.budget, *alerts.more_budgets] if a.isVisible()]
        said = [a.text() for a in budgets]
        assert len(said) == 2, said
        assert any("global" in t for t in said) and any(f"agent {caller}" in t for t in said)
        assert all(t.endswith("(exceeded: calls refused)") for t in said), said
        for action in [provider, *budgets]:
            assert not action.text().endswith("…"), action.text()
            assert action.toolTip() == action.text()
        menu = tray.menu.actions()
        assert all(menu.index(a) < menu.index(desk.actions.pause_all) for a in budgets)

    on_tray(body)
