"""Settings: every effective setting, where its value came from, and the safe ones editable.

The values shown are the ones the running gateway uses, secrets masked as `config --show` masks
them; the file is read again each time the page is shown (and after each save), so the page
says what config.toml holds now: a value saved there that waits for a restart says so, and what
other parts of the window change live (the provider switches, the budgets, your prices) shows
as it is now. A change is checked with the setting's own check before anything is written, then
saved to config.toml through the engine (the file keeps its comments). Most settings are read
once at start, so the page says "restart needed" until then. Security settings (the bind
address, authentication, OAuth, workspaces, approval) are shown but changed only by editing the
file: a click in the window must never open the gateway to the network.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmgw_desktop.config.file import checked_value
from llmgw_desktop.config.settings import (
    ConfigError,
    Declared,
    LoadedSettings,
    declared_settings,
    load_settings,
)
from llmgw_desktop.engine.api import CAPTURE_KEYS, LOCAL_CALLER, redacted_url
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.login_switch import LOGIN_SWITCH_TEXT, set_start_at_login
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.quiet_hours_box import QuietHoursBox
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = ["EDITABLE_KEYS", "SettingsPage", "read_only_reason", "shown_value"]

log = logging.getLogger(__name__)

COLUMNS = ("Setting", "Value", "From", "Status")
MASK = "***"
# Keys inside table settings (API provider tables) whose values are credentials.
SECRET_FIELDS = frozenset({"api_key", "api_keys"})

# Settings that change how the gateway works but not who may reach it or what it may touch.
EDITABLE_KEYS = frozenset(
    {
        "jobs.sync_deadline_ms",
        "jobs.retention_days",
        "jobs.dedup_window_ms",
        "jobs.max_concurrent",
        "jobs.max_concurrent_per_provider",
        "jobs.max_queued",
        "providers.timeout_ms",
        "providers.idle_timeout_ms",
        "providers.max_output_bytes",
        "providers.kill_grace_ms",
        "providers.stop_grace_ms",
        "providers.retry_attempts",
        "providers.retry_base_delay_ms",
        "providers.breaker_threshold",
        "providers.breaker_cooldown_ms",
        "providers.version_cache_ms",
        "cache_awareness.warn_on_ttl_expiry",
        "cache_awareness.anthropic_ttl_seconds",
        "recorder.retention_days",
        "recorder.max_rows",
        "recorder.max_pending",
        "log.level",
        "log.max_bytes",
        "log.backups",
        "ui.start_hidden",
        "ui.quiet_hours",
        "gateway.default_model",
        "gateway.small_request_model",
        "gateway.small_request_max_tokens",
        "gateway.detect_local",
        "gateway.models_refresh_s",
        "gateway.connect_timeout_ms",
        "gateway.upstream_timeout_ms",
        "gateway.first_byte_timeout_ms",
    }
)
SECURITY_PREFIXES = (
    "http.",
    "approval.",
    "workspaces.",
    "providers.isolate_env",
    "providers.pass_env",
)


def _apply_log_level(value: Any) -> None:
    logging.getLogger().setLevel(str(value).upper())


# Settings the running gateway takes on when saved here; every other one waits for a restart.
LIVE_KEYS: dict[str, Callable[[Any], None]] = {"log.level": _apply_log_level}
# Settings the engine takes on when saved here (`recorder.capture.*`: the body capture policy).
ENGINE_LIVE_KEYS = frozenset(CAPTURE_KEYS)
# Settings the window takes on when saved here (through `saved`: the tray's quiet hours).
WINDOW_LIVE_KEYS = frozenset({"ui.quiet_hours"})
# Settings other parts of the window change while the gateway runs (the switches, the Budgets
# page, the Prices box): shown as config.toml holds them now, never as "restart needed".
CHANGED_LIVE = frozenset({"providers.disabled", "budgets", "gateway.prices"})


def _names(decl: Declared, typed: str | bool) -> list[str]:
    """A list of names typed comma-separated (the body capture lists), checked.

    Raises:
        ConfigError: the setting's own check refused it.
    """
    text = typed if isinstance(typed, str) else ""
    value = [part.strip() for part in text.split(",") if part.strip()]
    problem = decl.check(value) if decl.check is not None else None
    if problem is not None:
        raise ConfigError(decl.key, "the Settings page", problem)
    return value


def _is_live(key: str) -> bool:
    return key in LIVE_KEYS or key in ENGINE_LIVE_KEYS or key in WINDOW_LIVE_KEYS


def shown_value(decl: Declared, value: Any) -> str:
    """A value as the page shows it: secrets masked, anything else as in config.toml."""
    if decl.secret:
        return MASK if value else ""
    if decl.key == "store.url" and isinstance(value, str):
        return json.dumps(redacted_url(value), ensure_ascii=False)
    return json.dumps(_masked(value), ensure_ascii=False)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS else _masked(v) for k, v in value.items()}
    return value


def read_only_reason(decl: Declared, source: str) -> str | None:
    """Why a setting cannot be changed on this page, or None when it can."""
    if decl.key.startswith(SECURITY_PREFIXES):
        return "A security setting: change it in config.toml, then restart."
    if decl.key == "providers.disabled":
        return "Switch providers on and off with their switches (tray or Overview)."
    if decl.key == "budgets":
        return "Set budgets on the Budgets page; they apply at once."
    if decl.key == "gateway.prices":
        return "Set prices in the Prices box below; they apply from the next request."
    if decl.type not in (bool, int, str) and decl.key not in ENGINE_LIVE_KEYS:
        return "A list or table: edit it in config.toml, then restart."
    if decl.key not in EDITABLE_KEYS and decl.key not in ENGINE_LIVE_KEYS:
        return "Where the gateway keeps its files: change it in config.toml, then restart."
    if source.startswith("env "):
        return f"Set by the environment variable {decl.env}, which overrides config.toml."
    return None


def _source_text(source: str) -> str:
    return "config.toml" if source.startswith("file ") else source


class SettingsPage(Page):
    KEY = "settings"
    TITLE = "Settings"
    file_read = Signal()  # config.toml was read again and the rows redrawn
    saved = Signal(str, object)  # a setting was saved here: its key and its value

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        loaded = context.facts.loaded_settings
        self._sources: dict[str, str] = dict(loaded.sources) if loaded is not None else {}
        self._can_save = loaded is not None and self.engine.settings_saver.can_save
        self._decls = declared_settings()
        self._saved: dict[str, Any] = {}  # key -> value saved from this page since start
        self._config_file: Path | None = loaded.config_file if loaded is not None else None
        # config.toml as last read (with the environment over it): what a restart would use.
        self._file: LoadedSettings | None = loaded
        self._reading = False

        self.file_label = QLabel(self._file_text(None))
        self.file_label.setObjectName("settingsFile")
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # Start at login is the OS's switch, not a line of config.toml: kept above the table.
        self._autostart = context.facts.autostart
        self.login_switch = Switch(LOGIN_SWITCH_TEXT)
        self.login_switch.setObjectName("startAtLogin")
        self.login_switch.setVisible(self._autostart is not None)
        if self._autostart is not None:
            self.login_switch.setToolTip(f"Kept by the system in {self._autostart.where}")
        self.login_switch.clicked.connect(self._on_login_switch)
        self.read_login_switch()

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("settingsFilter")
        self.filter_edit.setPlaceholderText("Filter settings (such as jobs. or timeout)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)

        self.table = QTableWidget(len(self._decls), len(COLUMNS))
        self.table.setObjectName("settingsTable")
        self.table.setAccessibleName("Settings")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # The value takes the room left; where from and the status give way beside the
        # details (which say both). Every row is measured: a long key must not be cut.
        self.columns = ColumnFitter(
            self.table, stretch=1, optional=(3, 2), stretch_min=90
        )  # a preview
        header.setResizeContentsPrecision(-1)
        for row, decl in enumerate(self._decls):
            self._fill_row(row, decl)
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.detail = QGroupBox("Setting")
        self.key_label = QLabel()
        self.key_label.setObjectName("settingKey")
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.doc_label = QLabel()
        self.doc_label.setWordWrap(True)
        self.value_edit = QLineEdit()
        self.value_edit.setObjectName("settingValue")
        self.value_edit.returnPressed.connect(self.save)
        self.value_box = QCheckBox("On")
        self.value_box.setObjectName("settingSwitch")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveSetting")
        self.save_button.setToolTip("Check the value, then write it to config.toml")
        self.save_button.clicked.connect(self.save)
        self.reason_label = QLabel()
        self.reason_label.setObjectName("settingReadOnly")
        self.reason_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setObjectName("settingMessage")
        self.message_label.setWordWrap(True)
        editor = QHBoxLayout()
        editor.addWidget(self.value_edit, 1)
        editor.addWidget(self.value_box)
        editor.addWidget(self.save_button)
        detail_column = QVBoxLayout(self.detail)
        detail_column.addWidget(self.key_label)
        detail_column.addWidget(self.doc_label)
        detail_column.addLayout(editor)
        detail_column.addWidget(self.reason_label)
        detail_column.addWidget(self.message_label)
        detail_column.addStretch(1)  # together at the top of a tall pane
        self.key_label.setWordWrap(True)  # a long key and its variable wrap, never widen

        column = QVBoxLayout(self)
        column.addWidget(self.file_label)
        column.addWidget(self.login_switch)
        # Quiet hours for the pop-ups: saved as ui.quiet_hours, taken on by the tray at once.
        self.quiet = QuietHoursBox()
        self.quiet.show_value(str(self.engine.settings.value("ui.quiet_hours")))
        self.quiet.setEnabled(self._can_save)
        self.quiet.chosen.connect(self._quiet_chosen)
        column.addWidget(self.quiet)
        column.addWidget(self.filter_edit)
        # The list of settings, the chosen one beside it (prices are the next tab).
        column.addWidget(MasterDetail(self.table, self.detail, list_share=0.58), 1)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.selectRow(0)  # a setting's details, never an empty pane
        self._show_selected()

    def page_shown(self) -> None:
        super().page_shown()
        self.read_login_switch()  # the tray or the installer may have flipped it
        self.reread_file()

    def _file_text(self, problem: str | None) -> str:
        if self._config_file is None:
            return "Where each value came from is not known in this window."
        if problem is not None:
            return f"Settings file: {self._config_file} (cannot be read now: {problem})"
        exists = self._config_file.exists()
        return f"Settings file: {self._config_file}" + (
            "" if exists else " (not present yet: defaults apply)"
        )

    def reread_file(self) -> None:
        """Read config.toml again (in the background) and show what it holds now."""
        if self._config_file is None or self._reading:
            return
        self._reading = self.tasks.spawn(self._reread(self._config_file), what="read settings")

    async def _reread(self, path: Path) -> None:
        problem: str | None = None
        try:
            self._file = await asyncio.to_thread(load_settings, path)
        except ConfigError as exc:
            problem = f"{exc.key}: {exc.problem}"
        finally:
            self._reading = False
        self.file_label.setText(self._file_text(problem))
        if self._file is not None:
            self._sources = dict(self._file.sources)
        for row, decl in enumerate(self._decls):
            self._fill_row(row, decl)
        self.columns.fit()
        self.file_read.emit()

    def _quiet_chosen(self, value: str) -> None:
        decl = self._decls[self.row_of("ui.quiet_hours")]
        self.tasks.spawn(self.write(decl, value), what="save the quiet hours")

    def read_login_switch(self) -> None:
        """Show the OS's start-at-login state on the switch."""
        if self._autostart is not None:
            self.login_switch.setChecked(self._autostart.is_enabled())

    def _on_login_switch(self, on: bool) -> None:
        assert self._autostart is not None
        problem = set_start_at_login(self._autostart, on)
        if problem is None:
            where = "will start" if on else "will not start"
            self._say(f"llmgw-desktop {where} when you log in.")
        else:
            self._say(problem, error=True)
        self.read_login_switch()

    # -- the table ----------------------------------------------------------------------

    def shown(self, decl: Declared) -> Any:
        """The value the page shows for `decl`: the running one, except what the window
        changes live (as the switches and config.toml hold it now)."""
        if decl.key == "providers.disabled":
            return [s.id for s in self.engine.providers.states() if not s.enabled]
        if decl.key in CHANGED_LIVE and self._file is not None:
            return self._file.settings.value(decl.key)
        return self.engine.settings.value(decl.key)

    def _fill_row(self, row: int, decl: Declared) -> None:
        source = self._sources.get(decl.key, "unknown")
        shown = self.shown(decl)
        cells = (decl.key, shown_value(decl, shown), _source_text(source), self.status(decl.key))
        for col, text in enumerate(cells):
            item = self.table.item(row, col)
            if item is None:  # first fill; later ones change the text, keeping the selection
                item = QTableWidgetItem()
                self.table.setItem(row, col, item)
            item.setText(text)
            if col == 0:
                item.setToolTip(f"{decl.doc}\nEnvironment variable: {decl.env}")

    def row_of(self, key: str) -> int:
        """The table row of setting `key`.

        Raises:
            KeyError: no such setting.
        """
        for row, decl in enumerate(self._decls):
            if decl.key == key:
                return row
        raise KeyError(key)

    def select(self, key: str) -> None:
        """Show setting `key` in the editor (selects its row)."""
        self.table.selectRow(self.row_of(key))

    def status(self, key: str) -> str:
        """What saving (here or in config.toml) did to `key`: nothing, applied, or restart
        needed."""
        decl = self._decls[self.row_of(key)]
        if key not in self._saved:
            on_file = self._file.settings.value(decl.key) if self._file else None
            running = self.engine.settings.value(decl.key)
            if self._file is None or key in CHANGED_LIVE or _is_live(key):
                return ""
            if on_file != running:
                return f"config.toml has {shown_value(decl, on_file)}: restart needed"
            return ""
        value = self._saved[key]
        if value == self.engine.settings.value(decl.key):
            return "saved"
        if _is_live(key):
            return "saved, in effect now"
        return f"saved {shown_value(decl, value)}: restart needed"

    def _apply_filter(self, text: str) -> None:
        wanted = text.strip().lower()
        for row, decl in enumerate(self._decls):
            hidden = bool(wanted) and wanted not in decl.key and wanted not in decl.doc.lower()
            self.table.setRowHidden(row, hidden)

    def selected(self) -> Declared | None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        return self._decls[rows[0].row()] if rows else None

    # -- the editor ---------------------------------------------------------------------

    def _show_selected(self) -> None:
        decl = self.selected()
        self.message_label.clear()
        if decl is None:
            self.key_label.setText("Choose a setting to see what it does.")
            self.doc_label.clear()
            self.reason_label.clear()
            for widget in (self.value_edit, self.value_box, self.save_button):
                widget.setVisible(False)
            return
        source = self._sources.get(decl.key, "unknown")
        reason = read_only_reason(decl, source)
        if reason is None and not self._can_save:
            reason = "This window cannot write the settings file."
        self.key_label.setText(f"<b>{decl.key}</b> (environment variable {decl.env})")
        self.doc_label.setText(decl.doc)
        self.reason_label.setText(reason or self._restart_note(decl.key))
        current = self._saved.get(decl.key, self.engine.settings.value(decl.key))
        editable = reason is None
        self.value_box.setVisible(editable and decl.type is bool)
        self.value_edit.setVisible(editable and decl.type is not bool)
        self.save_button.setVisible(editable)
        if decl.type is bool:
            self.value_box.setChecked(bool(current))
        elif isinstance(current, list):  # a list of names, typed comma-separated
            self.value_edit.setText(", ".join(str(item) for item in current))
        else:
            self.value_edit.setText(str(current))

    def _restart_note(self, key: str) -> str:
        """When a saved value takes effect (said before anything is saved)."""
        if _is_live(key):
            return "Takes effect as soon as it is saved."
        return "Save writes config.toml; the gateway uses a new value after a restart."

    def save(self) -> None:
        """Check the edited value with the setting's own check, then write it (in the
        background); a bad value is reported, naming the key, and nothing is written."""
        decl = self.selected()
        if decl is None or not self.save_button.isVisible():
            return
        typed: str | bool = (
            self.value_box.isChecked() if decl.type is bool else self.value_edit.text()
        )
        try:
            value = _names(decl, typed) if decl.type is list else checked_value(decl.key, typed)
        except ConfigError as exc:
            self._say(f"{exc.key}: {exc.problem}. Nothing was saved.", error=True)
            return
        self.save_button.setEnabled(False)
        self._say(f"Saving {decl.key}…")
        self.tasks.spawn(self.write(decl, value), what=f"save {decl.key}")

    async def write(self, decl: Declared, value: Any) -> None:
        """Write `value` (already checked) for `decl` to the settings file."""
        try:
            await self.engine.settings_saver.save(LOCAL_CALLER, decl.key, value)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("could not save %s: %s", decl.key, exc)
            self._say(f"{decl.key}: could not be saved: {exc}", error=True)
            return
        finally:
            self.save_button.setEnabled(True)
        self._saved[decl.key] = value
        if (apply := LIVE_KEYS.get(decl.key)) is not None:
            apply(value)
        if decl.key in ENGINE_LIVE_KEYS:
            self.engine.body_capture.apply(decl.key, value)
        self.saved.emit(decl.key, value)
        self._fill_row(self.row_of(decl.key), decl)
        when = "in effect now" if _is_live(decl.key) else "used after a restart"
        self._say(f"{decl.key} saved to config.toml: {when}.")
        self.reread_file()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setStyleSheet("color: #c0392b;" if error else "")
        self.message_label.setText(text)
