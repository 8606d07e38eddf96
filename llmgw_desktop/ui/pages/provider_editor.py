"""The dialog that adds or edits one of your API providers (Providers page, "Add provider…").

It collects an OpenAI- or Anthropic-compatible endpoint (id, kind, base URL, key, headers,
proxy, models), or a cloud's (Azure OpenAI, Amazon Bedrock, Google Vertex AI, with the
settings of `provider_cloud_fields.py`), and the aliases, routes and prices of its models;
"Test" lists the endpoint's models with what was typed (for a cloud: finds its credential),
before anything is saved. The dialog asks first what a provider needs (kind, base URL, key;
an id suggested from the address), the rest folded under "More settings". "Save" tests the
fields first unless these very fields passed a test (a failed test saves nothing; "Save
anyway" then keeps it, for a server that is down now), then hands the draft to the engine's
`provider_editor`, which checks it whole, keeps the key in the vault, writes config.toml with
the person's comments kept, and routes by it from the next request on. A refusal is shown
under the fields with the field named, and that field gets the focus.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from llmgw_desktop.engine.api import (
    EDITABLE_KINDS,
    LOCAL_CALLER,
    Engine,
    EngineError,
    ModelEntries,
    ProviderDraft,
)
from llmgw_desktop.ui.pages.provider_cloud_fields import KIND_HINTS, CloudFields
from llmgw_desktop.ui.pages.provider_form import (
    ALIAS_COLUMNS,
    PRICE_COLUMNS,
    ROUTE_COLUMNS,
    FormProblem,
    alias_rows,
    entries_from,
    headers_text,
    parse_headers,
    parse_models,
    price_rows,
    route_rows,
)
from llmgw_desktop.ui.qt import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import error_colour

__all__ = ["ProviderEditorDialog", "RowsTable", "suggested_id"]

log = logging.getLogger(__name__)

MODELS_SHOWN = 12  # a Test lists this many of the models it found, then "and N more"


class RowsTable(QTableWidget):
    """An editable table that always ends with one empty row to type into."""

    def __init__(self, columns: Sequence[str], name: str) -> None:
        super().__init__(0, len(columns))
        self.setObjectName(name)
        self.setHorizontalHeaderLabels(list(columns))
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setMaximumHeight(110)
        self.itemChanged.connect(lambda _item: self._keep_an_empty_row())
        self.set_rows([])

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        self.blockSignals(True)
        self.setRowCount(len(rows) + 1)
        for r, row in enumerate([*rows, [""] * self.columnCount()]):
            for c, text in enumerate(row):
                self.setItem(r, c, QTableWidgetItem(text))
        self.blockSignals(False)

    def rows(self) -> list[list[str]]:
        return [
            [self._text(r, c) for c in range(self.columnCount())] for r in range(self.rowCount())
        ]

    def _text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item is not None else ""

    def _keep_an_empty_row(self) -> None:
        last = self.rowCount() - 1
        if last < 0 or any(self._text(last, c).strip() for c in range(self.columnCount())):
            self.blockSignals(True)
            self.setRowCount(last + 2)
            for c in range(self.columnCount()):
                self.setItem(last + 1, c, QTableWidgetItem(""))
            self.blockSignals(False)


class ProviderEditorDialog(QDialog):
    """Add (`provider_id` None) or edit one of your API providers."""

    saved = Signal(str)  # the provider id, once config.toml holds it and the gateway uses it

    def __init__(
        self,
        engine: Engine,
        tasks: UiTasks,
        provider_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = tasks
        self._new = provider_id is None
        self.setWindowTitle("Add provider" if self._new else f"Edit provider {provider_id}")
        self.setObjectName("providerEditor")
        editor = engine.provider_editor
        draft = (
            editor.draft_of(provider_id) if provider_id is not None else None
        ) or ProviderDraft("")

        self._build_fields(draft)
        test_row = self._test_row()
        entries = (
            editor.entries_of(provider_id, draft.models)
            if provider_id is not None
            else ModelEntries()
        )
        self.aliases = RowsTable(ALIAS_COLUMNS, "aliasRows")
        self.aliases.set_rows(alias_rows(entries))
        self.routes = RowsTable(ROUTE_COLUMNS, "routeRows")
        self.routes.set_rows(route_rows(entries))
        self.prices = RowsTable(PRICE_COLUMNS, "priceRows")
        self.prices.set_rows(price_rows(entries))
        self._form = form = self._form_layout(test_row)
        self.more_button.toggled.connect(self._show_more)
        self.url_edit.textEdited.connect(self._suggest_id)
        self.id_edit.textEdited.connect(lambda _typed: self.id_edit.setProperty("suggested", False))
        self._tested_draft: ProviderDraft | None = None  # the last draft whose test passed
        self._armed_draft: ProviderDraft | None = None  # failed its test; saved on a 2nd Save
        buttons = self._buttons(can_save=editor.can_save)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addLayout(buttons)
        self._fields: dict[str, QWidget] = {
            "id": self.id_edit,
            "kind": self.kind_box,
            **self.cloud_fields.edits,
            "base_url": self.url_edit,
            "api_key": self.key_edit,
            "headers": self.headers_edit,
            "proxy": self.proxy_edit,
            "models": self.models_edit,
            "aliases": self.aliases,
            "routes": self.routes,
            "prices": self.prices,
        }
        self.kind_box.currentTextChanged.connect(self._kind_changed)
        self._kind_changed(draft.kind)
        # An existing provider with any of them set opens with them shown.
        self.more_button.setChecked(
            bool(draft.headers or draft.proxy or draft.models)
            or bool(entries.aliases or entries.routes or entries.prices)
        )
        self._show_more(self.more_button.isChecked())
        self.resize(720, 560)
        if provider_id is not None:
            tasks.spawn(self._show_key_state(provider_id), what="read the vault")

    def _build_fields(self, draft: ProviderDraft) -> None:
        """The provider's own fields, filled from `draft`: id, name, kind (and a cloud's
        settings), base URL, key, headers, proxy and models."""
        self.id_edit = QLineEdit(draft.id)
        self.id_edit.setPlaceholderText("work-vllm (lowercase; used as work-vllm/<model>)")
        self.id_edit.setEnabled(self._new)
        self.name_edit = QLineEdit(draft.name)
        self.name_edit.setPlaceholderText("shown in menus (optional)")
        self.kind_box = QComboBox()
        self.kind_box.addItems(list(EDITABLE_KINDS))
        self.kind_box.setCurrentText(draft.kind)
        self.cloud_fields = CloudFields(dataclasses.asdict(draft))
        self.url_edit = QLineEdit(draft.base_url)
        self.url_edit.setPlaceholderText("http://127.0.0.1:8001/v1")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("kept in the vault, never in config.toml")
        self.key_state = QLabel("")
        self.key_state.setObjectName("keyState")
        self.headers_edit = QPlainTextEdit(headers_text(dict(draft.headers)))
        self.headers_edit.setPlaceholderText("X-Team: infra   (one Name: value a line)")
        self.headers_edit.setMaximumHeight(60)
        self.proxy_edit = QLineEdit(draft.proxy)
        self.proxy_edit.setPlaceholderText("http://proxy.corp:3128 (empty: the environment's)")
        self.models_edit = QPlainTextEdit("\n".join(draft.models))
        self.models_edit.setPlaceholderText("one model id a line (empty: what it lists)")
        self.models_edit.setMaximumHeight(60)

    def _test_row(self) -> QHBoxLayout:
        """Test (list the endpoint's models with the fields as typed), what it found, and the
        button that takes the models it listed."""
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("testEndpoint")
        self.test_button.setToolTip("List the endpoint's models (GET /models) with these fields")
        self.test_button.clicked.connect(self._start_test)
        self.test_label = _wrapping("endpointTest")
        self.use_models = QPushButton("Use these models")
        self.use_models.setVisible(False)
        self.use_models.clicked.connect(self._take_tested_models)
        self._tested: tuple[str, ...] = ()
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_label, 1)
        test_row.addWidget(self.use_models)
        return test_row

    def _form_layout(self, test_row: QHBoxLayout) -> QFormLayout:
        """What a provider needs first (its kind, where it is, its key) and its test; the rest
        folded under "More settings"."""
        self.more_button = QToolButton()
        self.more_button.setObjectName("moreProviderSettings")
        self.more_button.setText("More settings: headers, proxy, models, aliases, routes, prices")
        self.more_button.setCheckable(True)
        self.more_button.setAutoRaise(True)
        form = QFormLayout()
        form.addRow("Kind", self.kind_box)
        form.addRow("", self.cloud_fields)
        form.addRow("Base URL", self.url_edit)
        form.addRow("Key", self.key_edit)
        form.addRow("", self.key_state)
        form.addRow("Id", self.id_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("Test", test_row)
        form.addRow(self.more_button)
        self._more = (
            self.headers_edit,
            self.proxy_edit,
            self.models_edit,
            self.aliases,
            self.routes,
            self.prices,
        )
        form.addRow("Headers", self.headers_edit)
        form.addRow("Proxy", self.proxy_edit)
        form.addRow("Models", self.models_edit)
        form.addRow("Aliases", self.aliases)
        form.addRow("Routes", self.routes)
        form.addRow("Prices (USD / M tokens)", self.prices)
        return form

    def _buttons(self, *, can_save: bool) -> QHBoxLayout:
        """Remove (an existing provider), what Save said, Cancel and Save."""
        self.message_label = _wrapping("editorMessage")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveProvider")
        self.save_button.setDefault(True)
        self.save_button.setEnabled(can_save)
        if not can_save:
            self.message_label.setText("This gateway runs without a config.toml to save to.")
        self.save_button.clicked.connect(self._start_save)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        # Asks by a second click rather than a nested dialog (no nested loops on the desk).
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("removeProvider")
        self.remove_button.setVisible(not self._new and can_save)
        self.remove_button.clicked.connect(self._remove_clicked)
        self._remove_armed = False
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.message_label, 1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.save_button)
        return buttons

    # -- reading the fields -----------------------------------------------------------------

    def draft(self) -> ProviderDraft:
        """The fields as the engine's draft.

        Raises:
            FormProblem: the headers cannot be read.
        """
        key = self.key_edit.text()
        kind = self.kind_box.currentText()
        return ProviderDraft(
            self.id_edit.text().strip(),
            kind=kind,
            base_url=self.url_edit.text().strip(),
            name=self.name_edit.text().strip(),
            headers=parse_headers(self.headers_edit.toPlainText()),
            proxy=self.proxy_edit.text().strip(),
            models=parse_models(self.models_edit.toPlainText()),
            api_key=key if key else None,
            **self.cloud_fields.values(kind),  # type: ignore[arg-type]
        )

    def _kind_changed(self, kind: str) -> None:
        """A cloud's own fields, and what Base URL and Key mean for it."""
        self.cloud_fields.set_kind(kind)
        url, key = KIND_HINTS.get(
            kind, ("http://127.0.0.1:8001/v1", "kept in the vault, never in config.toml")
        )
        self.url_edit.setPlaceholderText(url)
        self.key_edit.setPlaceholderText(key)

    def _show_more(self, shown: bool) -> None:
        for widget in self._more:
            self._form.setRowVisible(widget, shown)
        self.adjustSize()

    def _suggest_id(self, url: str) -> None:
        """A new provider's id from its address while the person has not typed one."""
        if self._new and (not self.id_edit.text() or self.id_edit.property("suggested")):
            self.id_edit.setText(suggested_id(url))
            self.id_edit.setProperty("suggested", True)

    def entries(self) -> ModelEntries:
        return entries_from(self.aliases.rows(), self.routes.rows(), self.prices.rows())

    def _problem(self, field: str, message: str) -> None:
        self.message_label.setStyleSheet(f"color: {error_colour()};")
        self.message_label.setText(message)
        widget = self._fields.get(field)
        if widget is not None:
            widget.setFocus()

    def _note(self, message: str) -> None:
        self.message_label.setStyleSheet("")
        self.message_label.setText(message)

    # -- test -------------------------------------------------------------------------------

    def _start_test(self) -> None:
        try:
            draft = self.draft()
        except FormProblem as exc:
            self._problem(exc.field, exc.message)
            return
        self.test_button.setEnabled(False)
        self.test_label.setText("Listing models…")
        if not self._tasks.spawn(self._test(draft), what="test the endpoint"):
            self.test_button.setEnabled(True)

    async def _test(self, draft: ProviderDraft) -> bool:
        """Test `draft` and say how it went; True when it passed."""
        try:
            result = await self._engine.provider_editor.test(LOCAL_CALLER, draft)
        except EngineError as exc:
            self.test_label.setText("")
            self._problem(str(exc.details.get("param", "")), exc.message)
            return False
        finally:
            self.test_button.setEnabled(True)
        if result.error is not None:
            self.test_label.setStyleSheet(f"color: {error_colour()};")
            self.test_label.setText(f"Failed: {result.error}")
            self.use_models.setVisible(False)
            return False
        self._tested_draft = draft
        self.test_label.setStyleSheet("")
        self._tested = result.models
        shown = ", ".join(result.models[:MODELS_SHOWN])
        more = len(result.models) - MODELS_SHOWN
        self.test_label.setText(
            f"OK: {len(result.models)} models: {shown}" + (f" and {more} more" if more > 0 else "")
            if result.models
            else "OK, but it lists no models: name them under Models"
        )
        self.use_models.setVisible(bool(result.models))
        return True

    def _take_tested_models(self) -> None:
        self.models_edit.setPlainText("\n".join(self._tested))

    # -- save -------------------------------------------------------------------------------

    def _start_save(self) -> None:
        try:
            draft, entries = self.draft(), self.entries()
        except FormProblem as exc:
            self._problem(exc.field, exc.message)
            return
        self.save_button.setEnabled(False)
        if not self._tasks.spawn(self._test_then_save(draft, entries), what="save the provider"):
            self.save_button.setEnabled(True)

    async def _test_then_save(self, draft: ProviderDraft, entries: ModelEntries) -> None:
        """Check the fields, test the endpoint unless these very fields passed (or failed and
        Save was pressed again), then save."""
        try:
            self._engine.provider_editor.check(draft, entries, new=self._new)
        except EngineError as exc:
            self.save_button.setEnabled(True)
            self._problem(str(exc.details.get("param", "")), exc.message)
            return
        if draft not in (self._tested_draft, self._armed_draft):
            self._note("Testing it before saving…")
            self.test_button.setEnabled(False)
            self.test_label.setText("Listing models…")
            if not await self._test(draft):
                self._armed_draft = draft
                self.save_button.setEnabled(True)
                self.save_button.setText("Save anyway")
                self._problem("base_url", "The test failed (see Test): nothing was saved.")
                return
        self._note("Saving…")
        await self._save(draft, entries)

    async def _save(self, draft: ProviderDraft, entries: ModelEntries) -> None:
        try:
            await self._engine.provider_editor.save(LOCAL_CALLER, draft, entries, new=self._new)
        except EngineError as exc:
            self._problem(str(exc.details.get("param", "")), exc.message)
            return
        except (OSError, RuntimeError) as exc:
            self._problem("", f"Not saved: {exc}")
            return
        finally:
            self.save_button.setEnabled(True)
        log.info("provider %s saved from the dashboard", draft.id)
        self._note(f"Saved {draft.id}: the gateway serves it from the next request")
        self.saved.emit(draft.id)
        self.accept()

    # -- remove -----------------------------------------------------------------------------

    def _remove_clicked(self) -> None:
        pid = self.id_edit.text().strip()
        if not self._remove_armed:
            self._remove_armed = True
            self.remove_button.setText(f"Click again to remove {pid}")
            self._note("Its aliases and routes go too; its key stays in the vault.")
            return
        self.remove_button.setEnabled(False)
        if not self._tasks.spawn(self._remove(pid), what="remove the provider"):
            self.remove_button.setEnabled(True)

    async def _remove(self, provider_id: str) -> None:
        try:
            await self._engine.provider_editor.remove(LOCAL_CALLER, provider_id)
        except (EngineError, OSError, RuntimeError) as exc:
            self._problem("id", f"Not removed: {getattr(exc, 'message', exc)}")
            self.remove_button.setEnabled(True)
            return
        log.info("provider %s removed from the dashboard", provider_id)
        self.saved.emit(provider_id)
        self.accept()

    async def _show_key_state(self, provider_id: str) -> None:
        held = await self._engine.provider_editor.has_key(provider_id)
        self.key_state.setText(
            "A key is stored in the vault (type one to replace it)."
            if held
            else "No key in the vault for it."
        )


def suggested_id(url: str) -> str:
    """An id for the provider at `url`: its host's first name (`api.example.com` → `example`),
    `local-8001` for this computer's port 8001; "" when there is nothing to take."""
    parsed = urlsplit(url.strip())
    host = (parsed.hostname or "").lower()
    try:
        port = parsed.port
    except ValueError:  # a port still being typed
        port = None
    if host in ("127.0.0.1", "localhost", "::1"):
        return f"local-{port}" if port else "local"
    parts = [p for p in host.split(".") if p not in ("api", "www", "")]
    name = parts[-2] if len(parts) >= 2 else (parts[0] if parts else "")
    return re.sub(r"[^a-z0-9_.-]", "-", name)[:40].strip("-")


def _wrapping(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
