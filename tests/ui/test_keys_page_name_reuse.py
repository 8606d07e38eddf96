"""The Keys page when a new key is typed under a revoked key's name (qasync, offscreen): the
engine refuses it in the dialog, which then offers, beside the refusal, to continue that
identity for the same holder, naming it; another name withdraws the offer, and ticking it
makes the key under the old principal."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import LOCAL_CALLER, KeySpec
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.keys import KeysPage
from llmgw_desktop.ui.qt import Qt
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.keys_page_steps import create_key, open_new_key
from tests.waiting import until


def test_a_revoked_keys_name_is_refused_then_continued_only_when_ticked(
    on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        keys = desk.runtime.engine.keys
        await keys.create(LOCAL_CALLER, KeySpec(name="desk-tool"))
        await keys.revoke(LOCAL_CALLER, "desk-tool")
        page = shown_page(window, KeysPage)
        dialog = await open_new_key(page, qtbot, "the new-key dialog")
        assert dialog.continues.isHidden()
        qtbot.keyClicks(dialog.name, "desk-tool")
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        await until(lambda: not dialog.problem.isHidden(), "the refusal")
        assert "an earlier key was named 'desk-tool'" in dialog.problem.text()
        assert not dialog.continues.isHidden() and not dialog.continues.isChecked()
        assert "key:desk-tool" in dialog.continues.text()
        # Typing another name withdraws the offer (it was about that name's holder).
        dialog.continues.setChecked(True)
        qtbot.keyClicks(dialog.name, "-2")
        assert dialog.continues.isHidden() and not dialog.spec().continues_identity
        dialog.name.setText("desk-tool")
        assert not dialog.spec().continues_identity
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        await until(lambda: not dialog.continues.isHidden(), "the offer again")
        dialog.continues.setChecked(True)
        shown = await create_key(page, dialog, qtbot, "the secret, shown once")
        assert shown.made.record.principal == "key:desk-tool"
        assert shown.made.record.name == "desk-tool"
        shown.accept()

    on_window(body, size=(1024, 700), show=False)
