"""What closing the window means on a desktop with no system tray (GNOME's default), asked
before it happens.

With a tray, closing the window only hides it: the gateway keeps serving and the tray brings
the window back. Without one, a closed window left nothing on screen, so closing it stopped
the gateway without a word, and every tool pointed at it failed. Now the first close asks:
**Keep serving** hides the window and the gateway goes on (opening llmgw-desktop again from
the applications menu, or running it, brings the window back: a second launch asks the first
to show itself), **Quit** stops the gateway, **Cancel** leaves the window open. "Do not ask
again" keeps the answer in `ui.ini` (`window/closeWithoutTray`); Gateway → Quit always quits.
The dialog is opened without a nested loop: its answer comes back as a signal.
"""

from __future__ import annotations

from llmgw_desktop.ui.qt import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSettings,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = ["CLOSE_CHOICE_KEY", "KEEP", "QUIT", "CloseWithoutTray", "remembered_choice"]

CLOSE_CHOICE_KEY = "window/closeWithoutTray"
KEEP = "keep"
QUIT = "quit"
WORDS = (
    "This desktop has no system tray, so there is nothing left on screen once the window "
    "closes.\n\n"
    "Keep serving: the window goes away and the gateway goes on, for your tools and editors. "
    "Open llmgw-desktop again from the applications menu to bring the window back; "
    "Gateway → Quit stops it.\n\n"
    "Quit: the gateway stops, and the tools pointed at it stop working until it starts again."
)


def remembered_choice(state: QSettings) -> str:
    """The answer kept from an earlier close ("keep", "quit"), or "" to ask."""
    value = str(state.value(CLOSE_CHOICE_KEY, "") or "")
    return value if value in (KEEP, QUIT) else ""


class CloseWithoutTray(QDialog):
    """Keep serving, Quit or Cancel; `chosen("keep" | "quit")` once answered (not on
    Cancel), the answer kept in `state` when "Do not ask again" is ticked."""

    chosen = Signal(str)

    def __init__(self, state: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closeWithoutTray")
        self.setWindowTitle("Keep the gateway serving?")
        self._state = state
        words = QLabel(WORDS)
        words.setWordWrap(True)
        words.setMinimumWidth(420)
        self.remember = QCheckBox("Do not ask again")
        self.remember.setObjectName("rememberCloseChoice")
        buttons = QDialogButtonBox()
        self.keep_button = QPushButton("Keep serving")
        self.keep_button.setObjectName("keepServing")
        self.keep_button.setDefault(True)
        self.quit_button = QPushButton("Quit")
        self.quit_button.setObjectName("quitGateway")
        buttons.addButton(self.keep_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.quit_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        self.keep_button.clicked.connect(lambda: self._answer(KEEP))
        self.quit_button.clicked.connect(lambda: self._answer(QUIT))
        column = QVBoxLayout(self)
        column.addWidget(words)
        column.addWidget(self.remember)
        column.addWidget(buttons)

    def _answer(self, choice: str) -> None:
        if self.remember.isChecked():
            self._state.setValue(CLOSE_CHOICE_KEY, choice)
            self._state.sync()
        self.accept()
        self.chosen.emit(choice)
