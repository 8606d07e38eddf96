"""The command palette (Ctrl+K) on the real window and a running gateway, offscreen: a few
letters and Enter reach a page (a tab included), a provider, a gateway key, a recorded request
(found by its id in the whole recorder), a job, and run an action. The palette never waits:
keys, jobs and requests arrive after it opens (awaited here, never a nested loop)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import LOCAL_CALLER, KeyScope, KeySpec
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.keys import KeysPage
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.palette import CommandPalette, Entry, matches
from llmgw_desktop.ui.qt import QApplication, Qt
from tests.ui.desk_gateway import Desk, OnGateway, desk_window, messages_request
from tests.ui.test_jobs_page import _wide_rows
from tests.waiting import until


def _entry(kind: str, title: str, detail: str = "") -> Entry:
    return Entry(kind, title, detail, "next", lambda: None)


def test_every_word_typed_must_match_and_a_title_that_starts_with_it_comes_first() -> None:
    entries = [
        _entry("Page", "Flight recorder"),
        _entry("Page", "Log"),
        _entry("Provider", "Mistral API", "on"),
        _entry("Request", "Request 9f2c", "Mistral API · failed"),
    ]
    assert [e.title for e in matches(entries, "")] == [e.title for e in entries]
    assert [e.title for e in matches(entries, "re")] == ["Request 9f2c", "Flight recorder"]
    assert [e.title for e in matches(entries, "mistral failed")] == ["Request 9f2c"]
    assert [e.title for e in matches(entries, "request")] == ["Request 9f2c"]
    assert matches(entries, "nothing like it") == []


def _type_and_go(qtbot: QtBot, palette: CommandPalette, text: str) -> None:
    palette.search.clear()
    qtbot.keyClicks(palette.search, text)
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)


def test_ctrl_k_reaches_pages_providers_keys_requests_jobs_and_actions(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        await engine.keys.create(LOCAL_CALLER, KeySpec(name="ci-bot", scope=KeyScope.of()))
        await messages_request(desk.runtime, {"X-Caller": "palette-test"})
        (row,) = await engine.recorder.recent(limit=1)
        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            window.windowHandle().requestActivate()
            await until(lambda: QApplication.activeWindow() is window, "the window active")
            # Ctrl+K opens it, empty, the typing in its box.
            qtbot.keyClick(window.nav, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            palette = window.command_palette
            assert palette is not None and palette.isVisible()
            assert palette.search.text() == "" and palette.search.hasFocus()

            _type_and_go(qtbot, palette, "keys")  # a page
            assert window.current_page.KEY == KeysPage.KEY and not palette.isVisible()
            window.open_palette()
            _type_and_go(qtbot, palette, "notif")  # a tab of the Log place
            assert window.current_page.KEY == "notifications"

            window.open_palette()  # a provider, selected on its page
            _type_and_go(qtbot, palette, "anthropic")
            providers = window.pages[ProvidersPage.KEY]
            assert isinstance(providers, ProvidersPage)
            assert window.current_page is providers
            await until(lambda: providers.selected_row() is not None, "the provider chosen")
            assert providers.selected_row().switch_id == "anthropic"  # type: ignore[union-attr]

            window.open_palette()  # a key: read when the palette opened
            qtbot.keyClicks(palette.search, "ci-bot")
            await until(lambda: palette.shown() and palette.shown()[0].kind == "Key", "key")
            qtbot.keyClick(palette.search, Qt.Key.Key_Return)
            keys = window.pages[KeysPage.KEY]
            assert isinstance(keys, KeysPage)
            await until(lambda: keys.selected() is not None, "the key chosen")
            assert keys.selected().name == "ci-bot"  # type: ignore[union-attr]

            window.open_palette()  # a recorded request, found by its id
            qtbot.keyClicks(palette.search, row["id"][:10])
            await until(lambda: any(e.kind == "Request" for e in palette.shown()), "the request")
            assert palette.shown()[0].key == row["id"]
            qtbot.keyClick(palette.search, Qt.Key.Key_Return)
            recorder = window.pages[RecorderPage.KEY]
            assert isinstance(recorder, RecorderPage)
            assert window.current_page is recorder
            await until(lambda: row["id"] in recorder.detail.toPlainText(), "its details")

            # A job: the palette's entry opens it on the Jobs page, found by its id.
            jobs = window.pages[JobsPage.KEY]
            assert isinstance(jobs, JobsPage)
            job = _wide_rows(0.0)[1]
            window.open_palette()
            palette._loaded.append(palette._job_entry(job))  # as the listing gives it
            _type_and_go(qtbot, palette, "job_00000001")
            assert window.current_page is jobs
            assert jobs.search.text() == "job_00000001"

            # An action: pause every provider, as the tray's switch does.
            window.open_palette()
            _type_and_go(qtbot, palette, "pause all")
            assert engine.providers.paused
            # Escape closes it, going nowhere.
            shown = window.current_page
            window.open_palette()
            qtbot.keyClicks(palette.search, "settings")
            qtbot.keyClick(palette.search, Qt.Key.Key_Escape)
            assert not palette.isVisible() and window.current_page is shown

    on_gateway(body)


def test_nothing_matched_is_said_not_a_blank_box(on_gateway: OnGateway, qtbot: QtBot) -> None:
    async def body(desk: Desk) -> None:
        with desk_window(desk, qtbot, size=(1024, 700)) as window:
            palette = window.open_palette()
            qtbot.keyClicks(palette.search, "qqzzxx")  # an id's length: the recorder is searched
            assert palette.results.count() == 0
            assert palette.empty.isVisible() and not palette.results.isVisible()
            assert "Nothing matches “qqzzxx”" in palette.empty.text()
            await until(lambda: "Looking" not in palette.empty.text(), "the search ended")
            assert "Nothing matches “qqzzxx”" in palette.empty.text()
            assert not palette.go()  # Enter on nothing does nothing
            palette.search.clear()
            assert palette.results.isVisible() and not palette.empty.isVisible()
            assert palette.results.count() > 0

    on_gateway(body)
