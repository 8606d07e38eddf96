"""The safe choice is the default (gallery review, finding 3): a key press that lands on
whatever has the focus, or on a dialog's default button, never pauses every provider nor
throws away a key shown only once.

- Overview's "Pause all providers" switch was the focus when the Overview opened with the
  focus on the page before it (Qt hands the focus of a hidden page to the next control in the
  chain, the new page's first): one Space paused everything. The focus goes to the
  navigation instead.
- The new-key dialog's default button was Close while the key, shown only once, was on
  screen: Enter threw it away. Enter copies it; Close is pressed on purpose.
"""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.jobs import JobsPage
from llmgw_desktop.ui.pages.keys import KeysPage
from llmgw_desktop.ui.qt import QApplication, QGuiApplication, Qt
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.keys_page_steps import create_key, open_new_key
from tests.waiting import until


def test_opening_the_overview_from_another_page_never_focuses_pause_all(
    on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        window.activateWindow()
        jobs = shown_page(window, JobsPage)
        jobs.search.setFocus(Qt.FocusReason.TabFocusReason)
        await until(lambda: jobs.search.hasFocus(), "the focus in the Jobs search box")
        qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: window.current_page is window.overview, "the Overview shown")
        pause = window.overview.pause_switch
        assert not pause.hasFocus()
        assert QApplication.focusWidget() is window.nav
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
        assert not pause.isChecked() and not desk.runtime.engine.providers.paused

    on_window(body)


def test_enter_in_the_new_key_dialog_copies_the_key_and_keeps_it_on_screen(
    on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        page = shown_page(window, KeysPage)
        dialog = await open_new_key(page, qtbot, "the new-key dialog")
        dialog.name.setText("enter-test")
        shown = await create_key(page, dialog, qtbot, "the key shown once")
        assert shown.copy_key.isDefault() and not shown.close_button.isDefault()
        assert not shown.close_button.autoDefault()
        QGuiApplication.clipboard().clear()
        focused = shown.focusWidget() or shown
        qtbot.keyClick(focused, Qt.Key.Key_Return)
        assert shown.isVisible()  # still there: the key is not thrown away
        assert QGuiApplication.clipboard().text() == shown.made.secret
        shown.close_button.click()

    on_window(body)
