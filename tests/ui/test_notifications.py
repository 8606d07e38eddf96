"""The notification history: what the tray and the status bar said, newest first, bounded.

The log is checked alone with a fake clock; the page, on the real desktop app with its tray,
after real events: an approval question (a tray balloon), an engine notice, and an action's
status-bar message. The offscreen platform has no notification server, so the tray's
`showMessage` is replaced by a spy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.events import Notice
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.notifications import (
    HISTORY_FILE,
    MAX_NOTIFICATIONS,
    NotificationFile,
    NotificationLog,
    NotificationsPage,
    when_text,
)
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


def test_the_history_outlives_the_log_and_stays_bounded_on_disk(
    qapp: object, tmp_path: Path
) -> None:
    path = tmp_path / "data" / HISTORY_FILE
    clock = Clock(100.0)
    first = NotificationLog(limit=3, clock=clock, file=NotificationFile(path, limit=3))
    for n in range(20):
        clock.now += 5
        first.record("warning" if n % 2 else "info", f"message {n}", "budgets", f"d{n}")
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().splitlines()) <= 6  # rewritten at twice the history
    # A new start: the last three, newest first, with their level, place and time.
    second = NotificationLog(limit=3, file=NotificationFile(path, limit=3))
    entries = second.entries()
    assert [(e.level, e.text, e.place, e.detail) for e in entries] == [
        ("warning", "message 19", "budgets", "d19"),
        ("info", "message 18", "budgets", "d18"),
        ("warning", "message 17", "budgets", "d17"),
    ]
    assert entries == first.entries()


def test_a_history_file_with_foreign_lines_loses_only_those(
    qapp: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / HISTORY_FILE
    kept = '{"at": "2026-11-29T23:05:00", "level": "error", "text": "Anthropic is failing"}'
    path.write_text(
        f'not json\n{{"at": "yesterday", "level": "info", "text": "x"}}\n{kept}\n'
        '{"at": "2026-11-29T23:06:00", "level": 3, "text": "a number"}\n\xff\n'
    )
    log = NotificationLog(file=NotificationFile(path))
    assert [(e.at, e.text) for e in log.entries()] == [
        (datetime(2026, 11, 29, 23, 5).astimezone(), "Anthropic is failing")
    ]
    assert "4 line(s)" in caplog.text and HISTORY_FILE in caplog.text
    log.record("info", "after")  # appended beside what was there: nothing is lost
    assert path.read_text().startswith("not json\n")


def test_a_history_that_cannot_be_written_is_kept_in_memory_and_said_once(
    qapp: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "history"
    folder.mkdir()
    path = folder / HISTORY_FILE
    path.mkdir()  # a folder where the file should be: every write fails
    clock = Clock(100.0)
    log = NotificationLog(clock=clock, file=NotificationFile(path))
    for n in range(3):
        clock.now += 5
        log.record("info", f"message {n}")
    assert [e.text for e in log.entries()] == ["message 2", "message 1", "message 0"]
    said = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(said) == 1 and "in memory" in said[0].getMessage()


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


def test_the_page_lists_what_was_shown_before_a_restart(
    on_app: OnApp, loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person back at the desk after a restart (an update, a reboot) finds what the tray
    told overnight: the page was empty after every start."""
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_: None)
    settings = replace(loaded, settings=loaded.settings.with_values({"http.port": 0}))

    async def tell(desktop: DesktopApp) -> None:
        assert desktop.runtime is not None and desktop.window is not None
        notice = Notice("warning", "Budget global reached 80% of $5.00 today", topic="budget")
        desktop.runtime.engine.events.publish(notice)
        await until(lambda: desktop.window.notifications.entries(), "the notice kept")

    async def read(desktop: DesktopApp) -> list[tuple[str, str, bool]]:
        assert desktop.window is not None
        page = desktop.window.pages[NotificationsPage.KEY]
        assert isinstance(page, NotificationsPage) and page.empty_label.isHidden()
        return [
            (
                page.table.item(row, 1).text(),
                page.table.item(row, 3).text(),
                bool(page.open_button(row)),
            )
            for row in range(page.table.rowCount())
        ]

    with desktop_app(settings) as first:
        on_app(first, tell)
    with desktop_app(settings) as second:
        rows = on_app(second, read)
    assert rows == [("warning", "Budget global reached 80% of $5.00 today", True)]


def test_a_budget_already_used_up_at_start_is_told_on_the_desk(
    on_app: OnApp, qloop: object, loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Person pass, 2026-11-30: a hard budget already past its limit when the app started was
    told by the engine while it started, before the desk listened: Notifications never said
    it, though every page showed the budget refusing."""
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_: None)
    budget = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 30}
    settings = loaded.settings.with_values({"http.port": 0, "budgets": [budget]})

    async def spend_past_it() -> None:
        engine = Engine(settings)
        await engine.start()
        try:
            record = engine.recorder.start(principal="local", provider="claude", caller="cli")
            engine.recorder.finish(record, state="completed", input_tokens=40)
            await until(lambda: engine.budgets.statuses()[0].spent == 40, "the spend counted")
        finally:
            await engine.stop()

    assert isinstance(qloop, asyncio.AbstractEventLoop)
    qloop.run_until_complete(spend_past_it())

    async def read(desktop: DesktopApp) -> list[tuple[str, str]]:
        assert desktop.window is not None
        log = desktop.window.notifications
        await until(lambda: log.entries(), "a notification")
        return [(e.level, e.text) for e in log.entries()]

    with desktop_app(replace(loaded, settings=settings)) as app:
        told = on_app(app, read)
    assert [level for level, text in told if text.startswith("Budget global")] == ["error"], told


def test_a_notification_keeps_its_moment_when_the_time_zone_changes(
    qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Times were stored as the clock read them, with no zone: after a flight (or a summer
    time change) a notification read an hour or more off, or on another day."""
    path = tmp_path / HISTORY_FILE
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        NotificationLog(file=NotificationFile(path)).record("info", "said in Paris")
        said = datetime.now(UTC)
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
        (entry,) = NotificationLog(file=NotificationFile(path)).entries()
        assert abs((entry.at - said).total_seconds()) < 60
        local = entry.at.astimezone()
        assert when_text(entry.at, datetime.now().astimezone()) == local.strftime("%H:%M:%S")
        # A line of the old form (no zone) is read as this machine's local time, as written.
        path.write_text('{"at": "2026-11-29T23:05:00", "level": "info", "text": "old"}\n')
        (old,) = NotificationLog(file=NotificationFile(path)).entries()
        assert old.at.astimezone(UTC) == datetime(2026, 11, 30, 4, 5, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
