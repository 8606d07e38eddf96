"""Credentials: the vault's API keys and auth files by project, masked; add (a key here, a coding
tool's auth file in `credentials_files.py`), replace, delete;
and every key the gateway uses now, wherever it comes from (vault, config.toml, environment).

Reads and writes go through the vault's public methods, which run on the database thread, in
tasks on the loop. The vault lists values masked only; a value typed here goes straight to
`store_key` and is cleared from the field once stored. Storing under an existing identity
(provider, key name, project) replaces that value. Deleting asks first, with a non-modal
dialog whose answer comes back as a signal. A locked vault (missing or wrong master key) is
shown with the vault's own explanation, and every change is disabled until it opens.

Providers are named as every other page names them ("Anthropic", not `anthropic`), masked
values are written one way, each list is as tall as its rows, and the form is a form's width.
An empty vault offers its next step: keeping the keys the gateway reads from the environment
in the vault (encrypted, and there when the variables are not), one button.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from llmgw_desktop.engine.api import (
    DEFAULT_KEY_NAME,
    GLOBAL_PROJECT,
    LOCAL_CALLER,
    EngineError,
    LiveKey,
)
from llmgw_desktop.ui.kit.confirm import ask_first
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.credentials_files import AuthFileBox
from llmgw_desktop.ui.pages.credentials_live import (
    LiveKeysBox,
    fit_height,
    key_refused,
    shown_mask,
)
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    Qt,
    QTimer,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)
from llmgw_desktop.ui.theme import tone_item

__all__ = ["COLUMNS", "GLOBAL_LABEL", "CredentialsPage"]

log = logging.getLogger(__name__)

# Checking the vault's version and state costs nothing (no query), so it can be frequent: a
# key stored over MCP or HTTP shows up while the page is open.
WATCH_MS = 2000
COLUMNS = ("Name", "Provider", "Value", "Updated")
FORM_WIDTH = 640  # a form's fields no wider than this, however wide the window
GLOBAL_LABEL = "Global (every project)"
_RECORD_ROLE = Qt.ItemDataRole.UserRole


class CredentialsPage(Page):
    KEY = "credentials"
    TITLE = "Provider keys"
    BLURB = (
        "Your OpenAI, Anthropic, Gemini … keys, which the gateway sends to them: the vault's "
        "(encrypted, by project) and every other source in use. Keys your tools use to call "
        "this gateway are on the Access keys page."
    )

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.keys: list[dict[str, Any]] = []
        self.live_keys: list[LiveKey] = []
        self.files: list[dict[str, Any]] = []
        self.confirm_box: QMessageBox | None = None
        self._seen: tuple[int, str] | None = None  # (vault version, state) last drawn
        self.record_items: dict[str, QTreeWidgetItem] = {}  # record id -> its row in the tree

        self.vault_state = QLabel()
        self.vault_state.setObjectName("vaultState")
        self.vault_state.setWordWrap(True)
        self.vault_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build_tree()
        self.names = ProviderNames.of(context.engine)
        tree_buttons = self._tree_buttons()
        # The vault is one source of keys among three: a gateway running on environment keys
        # must not look as if it had none.
        self.live_group = LiveKeysBox(self.names)
        self.live_tree = self.live_group.tree
        self._build_editor(context)
        self.notice = QLabel()
        self.notice.setObjectName("credentialsNotice")
        self.notice.setWordWrap(True)

        column = self.scrolling_column()
        column.addWidget(self.vault_state)
        column.addWidget(self.tree)
        column.addLayout(tree_buttons)
        column.addWidget(self.live_group)
        column.addWidget(self.editor)
        # A coding tool's login file, kept in the vault beside the keys.
        self.files_box = AuthFileBox(context.engine, self.tasks, self._chosen_project)
        self.files_box.setMaximumWidth(FORM_WIDTH)
        self.files_box.stored.connect(lambda _provider, _name: self.request_refresh())
        column.addWidget(self.files_box)
        column.addWidget(self.notice)
        column.addStretch(1)

        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._watch_vault)
        self._show_state()

    def _build_tree(self) -> None:
        """The vault's keys and auth files, by provider."""
        self.tree = QTreeWidget()
        self.tree.setObjectName("credentialsTree")
        self.tree.setAccessibleName("Stored credentials")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemSelectionChanged.connect(self._selected_changed)
        self.tree.setUniformRowHeights(True)

    def _tree_buttons(self) -> QHBoxLayout:
        """Under the tree: keep the environment's keys in the vault (shown when there are
        some), and delete the chosen one."""
        self.import_button = QPushButton("Keep the environment's keys in the vault")
        self.import_button.setObjectName("importEnvironmentKeys")
        self.import_button.setToolTip(
            "Store each key the gateway reads from an environment variable in the vault "
            "(encrypted), so it is there when the variable is not"
        )
        self.import_button.clicked.connect(self.import_environment_keys)
        self.import_button.hide()
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("deleteCredential")
        self.delete_button.setToolTip("Remove the selected key or auth file from the vault")
        self.delete_button.clicked.connect(self._confirm_delete)
        tree_buttons = QHBoxLayout()
        tree_buttons.addWidget(self.import_button)
        tree_buttons.addStretch(1)
        tree_buttons.addWidget(self.delete_button)
        return tree_buttons

    def _build_editor(self, context: PageContext) -> None:
        """The form that adds or replaces an API key: its provider, name, project and value."""
        self.editor = QGroupBox("Add or replace an API key")
        self.provider_box = QComboBox()
        self.provider_box.setObjectName("keyProvider")
        self.provider_box.setEditable(True)
        self.provider_box.addItems(
            sorted(spec.id for spec in context.engine.providers.api_providers() if spec.needs_key)
        )
        self.key_name_edit = QLineEdit(DEFAULT_KEY_NAME)
        self.key_name_edit.setObjectName("keyName")
        self.key_name_edit.setToolTip("Several keys of one provider form a pool; name each")
        self.project_box = QComboBox()
        self.project_box.setObjectName("keyProject")
        self.project_box.setEditable(True)
        self.project_box.addItem(GLOBAL_LABEL)
        self.project_box.setToolTip("A project's keys are used before the global ones")
        self.value_edit = QLineEdit()
        self.value_edit.setObjectName("keyValue")
        self.value_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.value_edit.setPlaceholderText("paste the key")
        self.save_button = QPushButton("Save key")
        self.save_button.setObjectName("saveKey")
        self.save_button.clicked.connect(self._save)
        for changed in (self.provider_box.currentTextChanged, self.project_box.currentTextChanged):
            changed.connect(lambda _text: self._update_buttons())
        self.key_name_edit.textChanged.connect(lambda _text: self._update_buttons())
        self.value_edit.textChanged.connect(lambda _text: self._update_buttons())
        self.value_edit.returnPressed.connect(self._save)
        form = QFormLayout(self.editor)
        form.addRow("Provider", self.provider_box)
        form.addRow("Key name", self.key_name_edit)
        form.addRow("Project", self.project_box)
        form.addRow("Value", self.value_edit)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        form.addRow("", save_row)
        self.editor.setMaximumWidth(FORM_WIDTH)

    def choose_provider(self, provider: str) -> None:
        """Set the key form to `provider` (the Providers page's Keys…), ready to paste."""
        self.provider_box.setCurrentText(provider)
        self.value_edit.setFocus()

    def _chosen_project(self) -> str:
        """The project chosen in the key form ("" for every project)."""
        project = self.project_box.currentText().strip()
        return GLOBAL_PROJECT if project in ("", GLOBAL_LABEL) else project

    # -- loading ------------------------------------------------------------------------

    def page_shown(self) -> None:
        self._watch.start()
        self.request_refresh()

    def page_hidden(self) -> None:
        self._watch.stop()

    def request_refresh(self) -> None:
        self.tasks.spawn(self.refresh(), what="load the vault")

    def _watch_vault(self) -> None:
        vault = self.engine.vault
        if self._seen != (vault.version, vault.status()["state"]):
            self.request_refresh()

    async def refresh(self) -> None:
        """Reload the vault's lists (nothing when it is locked) and redraw."""
        vault = self.engine.vault
        seen = (vault.version, vault.status()["state"])
        if vault.locked:
            self.keys, self.files = [], []
        else:
            self.keys = await vault.list_keys(LOCAL_CALLER)
            self.files = await vault.list_files(LOCAL_CALLER)
        self._seen = seen
        self._draw()
        # The vault's own rows first (what the person just changed), then every source.
        self.live_keys = await self.engine.providers.live_keys(LOCAL_CALLER)
        self._draw_live()

    def provider_name(self, provider: str) -> str:
        """`Anthropic` for `anthropic`, as the other pages name it."""
        return self.live_group.provider_name(provider)

    def _refused(self) -> dict[str, str]:
        """The keys in use that their provider refused (when its model list was read, or on
        its calls), by pool label, with how (`key_refused`)."""
        found: dict[str, str] = {}
        for key in self.live_keys:
            refused = key_refused(self.engine, key)
            if refused is not None:
                found[key.label] = refused
        return found

    def _keepable(self) -> set[str]:
        """The providers whose environment key the vault could keep: not there already, and
        not refused (keeping a refused key would only move it)."""
        vaulted = {r["provider"] for r in self.keys}
        refused = self._refused()
        first_env: dict[str, LiveKey] = {}
        for key in self.live_keys:
            if key.kind == "environment":
                first_env.setdefault(key.provider, key)
        return {p for p, k in first_env.items() if p not in vaulted and k.label not in refused}

    def _draw_live(self) -> None:
        self.live_group.show_keys(self.live_keys, self._refused())
        self.import_button.setVisible(not self.engine.vault.locked and bool(self._keepable()))

    def _draw(self) -> None:
        selected = self.selected_record()
        self.tree.clear()
        self.record_items.clear()
        projects = sorted({r["project"] for r in (*self.keys, *self.files)} - {GLOBAL_PROJECT})
        groups: dict[str, QTreeWidgetItem] = {}
        for project in (GLOBAL_PROJECT, *projects):
            group = QTreeWidgetItem([GLOBAL_LABEL if project == GLOBAL_PROJECT else project])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(group)
            groups[project] = group
        for record in self.keys:
            value = (
                shown_mask(record["maskedValue"])
                if record["readable"]
                else "•••• (cannot be decrypted)"
            )
            provider = self.provider_name(record["provider"])
            cells = [record["keyName"], provider, value, _when(record["updatedAt"])]
            self._add(groups[record["project"]], cells, {"kind": "key", **record})
        for record in self.files:
            cells = [
                record["fileName"],
                self.provider_name(record["provider"]),
                f"auth file, {record['size']} bytes",
                _when(record["updatedAt"]),
            ]
            self._add(groups[record["project"]], cells, {"kind": "file", **record})
        placeholder = "(nothing stored yet: keep the environment's keys here, or add one below)"
        if self.engine.vault.locked:
            placeholder = "(the vault is locked: nothing can be shown)"
        for group in groups.values():
            group.setExpanded(True)
            if not group.childCount():
                empty = QTreeWidgetItem([placeholder])
                # The next step, readable: enabled (a disabled item's grey was 2.69:1 on the
                # light look) but not selectable, in the muted tone (4.5:1 or more).
                empty.setFlags(Qt.ItemFlag.ItemIsEnabled)
                tone_item(empty, "muted")
                group.addChild(empty)
        for col in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(col)
        fit_height(self.tree)
        current = self.project_box.currentText()
        self.project_box.blockSignals(True)
        self.project_box.clear()
        self.project_box.addItems([GLOBAL_LABEL, *projects])
        self.project_box.setCurrentText(current or GLOBAL_LABEL)
        self.project_box.blockSignals(False)
        if selected is not None:
            self._reselect(selected["id"])
        self._show_state()

    def _add(self, group: QTreeWidgetItem, cells: list[str], record: dict[str, Any]) -> None:
        item = QTreeWidgetItem(cells)
        item.setData(0, _RECORD_ROLE, record)
        group.addChild(item)
        self.record_items[record["id"]] = item

    def _reselect(self, record_id: str) -> None:
        item = self.record_items.get(record_id)
        if item is not None:
            self.tree.setCurrentItem(item)

    # -- state and selection --------------------------------------------------------------

    def _show_state(self) -> None:
        status = self.engine.vault.status()
        is_open = status["state"] == "open"
        if is_open:
            self.vault_state.setText(f"The vault is open (master key from {status['keySource']}).")
        elif status["state"] == "locked":
            reason = str(status["reason"])
            self.vault_state.setText(
                "Nothing can be added, replaced or deleted until the vault opens.\n"
                + reason[:1].upper()
                + reason[1:]
            )
        else:
            self.vault_state.setText("The vault opens when the gateway starts.")
        self.vault_state.setProperty("locked", not is_open)
        self.editor.setEnabled(is_open)
        self._update_buttons()

    def selected_record(self) -> dict[str, Any] | None:
        items = self.tree.selectedItems()
        record = items[0].data(0, _RECORD_ROLE) if items else None
        return record if isinstance(record, dict) else None

    def _selected_changed(self) -> None:
        record = self.selected_record()
        if record is not None and record["kind"] == "key":
            # Ready to replace: the same identity, a new value.
            self.provider_box.setCurrentText(record["provider"])
            self.key_name_edit.setText(record["keyName"])
            self.project_box.setCurrentText(_project_label(record["project"]))
            self.value_edit.clear()
        self._update_buttons()

    def form_identity(self) -> tuple[str, str, str]:
        """(provider, key name, project) as typed in the form."""
        project = self.project_box.currentText().strip()
        return (
            self.provider_box.currentText().strip(),
            self.key_name_edit.text().strip() or DEFAULT_KEY_NAME,
            GLOBAL_PROJECT if project in ("", GLOBAL_LABEL) else project,
        )

    def _existing(self, identity: tuple[str, str, str]) -> dict[str, Any] | None:
        for record in self.keys:
            if (record["provider"], record["keyName"], record["project"]) == identity:
                return record
        return None

    def _update_buttons(self) -> None:
        is_open = not self.engine.vault.locked
        identity = self.form_identity()
        self.save_button.setText("Replace key" if self._existing(identity) else "Save key")
        self.save_button.setEnabled(is_open and bool(identity[0] and self.value_edit.text()))
        self.delete_button.setEnabled(is_open and self.selected_record() is not None)

    # -- changes -----------------------------------------------------------------------

    def _save(self) -> None:
        if not self.save_button.isEnabled():
            return
        provider, key_name, project = self.form_identity()
        value = self.value_edit.text()
        self.tasks.spawn(self.store(provider, key_name, project, value), what="store the key")

    async def store(self, provider: str, key_name: str, project: str, value: str) -> bool:
        """Store (or replace) one API key; False, with the reason shown, when refused."""
        replacing = self._existing((provider, key_name, project)) is not None
        try:
            await self.engine.vault.store_key(
                LOCAL_CALLER, provider, value, key_name=key_name, project=project
            )
        except EngineError as exc:
            self.notice.setText(f"Not stored: {exc.message}")
            return False
        self.value_edit.clear()
        where = "globally" if project == GLOBAL_PROJECT else f"for project {project}"
        verb = "Replaced" if replacing else "Stored"
        self.notice.setText(f"{verb} the {provider} key {key_name!r} {where}.")
        await self.refresh()
        return True

    def _confirm_delete(self) -> None:
        record = self.selected_record()
        if record is None:
            return
        what = "API key" if record["kind"] == "key" else "auth file"
        name = record.get("keyName") or record.get("fileName")
        every = record["project"] == GLOBAL_PROJECT
        scope = "every project" if every else f"project {record['project']}"
        self.confirm_box = box = ask_first(
            self,
            "confirmDeleteCredential",
            "delete credential?",
            f"Delete the {self.provider_name(record['provider'])} {what} {name!r} ({scope}) "
            "from the vault?\n\n"
            "Requests that rely on it fail until another is stored. This cannot be undone.",
            "Delete",
            lambda: self.tasks.spawn(self.delete(record), what="delete the credential"),
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: setattr(self, "confirm_box", None))

    async def delete(self, record: dict[str, Any]) -> None:
        """Remove one key or auth file (already confirmed)."""
        vault = self.engine.vault
        try:
            if record["kind"] == "key":
                await vault.delete_key(LOCAL_CALLER, record["id"])
            else:
                await vault.delete_file(LOCAL_CALLER, record["id"])
        except EngineError as exc:
            self.notice.setText(f"Not deleted: {exc.message}")
        else:
            name = record.get("keyName") or record.get("fileName")
            self.notice.setText(f"Deleted the {record['provider']} credential {name!r}.")
        await self.refresh()

    def import_environment_keys(self) -> None:
        """Store each key read from an environment variable in the vault (a provider whose
        key is in the vault already keeps it)."""
        self.tasks.spawn(self.keep_environment_keys(), what="store the environment's keys")

    async def keep_environment_keys(self) -> int:
        """Store the environment's keys in the vault; how many."""
        keepable = self._keepable()
        found = await self.engine.providers.environment_keys(LOCAL_CALLER)
        stored: list[str] = []
        for provider, value in found.items():
            if provider not in keepable:
                continue
            try:
                await self.engine.vault.store_key(LOCAL_CALLER, provider, value)
            except EngineError as exc:
                self.notice.setText(f"Not stored: {exc.message}")
                break
            stored.append(self.provider_name(provider))
        if stored:
            self.notice.setText(f"Kept in the vault: the keys of {', '.join(stored)}.")
        await self.refresh()
        return len(stored)


def _project_label(project: str) -> str:
    return GLOBAL_LABEL if project == GLOBAL_PROJECT else project


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso
