"""The tray menu's length and its figures (review 41-3, finding 25): 23 greyed "(CLI not
installed)" and "(no key)" lines made it about 40 entries long, and it said nothing of the
day's spend. On a real desktop-mode gateway with no CLI on PATH and one API key: the providers
that cannot answer fold into one "Unavailable (N)" submenu, and "Spend today $X" is the
header chip's own figure, the window shown or not."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import format_usd
from llmgw_desktop.ui.qt import QAction, QMenu
from llmgw_desktop.ui.tray import TrayIcon
from tests.ui.desk_gateway import Desk, OnGateway, desk_tray, desk_window, messages_request
from tests.waiting import until


def _top_level(tray: TrayIcon) -> list[QAction]:
    """The entries the menu shows at its top level (separators aside)."""
    return [a for a in tray.menu.actions() if a.isVisible() and not a.isSeparator()]


def _unavailable_menu(tray: TrayIcon) -> QMenu:
    menu = tray.menu.findChild(QMenu, "unavailableProviders")
    assert isinstance(menu, QMenu)
    return menu


def test_providers_that_cannot_answer_fold_into_one_submenu(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        actions = desk.actions
        with desk_tray(desk) as tray:
            tray.menu.aboutToShow.emit()  # opening the menu looks at every provider again
            await until(lambda: not actions.providers["codex"].isEnabled(), "the CLIs looked")
            await until(lambda: not actions.providers["openai"].isEnabled(), "the keys looked")
            unusable = [pid for pid, a in actions.providers.items() if not a.isEnabled()]
            usable = [pid for pid, a in actions.providers.items() if a.isEnabled()]
            assert len(unusable) >= 15 and "anthropic" in usable  # the desk's one key

            shown = _top_level(tray)
            # No greyed provider line at the top: each usable one is its switch there.
            assert not [a for a in shown if a in actions.providers.values() and not a.isEnabled()]
            assert [a for a in shown if a in actions.providers.values()] == [
                actions.providers[pid] for pid in usable
            ]
            submenu = _unavailable_menu(tray)
            assert submenu.menuAction() in shown
            assert submenu.title() == f"Unavailable ({len(unusable)})"
            entries = submenu.actions()
            assert [a.objectName() for a in entries] == [f"unavailable:{p}" for p in unusable]
            assert all(not a.isEnabled() and a.toolTip() for a in entries)
            codex = next(a for a in entries if a.objectName() == "unavailable:codex")
            assert codex.text() == "Codex (CLI not installed)"
            assert "npm install -g @openai/codex" in codex.toolTip()
            # Every one of them was a line of its own; now the menu is shorter by all but one.
            assert len(shown) <= len(actions.providers) - len(unusable) + 12
            # A section none of whose providers can answer has no heading left.
            headings = {a.text(): a.isVisible() for a in tray.menu.actions() if a.isSeparator()}
            assert headings["Coding CLIs"] is False and headings["API providers"] is True

    on_gateway(body)


def test_the_spend_line_is_the_headers_figure_and_opens_budgets(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        await messages_request(desk.runtime, {"X-Caller": "editor"})  # priced: spends
        # A launch into the tray: the window exists but was never shown, so its header has
        # read nothing; opening the menu asks it to.
        with desk_window(desk, qtbot, size=(1024, 700), show=False) as window:
            header = window.header
            with desk_tray(desk, spend=header) as tray:
                line = tray.alerts.spend
                assert line.isVisible() and line.text() == "Spend today …"
                tray.menu.aboutToShow.emit()
                await until(lambda: header.spend is not None, "today's spend read")
                assert header.spend is not None and header.spend.usd > 0
                today = format_usd(header.spend.usd)
                assert line.text() == f"Spend today {today}"
                assert header.chips["spend"].text().startswith(today)
                assert line in _top_level(tray)

                # One more priced request: both follow, by the same addition.
                before = header.spend.usd
                await messages_request(desk.runtime, {"X-Caller": "editor"})
                await until(lambda: header.spend is not None and header.spend.usd > before, "+")
                tray.redraw()
                window.header.redraw()
                today = format_usd(header.spend.usd)
                assert line.text() == f"Spend today {today}"
                assert header.chips["spend"].text().startswith(today)

                opened: list[tuple[str, str]] = []
                tray.opened.connect(lambda place, detail: opened.append((place, detail)))
                line.trigger()
                assert opened == [("budgets", "")]  # where the header's spend chip goes
                # As the app wires it: a line of the menu opens its page in the window.
                tray.opened.connect(window.open_place)
                tray.alerts.stuck.trigger()  # (shown only while a job is stuck: test_jobs_page)
                assert window.current_page.KEY == "jobs"

    on_gateway(body)
