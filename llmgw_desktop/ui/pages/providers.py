"""Providers: every coding CLI and API provider, whether it can serve now and why not, its
version, models, switch and upgrade plan, and a Test button that sends it a tiny request.

The rows come from `provider_rows.py` (the engine's public parts only). The table loads in a
task on the loop and refreshes while the page is shown. The first load draws at once and again
when the CLIs' versions are in (some CLIs take seconds to print one); a CLI's models are listed
when its row is first selected. A test runs as its own task and reports in its row and in the
detail pane, so nothing waits on a provider. Config entries naming a model its provider no
longer lists (a stale alias or route) are shown in amber above the table, on the provider's
status cell and in its detail pane. A failing provider (an open circuit, a failed Test, calls
failing `auth_required`) has its status in the theme's error colour, with the reason. Every
provider has a switch (the shared tray action); a CLI that is not installed has it greyed out.
A provider that cannot answer now (`usable_row`, the judgement the tray and the first-run guide
use) is greyed, its name followed by why in a few words: "Groq (no key)".
"""

from __future__ import annotations

import dataclasses
import logging

from llmgw_desktop.engine.api import LOCAL_CALLER, ProbeResult
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.cli_accounts_box import CliAccountsBox
from llmgw_desktop.ui.pages.provider_editor import ProviderEditorDialog
from llmgw_desktop.ui.pages.provider_rows import (
    CLI_DEFAULT_MODEL,
    ERROR,
    NOT_FOUND,
    WARNING,
    ProviderRow,
    load_provider_rows,
    stale_warnings,
    unusable_reason,
    unusable_words,
)
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QColor,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QGuiApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPalette,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import error_colour, warning_colour

__all__ = ["COLUMNS", "ProvidersPage", "attention_colour", "warning_colour"]

log = logging.getLogger(__name__)

# Versions are cached by discovery for minutes; this only picks up switches, keys and breakers.
REFRESH_MS = 15_000
COLUMNS = ("Provider", "Kind", "Status", "Version", "Circuit", "Last test")
STATUS_COLUMN = COLUMNS.index("Status")  # its tooltip says why a provider cannot serve
CIRCUIT_COLUMN = COLUMNS.index("Circuit")


def attention_colour(attention: str) -> str | None:
    """The colour of a status that needs attention (`ProviderRow.attention`), or None."""
    if attention == ERROR:
        return error_colour()
    return warning_colour() if attention == WARNING else None


class ProvidersPage(Page):
    KEY = "providers"
    TITLE = "Providers"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.rows: list[ProviderRow] = []
        self.test_results: dict[str, ProbeResult] = {}
        self._testing: set[str] = set()
        self._cli_models: dict[str, tuple[str, ...]] = {}
        self._listing: set[str] = set()  # CLIs whose models are being listed
        self._chosen: dict[str, str] = {}  # row key -> the model picked for its tests
        self._loading = False
        self._reload = False

        intro = QLabel(
            "Coding CLIs run as jobs on this machine; API providers are reached over HTTP with "
            "the keys from the vault, config.toml or the environment."
        )
        intro.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Check versions, keys and switches again")
        self.refresh_button.clicked.connect(lambda: self.request_refresh(recheck=True))
        # Your own OpenAI- or Anthropic-compatible endpoints (`provider_editor.py`).
        self.add_button = QPushButton("Add provider…")
        self.add_button.setObjectName("addProvider")
        self.add_button.clicked.connect(lambda: self.open_editor(None))
        self.edit_button = QPushButton("Edit provider…")
        self.edit_button.setObjectName("editProvider")
        self.edit_button.setEnabled(False)
        self.edit_button.clicked.connect(self._edit_selected)
        self.editor: ProviderEditorDialog | None = None
        header = QHBoxLayout()
        header.addWidget(intro, 1)
        header.addWidget(self.add_button)
        header.addWidget(self.edit_button)
        header.addWidget(self.refresh_button)
        # Stale aliases and routes: requests for them fail upstream with a bare 404.
        self.stale_label = _wrapping("staleReferences")
        self.stale_label.setVisible(False)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("providersTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header_view = self.table.horizontalHeader()
        # Not ResizeToContents: that measures the whole column again on every cell set, which
        # made a redraw of ~20 rows cost ~30 ms of the loop. `_fit_columns` measures once, and
        # only when some text changed.
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header_view.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.detail = QGroupBox("Select a provider")
        form = QFormLayout(self.detail)
        self.status_label = _wrapping("statusDetail")
        self.enabled_box = QCheckBox("Let tools call it through the gateway")
        self.enabled_box.setObjectName("providerEnabled")
        self.enabled_box.toggled.connect(self._switch)
        self.config_state = _wrapping("configState")
        self.model_box = QComboBox()
        self.model_box.setObjectName("modelChoice")
        self.model_box.setEditable(True)  # any model id the provider takes, not only listed ones
        self.model_box.setToolTip("The model the Test button asks")
        self.model_box.currentTextChanged.connect(self._model_chosen)
        self.default_label = _wrapping("defaultModel")
        self.where_label = _wrapping("providerWhere")
        self.keys_label = _wrapping("providerKeys")
        self.models_note = _wrapping("modelsNote")
        self.stale_detail = _wrapping("staleDetail")
        self.plan_label = _wrapping("upgradePlan")
        self.copy_plan = QPushButton("Copy")
        self.copy_plan.setToolTip("Copy the command to the clipboard")
        self.copy_plan.clicked.connect(self._copy_plan)
        plan_row = QHBoxLayout()
        plan_row.addWidget(self.plan_label, 1)
        plan_row.addWidget(self.copy_plan)
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("testProvider")
        self.test_button.setToolTip("Send it a tiny request and show what came back")
        self.test_button.clicked.connect(self._start_test)
        self.test_label = _wrapping("testResult")
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_label, 1)
        form.addRow("Status", self.status_label)
        form.addRow("Switch", self.enabled_box)
        form.addRow("config.toml", self.config_state)
        form.addRow("Models", self.model_box)
        form.addRow("Model list", self.models_note)
        form.addRow("Warnings", self.stale_detail)
        form.addRow("Default model", self.default_label)
        form.addRow("Where", self.where_label)
        form.addRow("API keys", self.keys_label)
        form.addRow("Upgrade plan", plan_row)
        self._plan_row = plan_row
        form.addRow("Test", test_row)
        self._form = form

        column = QVBoxLayout(self)
        column.addLayout(header)
        column.addWidget(self.stale_label)
        column.addWidget(self.table, 3)
        column.addWidget(self.detail, 2)
        self.accounts = CliAccountsBox(self.engine, self.tasks)
        column.addWidget(self.accounts)
        self._show_selected()

        bridge = context.bridge
        bridge.providerToggled.connect(self._on_toggled)
        bridge.pauseChanged.connect(lambda _paused: self.request_refresh())
        bridge.breakerChanged.connect(lambda _p, _state: self.request_refresh())
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)

    # -- loading ------------------------------------------------------------------------

    def page_shown(self) -> None:
        self._timer.start()
        self.request_refresh()
        self.accounts.refresh()

    def page_hidden(self) -> None:
        self._timer.stop()

    def request_refresh(self, *, recheck: bool = False) -> None:
        """Reload in the background while shown; a request during a load reloads once after."""
        if recheck:
            self._cli_models.clear()
        if not self.isVisible():
            return
        if self._loading:
            self._reload = True
            return
        self._loading = True
        if not self.tasks.spawn(self._load(recheck), what="load the providers"):
            self._loading = False

    async def _load(self, recheck: bool) -> None:
        try:
            await self.refresh(recheck=recheck)
        finally:
            self._loading = False
        if self._reload:
            self._reload = False
            self.request_refresh()

    async def refresh(self, *, recheck: bool = False) -> None:
        """Load every provider and redraw the table, keeping the selection. The first load
        draws at once and again when the CLIs' versions are in."""
        if not self.rows:
            self._draw(await load_provider_rows(self.engine, self._cli_models, versions=False))
        if recheck:
            await self.engine.providers.cli_statuses(refresh=True)
        self._draw(await load_provider_rows(self.engine, self._cli_models))
        self._show_stale(stale_warnings(self.engine))

    def _show_stale(self, lines: tuple[str, ...]) -> None:
        """The config entries that name models their providers no longer list, or nothing."""
        self.stale_label.setVisible(bool(lines))
        if not lines:
            return
        self.stale_label.setStyleSheet(f"color: {warning_colour()};")
        self.stale_label.setText(
            "⚠ config.toml names models their providers no longer list; requests for them "
            "will fail:\n" + "\n".join(f"• {line}" for line in lines)
        )

    def _draw(self, rows: list[ProviderRow]) -> None:
        """Update the cells whose text changed, in place: a periodic refresh usually changes
        none, and then costs the loop well under a millisecond."""
        selected = self.selected_row()
        self.rows = rows
        resized = self.table.rowCount() != len(rows)
        if resized:
            self.table.setRowCount(len(rows))
        texts_changed = False
        for index, row in enumerate(rows):
            cells = (
                _name_cell(row),
                row.kind,
                row.status,
                row.version,
                row.circuit,
                self._test_cell(row.key),
            )
            status_tip = "\n".join(filter(None, (row.reason, *row.stale)))
            for col, text in enumerate(cells):
                tip = status_tip if col == STATUS_COLUMN else ""
                texts_changed |= self._set_cell(index, col, text, tip)
            self._mark_attention(index, STATUS_COLUMN, row.attention)
            circuit = ERROR if row.circuit.startswith("open") else ""
            self._mark_attention(index, CIRCUIT_COLUMN, circuit)
            self._grey_unusable(index, row)
        if resized or texts_changed:
            self._fit_columns()
        if selected is not None:
            self.select(selected.key)
        else:
            self._show_selected()

    def _set_cell(self, index: int, col: int, text: str, tip: str = "") -> bool:
        """Show `text` in a cell, reusing its item; True when the text changed."""
        item = self.table.item(index, col)
        if item is None:
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            self.table.setItem(index, col, item)
            return True
        changed = item.text() != text
        if changed:
            item.setText(text)
        if item.toolTip() != tip:
            item.setToolTip(tip)
        return changed

    def _mark_attention(self, index: int, column: int, attention: str) -> None:
        """Colour a cell: red when failing (or an open circuit), amber when the config names
        a model its provider no longer lists."""
        item = self.table.item(index, column)
        if item is None:
            return
        shown = item.data(Qt.ItemDataRole.ForegroundRole)  # a QBrush once set
        wanted = attention_colour(attention)
        if (shown.color().name() if shown is not None else None) == wanted:
            return  # unchanged: a periodic redraw touches nothing
        if wanted is None:
            item.setData(Qt.ItemDataRole.ForegroundRole, None)  # back to the palette's
        else:
            item.setForeground(QColor(wanted))

    def _grey_unusable(self, index: int, row: ProviderRow) -> None:
        """Grey a provider that cannot answer now (the same judgement as the tray's and the
        first-run guide's: `usable_row`), its name saying why; a status that needs attention
        keeps its colour."""
        words = unusable_words(row)
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for column in range(len(COLUMNS)):
            item = self.table.item(index, column)
            if item is None:
                continue
            if column == 0:
                item.setToolTip(unusable_reason(row) if words else "")
            keeps_colour = (column == STATUS_COLUMN and bool(row.attention)) or (
                column == CIRCUIT_COLUMN and row.circuit.startswith("open")
            )
            if words is None or keeps_colour:
                if column not in (STATUS_COLUMN, CIRCUIT_COLUMN):
                    item.setData(Qt.ItemDataRole.ForegroundRole, None)
                continue
            item.setForeground(grey)

    def _fit_columns(self) -> None:
        """Size the columns to their text once (the last one stretches to the edge)."""
        for col in range(len(COLUMNS) - 1):
            self.table.resizeColumnToContents(col)

    def select(self, key: str) -> bool:
        """Select the row of `key` ("cli:claude", "api:openai"); False when there is none."""
        for index, row in enumerate(self.rows):
            if row.key == key:
                self.table.selectRow(index)
                self._show_selected()
                return True
        return False

    def selected_row(self) -> ProviderRow | None:
        model = self.table.selectionModel()
        chosen = model.selectedRows() if model is not None else []
        if not chosen or chosen[0].row() >= len(self.rows):
            return None
        return self.rows[chosen[0].row()]

    # -- the detail pane ------------------------------------------------------------------

    def open_editor(self, provider_id: str | None) -> ProviderEditorDialog:
        """Open the editor for a new provider (None) or one of yours; it reports when saved."""
        dialog = ProviderEditorDialog(self.engine, self.tasks, provider_id, self)
        dialog.saved.connect(lambda _pid: self.request_refresh())
        self.editor = dialog
        dialog.open()
        return dialog

    def _edit_selected(self) -> None:
        row = self.selected_row()
        if row is not None and row.gateway_id in self.engine.provider_editor.custom_ids():
            self.open_editor(row.gateway_id)

    def _show_selected(self) -> None:
        row = self.selected_row()
        self.edit_button.setEnabled(
            row is not None and row.gateway_id in self.engine.provider_editor.custom_ids()
        )
        self.detail.setEnabled(row is not None)
        if row is None:
            self.detail.setTitle("Select a provider")
            return
        self.detail.setTitle(f"{row.name} ({row.kind})")
        self._list_models(row)
        self.status_label.setText(row.status + (f": {row.reason}" if row.reason else ""))
        colour = attention_colour(row.attention)
        self.status_label.setStyleSheet(f"color: {colour};" if colour else "")
        self._form.setRowVisible(self.enabled_box, row.switch_id is not None)
        self._form.setRowVisible(self.config_state, not row.is_cli)
        if row.switch_id is not None:
            action = self.context.actions.providers.get(row.switch_id)
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(
                action.isChecked() if action else self.engine.providers.is_enabled(row.switch_id)
            )
            self.enabled_box.blockSignals(False)
        # Nothing can run without the CLI, whatever its switch says.
        self.enabled_box.setEnabled(row.installed)
        self.enabled_box.setText(
            "Let tools call it through the gateway"
            if row.installed
            else "Not installed: nothing can run until it is"
        )
        self.config_state.setText(
            "Yours: Edit provider… changes it (saved under [gateway.providers])."
            if row.gateway_id in self.engine.provider_editor.custom_ids()
            else "Its base URL, keys and models are set under [gateway.providers]."
        )
        self.model_box.blockSignals(True)
        self.model_box.clear()
        if row.is_cli:
            self.model_box.addItem(CLI_DEFAULT_MODEL)
        self.model_box.addItems(list(row.models))
        if row.key in self._chosen:
            self.model_box.setCurrentText(self._chosen[row.key])
        self.model_box.blockSignals(False)
        self.default_label.setText(row.default_model)
        self.where_label.setText(row.where)
        self._form.setRowVisible(self.keys_label, not row.is_cli)
        self.keys_label.setText(row.keys or "none found")
        self._form.setRowVisible(self.models_note, not row.is_cli)
        self.models_note.setText(row.models_note)
        self._form.setRowVisible(self.stale_detail, bool(row.stale))
        self.stale_detail.setStyleSheet(f"color: {warning_colour()};")
        self.stale_detail.setText("\n".join(row.stale))
        self._form.setRowVisible(self._plan_row, row.is_cli)
        self.plan_label.setText("\n".join((row.plan, *row.notes)))
        self._show_test(row)

    def _list_models(self, row: ProviderRow) -> None:
        """Ask an installed CLI for its models once, in the background."""
        pid = row.switch_id
        if not row.is_cli or pid is None or row.where == NOT_FOUND or pid in self._cli_models:
            return
        if pid not in self._listing and self.tasks.spawn(self._list(pid), what="list models"):
            self._listing.add(pid)

    async def _list(self, pid: str) -> None:
        try:
            models = tuple(await self.engine.providers.cli_models(pid))
        finally:
            self._listing.discard(pid)
        self._cli_models[pid] = models
        self.rows = [
            dataclasses.replace(r, models=models) if r.is_cli and r.switch_id == pid else r
            for r in self.rows
        ]
        current = self.selected_row()
        if current is not None and current.switch_id == pid:
            self._show_selected()

    def _model_chosen(self, model: str) -> None:
        row = self.selected_row()
        if row is not None:
            self._chosen[row.key] = model

    def _switch(self, enabled: bool) -> None:
        row = self.selected_row()
        if row is None or row.switch_id is None:
            return
        action = self.context.actions.providers.get(row.switch_id)
        if action is not None:
            action.setChecked(enabled)  # the shared action switches the engine
        else:
            self.engine.providers.set_enabled(LOCAL_CALLER, row.switch_id, enabled)

    def _on_toggled(self, provider: str, enabled: bool) -> None:
        """Switched anywhere (tray, menu, MCP): the box follows now, the status on reload."""
        row = self.selected_row()
        if row is not None and row.switch_id == provider:
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(enabled)
            self.enabled_box.blockSignals(False)
        self.request_refresh()

    def _copy_plan(self) -> None:
        row = self.selected_row()
        command = row.plan.partition(": ")[2] if row is not None else ""
        if command:  # "Upgrade: npm install -g ...", not "checking…"
            QGuiApplication.clipboard().setText(command)

    # -- testing --------------------------------------------------------------------------

    def _start_test(self) -> None:
        row = self.selected_row()
        if row is None or row.key in self._testing:
            return
        model = self.model_box.currentText().strip()
        if model == CLI_DEFAULT_MODEL:
            model = ""
        self._testing.add(row.key)
        self._show_test(row)
        self._redraw_test_cell(row.key)
        if not self.tasks.spawn(self._run_test(row, model), what=f"test {row.name}"):
            self._testing.discard(row.key)

    async def _run_test(self, row: ProviderRow, model: str) -> None:
        try:
            result = await self.engine.providers.probe(row.gateway_id, model)
        finally:
            self._testing.discard(row.key)
        self.test_results[row.key] = result
        log.info("dashboard test of %s: %s", row.gateway_id, result.summary())
        self._redraw_test_cell(row.key)
        self.request_refresh()  # the status says a failed test (the engine keeps it)
        current = self.selected_row()
        if current is not None and current.key == row.key:
            self._show_test(current)

    def _show_test(self, row: ProviderRow) -> None:
        running = row.key in self._testing
        self.test_button.setEnabled(not running)
        result = self.test_results.get(row.key)
        if running:
            self.test_label.setText("Testing…")
        elif result is None:
            self.test_label.setText("Not tested yet")
        else:
            self.test_label.setText(f"{result.model or 'default model'}: {result.summary()}")

    def _test_cell(self, key: str) -> str:
        if key in self._testing:
            return "testing…"
        result = self.test_results.get(key)
        if result is None:
            return ""
        return f"OK, {result.latency_ms:.0f} ms" if result.ok else "failed"

    def _redraw_test_cell(self, key: str) -> None:
        for index, row in enumerate(self.rows):
            if row.key == key:
                self._set_cell(index, len(COLUMNS) - 1, self._test_cell(key))


def _name_cell(row: ProviderRow) -> str:
    """`Groq (no key)`: the name, and why it cannot answer now when it cannot."""
    words = unusable_words(row)
    return f"{row.name} ({words})" if words else row.name


def _wrapping(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
