"""What a person does on the Keys page, step by step, for the tests that drive it: open the
new-key dialog, create the key typed there, revoke the chosen key."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog, SecretDialog
from llmgw_desktop.ui.pages.keys import COLUMNS, KeysPage
from llmgw_desktop.ui.qt import Qt
from tests.waiting import until

__all__ = ["create_key", "open_new_key", "revoke_chosen"]

LEFT = Qt.MouseButton.LeftButton


async def open_new_key(page: KeysPage, qtbot: QtBot, what: str) -> NewKeyDialog:
    """Click New key; the dialog it opens."""
    qtbot.mouseClick(page.new_button, LEFT)
    dialog = await until(lambda: page.dialog, what)
    assert isinstance(dialog, NewKeyDialog)
    return dialog


async def create_key(page: KeysPage, dialog: NewKeyDialog, qtbot: QtBot, what: str) -> SecretDialog:
    """Click Create in the filled-in dialog; the dialog that shows the secret once."""
    qtbot.mouseClick(dialog.create_button, LEFT)
    shown = await until(lambda: page.secret_dialog, what)
    assert isinstance(shown, SecretDialog)
    return shown


async def revoke_chosen(page: KeysPage, qtbot: QtBot, what: str) -> None:
    """Click Revoke on the chosen key (the first row), confirm it, and wait for the row to
    say so."""
    qtbot.mouseClick(page.revoke_button, LEFT)
    box = await until(lambda: page.confirm, what)
    revoke = next(b for b in box.buttons() if b.text() == "Revoke")
    qtbot.mouseClick(revoke, LEFT)
    await until(
        lambda: page.table.item(0, COLUMNS.index("State")).text() == "revoked",  # type: ignore[union-attr]
        "revoked on the page",
    )
