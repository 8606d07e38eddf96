"""The Provider keys page's "Add an auth file": a coding tool's login file (Codex's `auth.json`,
Claude Code's `.credentials.json` ...) sealed in the vault, so a run of that tool through the
gateway logs in with it (the file is put in a private folder for the run, then removed).

The person picks the tool and the file (a file dialog opened without a nested loop: its
choice comes back as a signal); the file is read here and stored through the vault's own
`store_file`, which checks its name and size. A file the vault refuses, or one that cannot be
read, is said under the box and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from llmgw_desktop.engine.api import AUTH_HOMES, GLOBAL_PROJECT, LOCAL_CALLER, Engine, EngineError
from llmgw_desktop.ui.qt import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["AuthFileBox"]

log = logging.getLogger(__name__)

MAX_READ_BYTES = 1_048_576  # read no more than this; the vault refuses what it finds too big


class AuthFileBox(QGroupBox):
    """Choose a coding tool and its auth file; `stored(provider, file name)` once kept."""

    stored = Signal(str, str)

    def __init__(
        self,
        engine: Engine,
        tasks: UiTasks,
        project_of: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Add an auth file for a coding tool", parent)
        self.setObjectName("authFileBox")
        self._engine = engine
        self._tasks = tasks
        self._project_of = project_of
        self.tool_box = QComboBox()
        self.tool_box.setObjectName("authFileTool")
        for state in engine.providers.states():
            if state.is_cli and state.id in AUTH_HOMES:
                self.tool_box.addItem(state.display_name, state.id)
        self.choose_button = QPushButton("Choose file…")
        self.choose_button.setObjectName("chooseAuthFile")
        self.choose_button.setToolTip(
            "A tool's login file, such as ~/.codex/auth.json or ~/.claude/.credentials.json"
        )
        self.choose_button.clicked.connect(self.choose_file)
        self.note = QLabel()
        self.note.setObjectName("authFileNote")
        self.note.setWordWrap(True)
        self.dialog: QFileDialog | None = None
        row = QHBoxLayout()
        row.addWidget(self.choose_button)
        row.addStretch(1)
        form = QFormLayout(self)
        form.addRow("Tool", self.tool_box)
        form.addRow("File", row)
        form.addRow("", self.note)

    def choose_file(self) -> QFileDialog:
        """Open the file dialog (not modal, no nested loop); a choice stores the file."""
        dialog = QFileDialog(self, "Choose the tool's auth file", str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, False)
        dialog.fileSelected.connect(lambda path: self.add_file(Path(path)))
        dialog.open()
        self.dialog = dialog
        return dialog

    def add_file(self, path: Path) -> None:
        """Read `path` and store it in the vault for the chosen tool (in the background)."""
        provider = str(self.tool_box.currentData() or "")
        if not provider:
            self._say("Choose the tool the file is for first.", error=True)
            return
        try:
            with path.open("rb") as handle:
                content = handle.read(MAX_READ_BYTES + 1)
        except OSError as exc:
            self._say(f"Could not read {path}: {exc.strerror or exc}", error=True)
            return
        self._say(f"Storing {path.name}…")
        self._tasks.spawn(self._store(provider, path.name, content), what="store the auth file")

    async def _store(self, provider: str, name: str, content: bytes) -> None:
        project = self._project_of() or GLOBAL_PROJECT
        try:
            await self._engine.vault.store_file(
                LOCAL_CALLER, provider, name, content, project=project
            )
        except EngineError as exc:
            self._say(f"Not stored: {exc.message}", error=True)
            return
        log.info("auth file %s for %s stored from the dashboard", name, provider)
        tool = self.tool_box.currentText()
        self._say(f"{name} is in the vault: {tool} runs through the gateway log in with it.")
        self.stored.emit(provider, name)

    def _say(self, text: str, *, error: bool = False) -> None:
        set_tone(self.note, "error" if error else "")
        self.note.setText(text)
