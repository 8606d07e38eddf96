"""One provider-health verdict everywhere (issue 41, review finding 4).

A provider some of whose calls fail "needs a look": the header chip counts it, Overview names
it, the Providers page shows it amber, and the tray lists it first in its menu, all from the
same verdict (`attention.provider_verdicts`), driven by the official `anthropic` SDK through
the real gateway against the scripted upstream. A provider no switch can make answer (no key,
no CLI) is shown as unavailable with why, not as a ticked, greyed check box; the tray's alert
lines are drawn enabled, not greyed.
"""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.attention import NEEDS_A_LOOK, provider_verdicts
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QSystemTrayIcon
from llmgw_desktop.ui.theme import warning_colour
from llmgw_desktop.ui.tray import TrayIcon
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import close_window, desk_gateway
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.ui.waiting import until

OK_CALLS = 4


async def _ask(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )


def test_header_overview_providers_and_tray_agree_on_a_provider_with_some_failing_calls(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *_a: None)  # no pop-ups offscreen
    replies = (*[Reply.ok()] * OK_CALLS, Reply.error(500, "boom"))
    opened: list[tuple[str, str]] = []

    async def scenario() -> None:
        async with desk_gateway(loaded, monkeypatch, tmp_path, replies=replies) as desk:
            engine = desk.runtime.engine
            await engine.budgets.replace(
                LOCAL_CALLER, [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5}]
            )
            window = MainWindow(
                desk.bridge, desk.actions, desk.facts, close_quits=False, on_quit=lambda: None
            )
            qtbot.addWidget(window)
            tray = TrayIcon(desk.bridge, desk.actions, desk.facts.endpoint)
            tray.opened.connect(lambda place, detail: opened.append((place, detail)))
            try:
                window.resize(1024, 700)
                window.show()
                client = anthropic.AsyncAnthropic(
                    base_url=desk.runtime.base_url, api_key="unused", max_retries=0, timeout=30
                )
                for _ in range(OK_CALLS):
                    await _ask(client)
                with pytest.raises(anthropic.InternalServerError):
                    await _ask(client)  # one of five failed: not failing, but worth a look
                await client.close()

                (verdict,) = provider_verdicts(engine)
                assert (verdict.provider, verdict.level) == ("anthropic", NEEDS_A_LOOK)

                # The header: counted, amber, never "Providers OK".
                window.header.redraw()
                chip = window.header.chips["providers"]
                assert chip.text() == "1 needs a look" and chip.property("tone") == "warning"
                assert "Anthropic (needs a look): the last call failed" in chip.toolTip()

                # Overview names it, in amber.
                overview = window.overview
                overview.refresh_status()
                line = overview.failing_label.accessibleName()
                assert line.startswith(f"Anthropic ({NEEDS_A_LOOK}): the last call failed"), line
                assert warning_colour() in overview.failing_label.text()  # its line in amber

                # The Providers page: the same words, amber.
                chip.click()
                providers = window.pages[ProvidersPage.KEY]
                assert isinstance(providers, ProvidersPage)
                await until(
                    lambda: (
                        (row := providers.selected_row()) is not None
                        and row.switch_id == "anthropic"
                        and row.status == "Some calls fail"
                    ),
                    "the provider chosen, needing a look",
                )

                # The tray: its menu's first line names it, enabled; a click opens its row.
                tray.redraw()
                assert "Needs a look: Anthropic" in tray.tooltip()
                alert = next(a for a in tray.alerts.providers if "Anthropic" in a.text())
                assert alert.isEnabled() and NEEDS_A_LOOK in alert.text()
                assert not alert.icon().isNull()
                menu = tray.menu.actions()
                assert menu.index(alert) < menu.index(desk.actions.providers["anthropic"])
                alert.trigger()
                assert opened[-1] == ("providers", "anthropic")
                # The budget line is an alert too: enabled, it opens the Budgets page.
                assert tray.budget_action.isVisible() and tray.budget_action.isEnabled()
                tray.budget_action.trigger()
                assert opened[-1] == ("budgets", "")
                # Its switch says so; a provider with no key is unavailable, not a check box.
                switch = desk.actions.providers["anthropic"]
                openai = desk.actions.providers["openai"]
                await until(
                    lambda: switch.text() == "Anthropic (needs a look)", "the switch marked"
                )
                assert switch.isCheckable() and switch.isChecked() and not openai.isCheckable()
                assert openai.text() == "OpenAI (no key)" and not openai.icon().isNull()
                assert engine.providers.is_enabled("openai")  # shown unavailable, left on

                # Switched off, it is not called: no verdict anywhere.
                engine.providers.set_enabled(LOCAL_CALLER, "anthropic", False)
                window.header.redraw()
                tray.redraw()
                assert chip.text() == "Providers OK" and tray.alerts.providers == []
            finally:
                tray.hide()
                close_window(window)

    qloop.run_until_complete(scenario())
