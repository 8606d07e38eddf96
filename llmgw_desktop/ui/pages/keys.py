"""Keys: the gateway keys, one per tool or person; make, rotate and revoke them.

A key is its own principal (`key:<name>`): the recorder, the Agents page and budgets tell keys
apart. The list is read from the store through the engine (operator only) when the page is
shown and after each change; a key made by `llmgw-desktop keys` or another gateway on the same
store appears at the next refresh. Revoking asks first, the safe choice (Cancel) the default,
as the Clients page's revoke does; it counts at once in every gateway on the store.
"""

from __future__ import annotations

import logging
import time

from llmgw_desktop.engine.api import LOCAL_CALLER, EngineError, KeyRecord, MadeKey
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.connect_page import base_url_of
from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog, SecretDialog, named
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)

__all__ = ["COLUMNS", "KeysPage"]

log = logging.getLogger(__name__)

COLUMNS = ("Name", "Key", "State", "May reach", "Budget", "Rate", "Expires", "Last used")
REFRESH_MS = 5000


def _when(timestamp: float | None, never: str = "never") -> str:
    if timestamp is None:
        return never
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class KeysPage(Page):
    KEY = "keys"
    TITLE = "Keys"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.records: list[KeyRecord] = []
        self.dialog: NewKeyDialog | None = None
        self.secret_dialog: SecretDialog | None = None
        self.confirm: QMessageBox | None = None
        intro = named(
            QLabel(
                "A key per tool or person: each is its own principal in the recorder and budgets, "
                "reaches only the models, providers, projects and MCP tools you give it, and can "
                "be revoked at once. Clients send it as their API key (Bearer, x-api-key or "
                "x-goog-api-key)."
            ),
            "",
            wordWrap=True,
        )
        self.table = named(QTableWidget(0, len(COLUMNS)), "keysTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("May reach"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.new_button = named(QPushButton("New key…"), "newKey")
        self.rotate_button = named(QPushButton("Rotate"), "rotateKey")
        self.rotate_button.setToolTip("A new secret under the same name; the old one stops now")
        self.revoke_button = named(QPushButton("Revoke…"), "revokeKey")
        self.new_button.clicked.connect(self.open_new_key)
        self.rotate_button.clicked.connect(self._rotate_selected)
        self.revoke_button.clicked.connect(self.confirm_revoke)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.rotate_button)
        buttons.addWidget(self.revoke_button)
        self.notice = named(QLabel(), "keysNotice", wordWrap=True)
        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addLayout(buttons)
        column.addWidget(self.table, 1)
        column.addWidget(self.notice)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)
        self._update_buttons()

    @property
    def base_url(self) -> str:
        return base_url_of(self.context.facts.endpoint, self.engine.settings.http.path)

    def page_shown(self) -> None:
        self.request_refresh()
        self._timer.start()

    def page_hidden(self) -> None:
        self._timer.stop()

    def request_refresh(self) -> None:
        self.tasks.spawn(self.refresh(), what="load the gateway keys")

    async def refresh(self) -> None:
        """Reload the list from the store (on the database thread)."""
        selected = self.selected()
        self.records = await self.engine.keys.list(LOCAL_CALLER)
        now = time.time()
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            budget = (
                f"${record.budget_usd:g} {record.budget_period}"
                if record.budget_usd is not None
                else "none"
            )
            reach = record.scope.describe_targets()
            if record.scope.projects:
                reach += f"; projects {', '.join(sorted(record.scope.projects))}"
            if record.scope.tools:
                reach += f"; tools {', '.join(sorted(record.scope.tools))}"
            cells = (
                record.name,
                record.shown,
                record.state(now),
                reach,
                budget,
                f"{record.per_minute}/min" if record.per_minute else "gateway's",
                _when(record.expires_at),
                _when(record.last_used_at, "not yet"),
            )
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
            if selected is not None and record.id == selected.id:
                self.table.selectRow(row)
        self._update_buttons()

    def selected(self) -> KeyRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.records):
            return None
        return self.records[rows[0].row()]

    def _update_buttons(self) -> None:
        record = self.selected()
        live = record is not None and record.state(time.time()) in ("live", "retiring")
        self.rotate_button.setEnabled(live)
        self.revoke_button.setEnabled(live)

    # -- making a key ---------------------------------------------------------------------

    def open_new_key(self) -> None:
        dialog = NewKeyDialog(self)
        dialog.create_button.clicked.connect(
            lambda: self.tasks.spawn(self.make_key(dialog), what="make the key")
        )
        self.dialog = dialog
        dialog.open()

    async def make_key(self, dialog: NewKeyDialog) -> MadeKey | None:
        """Make the key the dialog describes; a refusal stays in the dialog to be fixed."""
        try:
            made = await self.engine.keys.create(LOCAL_CALLER, dialog.spec())
        except (EngineError, ValueError) as exc:
            dialog.show_problem(getattr(exc, "message", str(exc)))
            return None
        dialog.accept()
        self.show_secret(made)
        await self.refresh()
        self.notice.setText(f"Made {made.record.principal}.")
        return made

    def show_secret(self, made: MadeKey) -> None:
        self.secret_dialog = SecretDialog(made, self.base_url, self)
        self.secret_dialog.open()

    # -- rotating and revoking ------------------------------------------------------------

    def _rotate_selected(self) -> None:
        record = self.selected()
        if record is not None:
            self.tasks.spawn(self.rotate(record.name), what="rotate the key")

    async def rotate(self, name: str) -> MadeKey:
        made = await self.engine.keys.rotate(LOCAL_CALLER, name)
        self.show_secret(made)
        await self.refresh()
        self.notice.setText(f"Rotated key:{name}: the old secret no longer works.")
        return made

    def confirm_revoke(self) -> None:
        record = self.selected()
        if record is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "llmgw-desktop: revoke key?",
            f"Revoke {record.principal} ({record.shown})?\n\nEvery gateway on this store "
            "refuses it from the next request; tools using it need a new key.",
            parent=self,
        )
        box.setObjectName("confirmRevokeKey")
        revoke = box.addButton("Revoke", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)

        def answered(_result: int) -> None:
            if box.clickedButton() == revoke:
                self.tasks.spawn(self.revoke(record.name), what="revoke the key")

        box.finished.connect(answered)
        self.confirm = box
        box.open()

    async def revoke(self, name: str) -> None:
        await self.engine.keys.revoke(LOCAL_CALLER, name)
        log.info("dashboard revoked key:%s", name)
        await self.refresh()
        self.notice.setText(f"Revoked key:{name}.")
