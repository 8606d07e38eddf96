"""The first-run guide: shown once, on the desktop app's first launch, so a new user is not
left with an empty chart and a row of checkboxes.

It walks through four steps, each titled "Step n of 4" (`first_run_steps.py`,
`first_run_server.py`), what works first: the API keys found (and storing one more in the vault
after a test call), the coding CLIs found on this machine (the installed ones listed, the rest
folded under one line, each with a Copy button for its install command), a server of your own
(optional), and Connect. Every step can be skipped;
skipping or finishing marks the guide done in `ui.ini` in the data folder, so it never comes
back by itself. The window's Help menu opens it again. The headless gateway never shows it:
only `DesktopApp` builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.ui.first_run_server import ServerStep
from llmgw_desktop.ui.first_run_steps import ClisStep, ConnectStep, KeysStep
from llmgw_desktop.ui.qt import QSettings, QWidget, QWizard
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["DONE_KEY", "FirstRunGuide", "guide_due", "mark_guide_done"]

DONE_KEY = "firstRun/done"
GUIDE_SIZE = (760, 560)


def _state(data_dir: Path) -> QSettings:
    # The window's own file: one place per data folder for what the desk remembers.
    return QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)


def guide_due(data_dir: Path) -> bool:
    """True until the guide has been finished or skipped once for this data folder."""
    return str(_state(data_dir).value(DONE_KEY, "false")).lower() != "true"


def mark_guide_done(data_dir: Path) -> None:
    state = _state(data_dir)
    state.setValue(DONE_KEY, "true")
    state.sync()


class FirstRunGuide(QWizard):
    """Four skippable steps; Finish calls `on_finish` (the app shows the Connect page)."""

    def __init__(
        self,
        engine: Engine,
        *,
        endpoint: str,
        data_dir: Path,
        on_finish: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunGuide")
        self.setWindowTitle("Welcome to llmgw-desktop")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        # Leaving is always one key away (Escape) and never stores anything.
        self.setButtonText(QWizard.WizardButton.CancelButton, "Skip guide")
        self.setButtonText(QWizard.WizardButton.FinishButton, "Open Connect")
        self.resize(*GUIDE_SIZE)
        self.tasks = UiTasks(on_error=self._show_error)
        self.clis = ClisStep(engine, self.tasks)
        self.keys = KeysStep(engine, self.tasks)
        self.server_step = ServerStep(
            engine, self.tasks, on_added=lambda: self.tasks.spawn(self.keys.load())
        )
        self.keys.server = self.server_step.server
        self.connect_step = ConnectStep(endpoint, engine, self.tasks)
        # What works first: the key a person has before a dozen CLIs they have not installed.
        steps = (self.keys, self.clis, self.server_step, self.connect_step)
        for number, step in enumerate(steps, start=1):
            # Where the person is, and how much is left.
            step.setTitle(f"Step {number} of {len(steps)} · {step.title()}")
            self.addPage(step)
        self._data_dir = data_dir
        self._on_finish = on_finish
        self.finished.connect(self._closed)

    def _closed(self, result: int) -> None:
        # Finished or skipped, the guide has had its say; the Help menu brings it back.
        mark_guide_done(self._data_dir)
        self.tasks.cancel_all()
        if result == QWizard.DialogCode.Accepted:
            self._on_finish()

    def _show_error(self, message: str) -> None:
        self.keys.result_label.setText(message)
