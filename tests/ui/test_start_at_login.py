"""Start at login from the desk: a login start stays in the tray, and the switch in the tray
menu and on the Settings page shows and changes the OS's own entry (a temporary XDG dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
import qasync

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell import app as app_module
from llmgw_desktop.shell.autostart import XdgAutostart
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from tests.ui.running_app import app_running, desktop_app


def test_hidden_start_shows_only_the_tray_and_both_switches_follow_the_os(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Offscreen Qt has no system tray; a desktop at login does.
    monkeypatch.setattr(app_module.QSystemTrayIcon, "isSystemTrayAvailable", lambda: True)
    login = XdgAutostart(tmp_path / "config", ["/opt/llmgw-desktop/llmgw-desktop", "--hidden"])
    with desktop_app(loaded, hidden=True, autostart=login) as desktop:

        async def scenario() -> None:
            async with app_running(desktop):
                tray = desktop.tray
                assert tray is not None
                window = desktop.window
                assert window is not None and not window.isVisible()  # a login start: tray only
                switch = tray.login_action
                assert switch is not None and switch.text() == "Start at login (in the tray)"
                assert switch.isCheckable() and not switch.isChecked()
                assert switch in tray.menu.actions()

                switch.trigger()  # on, from the tray
                assert login.is_enabled() and switch.isChecked()
                assert "--hidden" in login.path.read_text()

                page = window.pages["settings"]
                assert isinstance(page, SettingsPage)
                window.show_page("settings")
                assert page.login_switch.isVisible() and page.login_switch.isChecked()
                page.login_switch.click()  # off, from Settings
                assert not login.path.exists() and not page.login_switch.isChecked()
                assert page.message_label.text() == "llmgw-desktop will not start when you log in."
                tray.menu.aboutToShow.emit()  # the tray re-reads it when its menu opens
                assert not switch.isChecked()

                login.path.parent.mkdir(parents=True, exist_ok=True)
                # The desktop switched it off.
                login.path.write_text("[Desktop Entry]\nHidden=true\n")
                login.enable()  # and back on by hand
                window.show_page("overview")
                window.show_page("settings")
                assert page.login_switch.isChecked()

        qloop.run_until_complete(scenario())
