"""The notification history: what the tray and the status bar said, newest first, bounded.

The log is checked alone with a fake clock; the page, on the real desktop app with its tray,
after real events: an approval question (a tray balloon), an engine notice, and an action's
status-bar message. The offscreen platform has no notification server, so the tray's
`showMessage` is replaced by a spy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.events import Notice
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.notifications import MAX_NOTIFICATIONS, NotificationLog, NotificationsPage
from llmgw_desktop.ui.qt import QSystemTrayIcon
from tests.clock import Clock
from tests.ui.approval_requests import approval_request
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.ui.running_app import OnApp, desktop_app
from tests.waiting import until


def test_the_log_keeps_the_newest_first_and_forgets_the_oldest(qapp: object) -> None:
    clock = Clock(100.0)
    log = NotificationLog(limit=3, clock=clock, now=lambda: datetime(2026, 11, 22, 9, 30))
    for n in range(5):
        clock.now += 5
        log.record("info", f"message {n}")
    assert [e.text for e in log.entries()] == ["message 4", "message 3", "message 2"]
    assert MAX_NOTIFICATIONS == 200  # the app's bound


def test_the_same_text_again_at_once_is_one_notification(qapp: object) -> None:
    """A notice is also shown in the status bar: kept once, with the notice's level."""
    clock = Clock(100.0)
    log = NotificationLog(clock=clock)
    log.record("warning", "Could not save the provider switches")
    log.record("status", "Could not save the provider switches")
    log.record("status", "")  # the status bar clearing itself
    assert [(e.level, e.text) for e in log.entries()] == [
        ("warning", "Could not save the provider switches")
    ]
    clock.now += 60
    log.record("status", "Could not save the provider switches")  # later: a new one
    assert len(log.entries()) == 2


@pytest.fixture
def desktop(loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[DesktopApp]:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_: None)
    settings = loaded.settings.with_values({"http.port": 0})
    with desktop_app(replace(loaded, settings=settings)) as app:
        yield app


RISKY = approval_request(
    "sudo rm -rf /srv/app", full_auto=True, principal="oauth:laptop", caller="Cursor"
)


def test_tray_balloons_notices_and_status_messages_are_listed_newest_first(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> list[list[str]]:
        assert desktop.runtime is not None and desktop.window is not None
        assert desktop.approvals is not None and desktop.tray is not None
        engine = desktop.runtime.engine
        # 1. A question for the person: the tray pops up a balloon.
        deciding = asyncio.get_running_loop().create_task(engine.approvals.decide(RISKY))
        await until(lambda: desktop.approvals.open_dialogs, "approval")
        for box in list(desktop.approvals.open_dialogs.values()):
            next(b for b in box.buttons() if b.text() == "Deny").click()
        assert not (await deciding).allowed
        # 2. An engine notice (shown in the status bar too: listed once).
        engine.events.publish(Notice("warning", "Could not save the provider switches"))
        await until(lambda: len(desktop.window.notifications.entries()) >= 3, "notice")
        # 3. An action's message (a notice of the desk's own).
        desktop.actions.copy_endpoint.trigger()
        await until(lambda: len(desktop.window.notifications.entries()) >= 4, "copied")
        # 4. A page's error, which only the status bar shows.
        desktop.window.pages["providers"].show_error("The claude test call failed")
        await until(lambda: len(desktop.window.notifications.entries()) >= 5, "status")

        # Reachable from the tray: its Open menu shows the page.
        opener = next(a.menu() for a in desktop.tray.menu.actions() if a.text() == "Open")
        next(a for a in opener.actions() if a.text() == "Notifications").trigger()
        page = desktop.window.current_page
        assert isinstance(page, NotificationsPage) and page.empty_label.isHidden()
        return [
            [page.table.item(row, col).text() for col in (0, 1, 3)]
            for row in range(page.table.rowCount())
        ]

    rows = on_app(desktop, body)
    assert [row[1:] for row in rows] == [
        ["status", "The claude test call failed"],
        ["info", f"Copied {desktop.runtime.mcp_url if desktop.runtime else ''}"],
        ["warning", "Could not save the provider switches"],
        # How the question was answered is kept too (review 41, finding 14).
        ["info", "Denied: Cursor (OAuth client laptop)'s risky call on Claude Code."],
        [
            "warning",
            "Approval needed: Cursor (OAuth client laptop) asks Claude Code: the call waits for "
            "your approval.",
        ],
    ]
    assert all(datetime.strptime(row[0], "%H:%M:%S") for row in rows)  # today: the time
