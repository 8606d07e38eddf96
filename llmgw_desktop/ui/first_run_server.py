"""The first-run guide's optional step: an OpenAI-compatible server of your own (another port,
a corporate endpoint) added by its base URL, its models listed first.

Its own step, so the keys step shows its keys whole rather than a table cut in half above two
forms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine, EngineError, ModelEntries, ProviderDraft
from llmgw_desktop.ui.first_run_steps import LABEL_WIDTH
from llmgw_desktop.ui.qt import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["OWN_SERVER_ID", "ServerBox", "ServerStep"]

OWN_SERVER_ID = "my-server"  # the id the guide offers for a server of your own


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    label.setFixedWidth(LABEL_WIDTH)  # the same x as the keys step's fields
    return label


class ServerBox(QGroupBox):
    """An OpenAI-compatible server of your own (another port, a corporate endpoint): its base
    URL and, if it needs one, its key. Add lists its models first and saves only when that
    worked, through the same editor as the Providers page's "Add provider…"."""

    def __init__(
        self, engine: Engine, tasks: UiTasks, *, on_added: Callable[[], object] = lambda: None
    ) -> None:
        super().__init__("Your own OpenAI-compatible server (optional)")
        self.setObjectName("guideServer")
        self._engine = engine
        self._tasks = tasks
        self._on_added = on_added
        self.id_edit = QLineEdit(OWN_SERVER_ID)
        self.id_edit.setObjectName("guideServerId")
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("guideServerUrl")
        self.url_edit.setPlaceholderText("http://127.0.0.1:8001/v1")
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("guideServerKey")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("its key, if it needs one (kept in the vault)")
        self.add_button = QPushButton("&Add server")
        self.add_button.setObjectName("guideAddServer")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._start_add)
        self.result_label = QLabel()
        self.result_label.setObjectName("guideServerResult")
        self.result_label.setWordWrap(True)
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.addRow(_label("&Id", self.id_edit), self.id_edit)
        form.addRow(_label("&Base URL", self.url_edit), self.url_edit)
        form.addRow(_label("Key", self.key_edit), self.key_edit)
        form.addRow("", self.add_button)
        form.addRow("", self.result_label)

    def _say(self, text: str, *, failed: bool) -> None:
        self.result_label.setText(text)
        set_tone(self.result_label, "error" if failed else "")

    def _start_add(self) -> None:
        if not self.url_edit.text().strip():
            self._say("Type the server's base URL first.", failed=True)
            return
        self.add_button.setEnabled(False)
        self._say("Listing its models…", failed=False)
        if not self._tasks.spawn(self.add(), what="add the server"):
            self.add_button.setEnabled(True)

    async def add(self) -> bool:
        """List the server's models, then save it as a provider; False (and why) if not."""
        key = self.key_edit.text().strip()
        draft = ProviderDraft(
            self.id_edit.text().strip(),
            base_url=self.url_edit.text().strip(),
            api_key=key or None,
        )
        editor = self._engine.provider_editor
        try:
            found = await editor.test(LOCAL_CALLER, draft)
            if found.error is not None:
                self._say(f"Not added: {found.error}", failed=True)
                return False
            draft = dataclasses.replace(draft, models=found.models)
            await editor.save(LOCAL_CALLER, draft, ModelEntries(), new=True)
        except EngineError as exc:
            self._say(f"Not added: {exc.message}", failed=True)
            return False
        except (OSError, RuntimeError) as exc:
            self._say(f"Not added: {exc}", failed=True)
            return False
        finally:
            self.add_button.setEnabled(True)
        self.key_edit.clear()
        self._say(
            f"Added {draft.id} with {len(draft.models)} models (use {draft.id}/<model>); "
            "the Providers page edits it.",
            failed=False,
        )
        self._on_added()
        return True


class ServerStep(QWizardPage):
    """A server of your own (optional): its base URL and key, added once its models list."""

    def __init__(
        self,
        engine: Engine,
        tasks: UiTasks,
        *,
        on_added: Callable[[], object] = lambda: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTitle("Your own server (optional)")
        self.setSubTitle(
            "An OpenAI-compatible server (LM Studio, vLLM, a corporate endpoint) served beside "
            "the others, once its model list answers. Skip this step if you have none."
        )
        self.server = ServerBox(engine, tasks, on_added=on_added)
        column = QVBoxLayout(self)
        column.addWidget(self.server)
        column.addStretch(1)
