"""Keys: the gateway keys, one per tool or person, in a list with the chosen key's details.

A key is its own principal (`key:<name>`): the recorder, the Agents page and budgets tell keys
apart. The list is read from the store through the engine (operator only) when the page is
shown, after each change and every few seconds while shown; a key made by `llmgw-desktop keys`
or another gateway on the same store appears at the next refresh. Each row says what the key
spent (against its budget when it has one, `key_detail.py`) and when it was last used; its
details add a bar of the budget, what it may reach, and its requests one click away (the
Flight recorder, filtered to the key). Revoking asks first, the safe choice (Cancel) the
default, as the Clients page's revoke does; it counts at once in every gateway on the store.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from llmgw_desktop.engine.api import LOCAL_CALLER, KeyRecord, MadeKey
from llmgw_desktop.ui.badge import status_cell
from llmgw_desktop.ui.budget_words import limits_words
from llmgw_desktop.ui.design import page_margins
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.confirm import ask_first
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.kit.figures import set_figure
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.navigator import other_page
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.connect_page import ConnectPage, base_url_of
from llmgw_desktop.ui.pages.key_detail import (
    KeyDetail,
    KeySpend,
    ago,
    reach_words,
    shown_state,
    when,
)
from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog, SecretDialog
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)

__all__ = ["COLUMNS", "KeysPage"]

log = logging.getLogger(__name__)

COLUMNS = ("Name", "State", "Spent", "Last used", "Key", "Budget", "Rate", "Expires", "May reach")
# Given up first when the list is narrow (the details show each).
OPTIONAL = ("May reach", "Expires", "Rate", "Budget", "Key")
REFRESH_MS = 5000


def month_start(now: float) -> float:
    """The local midnight the month began at (the calendar budgets use)."""
    moment = datetime.fromtimestamp(now)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


class KeysPage(Page):
    KEY = "keys"
    TITLE = "Access keys"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.records: list[KeyRecord] = []
        self.spends: dict[str, KeySpend] = {}  # principal -> what it spent
        self._wanted: str | None = None  # a key to choose once the list has it
        self.dialog: NewKeyDialog | None = None
        self.secret_dialog: SecretDialog | None = None
        self.confirm: QMessageBox | None = None
        head = PageHead(
            "Access keys for your tools",
            "Keys your tools and people use to call this gateway (your OpenAI or Anthropic key "
            "goes on the Provider keys page). A key per tool or person: counted apart in "
            "the recorder and budgets, reaching only the models, providers, projects and MCP "
            "tools you give it, revoked at once. Clients send it as their API key (Bearer, "
            "x-api-key or x-goog-api-key).",
        )
        self.new_button = head.add_action(
            action_button("New key…", "newKey", icon="add", primary=True)
        )
        self.new_button.clicked.connect(self.open_new_key)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("keysTable")
        self.table.setAccessibleName("Gateway keys")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        align_heading(self.table, [COLUMNS.index("Spent")])  # over its right-aligned figures
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.columns = ColumnFitter(
            self.table, stretch=0, optional=[COLUMNS.index(c) for c in OPTIONAL]
        )
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.detail = KeyDetail()
        self.rotate_button = self.detail.rotate_button
        self.revoke_button = self.detail.revoke_button
        self.rotate_button.clicked.connect(self._rotate_selected)
        self.revoke_button.clicked.connect(self.confirm_revoke)
        self.detail.requests_button.clicked.connect(self.open_requests)
        empty_new = action_button("New key…", "newKeyEmpty", icon="add", primary=True)
        empty_new.clicked.connect(self.open_new_key)
        self.body = EmptyOr(
            MasterDetail(self.table, self.detail),
            EmptyState(
                "keys",
                "No gateway keys yet",
                "Make one per tool or person: each gets its own scope, budget and rate limit, "
                "its own lane in the Flight recorder, and can be revoked on its own.",
                empty_new,
            ),
        )
        self.notice = QLabel()
        self.notice.setObjectName("keysNotice")
        self.notice.setWordWrap(True)
        column = QVBoxLayout(self)
        page_margins(column)
        column.addWidget(head)
        column.addWidget(self.body, 1)
        column.addWidget(self.notice)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)
        self.body.show_empty(True)
        self.new_button.setVisible(False)

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
        """Reload the keys and what each spent (on the database thread)."""
        selected = self.selected()
        self.records = await self.engine.keys.list(LOCAL_CALLER)
        now = time.time()
        month = await self.engine.recorder_query.costs(
            "principal", max(1.0, now - month_start(now)), now=now
        )
        spent = {group.name: group.cost_usd for group in month.groups}
        self.spends = {
            r.principal: KeySpend.of(
                r, self.engine.budgets.key_status(r.principal), spent.get(r.principal, 0.0)
            )
            for r in self.records
        }
        self.body.show_empty(not self.records)
        self.new_button.setVisible(bool(self.records))  # else the empty state offers it
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            self._fill_row(row, record, now)
        self.columns.fit()
        # A live key's details rather than a revoked one's: the one used last.
        live = [i for i, r in enumerate(self.records) if r.state(now) in ("live", "retiring")]
        live.sort(key=lambda i: -(self.records[i].last_used_at or 0.0))
        wanted = live[0] if live else 0
        if selected is not None:
            wanted = next((i for i, r in enumerate(self.records) if r.id == selected.id), wanted)
        if self._wanted is not None:
            names = [r.name for r in self.records]
            wanted = names.index(self._wanted) if self._wanted in names else wanted
            self._wanted = None
        if self.records:
            self.table.selectRow(wanted)  # the first key's details, never an empty pane
        self._show_selected()

    def _fill_row(self, row: int, record: KeyRecord, now: float) -> None:
        spend = self.spends[record.principal]
        kind, state = shown_state(record.state(now), spend)
        cells = (
            record.name,
            state,
            spend.cell,
            ago(record.last_used_at, now, "never"),
            record.shown,
            # The one wording of a budget (the Budgets page lists this one too).
            limits_words("usd", None, record.budget_usd, record.budget_period or "monthly")
            if record.budget_usd is not None
            else "none",
            f"{record.per_minute}/min" if record.per_minute else self._default_rate(),
            when(record.expires_at),
            reach_words(record),
        )
        for col, text in enumerate(cells):
            item = self.table.item(row, col)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(row, col, item)
            if COLUMNS[col] == "Spent":
                set_figure(item, text)
                item.setToolTip(spend.words)
            elif COLUMNS[col] == "State":
                status_cell(item, kind, text)
            elif item.text() != text:
                item.setText(text)

    def _default_rate(self) -> str:
        """A key without its own rate limit: the gateway's, said as a figure."""
        limit = self.engine.settings.http.rate_limit_per_minute
        return f"default ({limit}/min)" if limit else "default (no limit)"

    def select_key(self, name: str) -> None:
        """Choose key `name` (the command palette), now or once the list has it."""
        self._wanted = name
        for row, record in enumerate(self.records):
            if record.name == name:
                self.table.selectRow(row)
                self._wanted = None
                return

    def selected(self) -> KeyRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.records):
            return None
        return self.records[rows[0].row()]

    def _show_selected(self) -> None:
        record = self.selected()
        if record is None:
            self.rotate_button.setEnabled(False)
            self.revoke_button.setEnabled(False)
            return
        self.detail.show_key(record, self.spends.get(record.principal), time.time())

    def open_requests(self) -> None:
        """The chosen key's requests, in the Flight recorder."""
        record = self.selected()
        found = other_page(self, RecorderPage.KEY, RecorderPage)
        if record is None or found is None:
            return
        navigator, recorder = found
        recorder.show_principal(record.principal)
        navigator.show_page(RecorderPage.KEY)

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
        made = await dialog.make(self.engine)
        if made is None:
            return None
        self.show_secret(made)
        await self.refresh()
        self.notice.setText(f"Made the key {made.record.name}.")  # plain words, not its principal
        return made

    def show_secret(self, made: MadeKey) -> None:
        dialog = SecretDialog(made, self.base_url, self, mcp_url=self.context.facts.endpoint)
        dialog.connect_button.clicked.connect(lambda: self.open_on_connect(dialog))
        self.secret_dialog = dialog
        dialog.open()

    def open_on_connect(self, dialog: SecretDialog) -> None:
        """The Connect page, its snippets carrying the key just made (its secret known now)."""
        found = other_page(self, ConnectPage.KEY, ConnectPage)
        if found is None:
            return
        navigator, connect = found
        connect.use_key(dialog.made.record.name, dialog.made.secret)
        dialog.accept()
        navigator.show_page(ConnectPage.KEY)

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
        self.confirm = ask_first(
            self,
            "confirmRevokeKey",
            "revoke key?",
            f"Revoke the key {record.name} ({record.shown})?\n\nEvery gateway on this store "
            "refuses it from the next request; tools using it need a new key.",
            "Revoke",
            lambda: self.tasks.spawn(self.revoke(record.name), what="revoke the key"),
        )

    async def revoke(self, name: str) -> None:
        await self.engine.keys.revoke(LOCAL_CALLER, name)
        log.info("dashboard revoked key:%s", name)
        await self.refresh()
        self.notice.setText(f"Revoked key:{name}.")
