"""Settings: what a person changes, as controls (`settings_form.py`), and every effective
setting with where its value came from in the advanced view ("All settings").

The values shown are the ones the running gateway uses, secrets masked as `config --show` masks
them; the file is read again each time the page is shown (and after each save), so the page
says what config.toml holds now: a value saved there that waits for a restart says so, and what
other parts of the window change live (the provider switches, the budgets, your prices) shows
as it is now. A value the file holds that its setting refuses (one edited there by hand since
the start) is said on its control and its row with what is wrong with it, the control showing
the value in effect: never the one the page last read, which neither the file nor the gateway
may hold any more. The rest of the file is read as far as it is valid. A change is checked
with the setting's own check before anything is written, then saved to config.toml through
the engine (the file keeps its comments). Most settings are read once at start, so the page
says "restart needed" until then. Security settings (the bind address, authentication, OAuth,
workspaces, approval) are shown but changed only by editing the file: a click in the window
must never open the gateway to the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llmgw_desktop.config.file import checked_value
from llmgw_desktop.config.settings import (
    FILE_KEY,
    ConfigError,
    Declared,
    LoadedSettings,
    SettingsRead,
    declared_settings,
    read_settings,
)
from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.design import page_margins
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import home_short
from llmgw_desktop.ui.login_switch import LOGIN_SWITCH_TEXT, set_start_at_login
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.quiet_hours_box import QuietHoursBox
from llmgw_desktop.ui.pages.settings_form import SettingsForm
from llmgw_desktop.ui.pages.settings_rules import (
    CHANGED_LIVE,
    group_of,
    group_rows,
    is_live,
    label_of,
    names_typed,
    read_only_reason,
    shown_value,
    source_text,
    written_value,
)
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QDesktopServices,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["SettingsPage"]

log = logging.getLogger(__name__)

COLUMNS = ("Setting", "Value", "From", "Status")


class SettingsPage(Page):
    KEY = "settings"
    TITLE = "Settings"
    file_read = Signal()  # config.toml was read again and the rows redrawn
    saved = Signal(str, object)  # a setting was saved here: its key and its value
    save_failed = Signal(str, str)  # a setting could not be saved: its key and why

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        loaded = context.facts.loaded_settings
        self._sources: dict[str, str] = dict(loaded.sources) if loaded is not None else {}
        self._can_save = loaded is not None and self.engine.settings_saver.can_save
        self._decls = declared_settings()
        # The table: a heading row per group, then its settings (`group_rows`).
        self._rows = group_rows(self._decls)
        self._decl_at = {row: decl for row, decl in self._rows.items() if decl is not None}
        self._row_of = {decl.key: row for row, decl in self._decl_at.items()}
        self._saved: dict[str, Any] = {}  # key -> value saved from this page since start
        self._config_file: Path | None = loaded.config_file if loaded is not None else None
        # config.toml as last read (with the environment over it): what a restart would use.
        self._file: LoadedSettings | None = loaded
        # The settings whose value in the file is refused, and what the page says of each.
        self._refused: dict[str, str] = {}
        # The last read could not read the file at all (not TOML, say): what it holds is not
        # known, so no control says it.
        self._file_unread = False
        self._reading = False
        self._read_again = False  # the file changed while it was being read

        self.file_label = QLabel(self._file_text(None))
        self.file_label.setObjectName("settingsFile")
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build_login_switch(context)
        self._build_table()
        self._build_detail()
        head = self._page_head()
        self._build_quiet_hours()
        # What a person changes, as controls; the whole table is the advanced view.
        self.form = SettingsForm({decl.key: decl for decl in self._decls})
        self.form.add_section("Start and notifications", [self.login_switch, self.quiet])
        self.form.committed.connect(self._form_committed)
        self.views = self._views()
        column = QVBoxLayout(self)
        page_margins(column)
        column.addWidget(head)
        column.addWidget(self.file_label)
        column.addWidget(self.views, 1)
        self._show_form_values()
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.selectRow(min(self._decl_at))  # a setting's details, never an empty pane
        self._show_selected()

    def _build_login_switch(self, context: PageContext) -> None:
        """Start at login: the OS's switch, not a line of config.toml (kept above the table)."""
        self._autostart = context.facts.autostart
        self.login_switch = Switch(LOGIN_SWITCH_TEXT)
        self.login_switch.setObjectName("startAtLogin")
        self.login_switch.setVisible(self._autostart is not None)
        if self._autostart is not None:
            self.login_switch.setToolTip(f"Kept by the system in {self._autostart.where}")
        self.login_switch.clicked.connect(self._on_login_switch)
        self.read_login_switch()

    def _build_table(self) -> None:
        """The advanced view's table of every setting, a heading row per group, and its
        filter."""
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("settingsFilter")
        self.filter_edit.setPlaceholderText("Filter settings (such as jobs. or timeout)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)

        self.table = QTableWidget(len(self._rows), len(COLUMNS))
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
        # Where a value came from is the page's point: it keeps its column at 1024 px; the
        # status gives way first, and is not shown at all while no row has one.
        self.columns = ColumnFitter(self.table, stretch=1, optional=(3,), stretch_min=80)
        header.setResizeContentsPrecision(-1)
        self.columns.unwanted = {3}  # until a row has a status to show
        for row, decl in self._rows.items():
            if decl is None:
                self._group_row(row)
            else:
                self._fill_row(row, decl)
        self.table.itemSelectionChanged.connect(self._show_selected)

    def _build_detail(self) -> None:
        """The chosen setting beside the table: its key, what it does, its editor, why it is
        read only (when it is), and the file to change it in."""
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
        self.open_file_button = QPushButton("Open config.toml")
        self.open_file_button.setObjectName("openConfigFromDetail")
        self.open_file_button.clicked.connect(self.open_config_file)
        detail_column.addWidget(self.open_file_button, 0, Qt.AlignmentFlag.AlignLeft)
        detail_column.addWidget(self.message_label)
        detail_column.addStretch(1)  # together at the top of a tall pane
        self.key_label.setWordWrap(True)  # a long key and its variable wrap, never widen

    def _page_head(self) -> PageHead:
        """The page's title, and its actions: the advanced view, and config.toml itself."""
        head = PageHead(
            "Settings",
            "How the gateway works: each change is checked, written to config.toml (its "
            "comments kept) and taken on at once where the gateway can.",
        )
        self.all_button = head.add_action(
            action_button("All settings", "showAllSettings", icon="filter")
        )
        self.all_button.setCheckable(True)
        self.all_button.setToolTip(
            "Every setting with where its value came from (advanced); the security ones are "
            "changed in config.toml"
        )
        self.all_button.toggled.connect(self.show_all)
        open_file = head.add_action(
            action_button("Open config.toml", "openConfig", icon="open", tip=str(self._config_file))
        )
        open_file.clicked.connect(self.open_config_file)
        open_file.setEnabled(self._config_file is not None)
        return head

    def _build_quiet_hours(self) -> None:
        """Quiet hours for the pop-ups: saved as ui.quiet_hours, taken on by the tray at once."""
        self.quiet = QuietHoursBox()
        self.quiet.show_value(str(self.engine.settings.value("ui.quiet_hours")))
        if not self._can_save:  # its controls, not its words: those stay readable
            for control in (self.quiet.switch, self.quiet.start, self.quiet.end):
                control.setEnabled(False)
        self.quiet.chosen.connect(self._quiet_chosen)

    def _views(self) -> QStackedWidget:
        """The two views of the page: the controls (first), and the table of every setting
        with the chosen one beside it (the advanced view)."""
        form_scroll = QScrollArea()
        form_scroll.setObjectName("settingsFormScroll")
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        form_scroll.setWidget(self.form)
        advanced = QWidget()
        advanced_column = QVBoxLayout(advanced)
        advanced_column.setContentsMargins(0, 0, 0, 0)
        advanced_column.addWidget(self.filter_edit)
        # The list of settings, the chosen one beside it (prices are the next tab).
        advanced_column.addWidget(MasterDetail(self.table, self.detail, list_share=0.62), 1)
        views = QStackedWidget()
        views.addWidget(form_scroll)
        views.addWidget(advanced)
        return views

    def page_shown(self) -> None:
        super().page_shown()
        self.read_login_switch()  # the tray or the installer may have flipped it
        self.reread_file()
        self.tasks.spawn(self._list_models(), what="list the gateway's models")

    async def _list_models(self) -> None:
        models = await self.engine.playground.models()
        self.form.show_models(models, ProviderNames.of(self.engine))
        self._show_form_values()  # a model named before the list came is named as listed

    def show_all(self, on: bool = True) -> None:
        """Show every setting in the table (the advanced view), or the controls."""
        self.views.setCurrentIndex(1 if on else 0)
        if self.all_button.isChecked() != on:
            self.all_button.setChecked(on)

    def _show_form_values(self) -> None:
        """Each control shows what config.toml holds now (with the environment over it), and
        the line under it what the file's read says of it (a note of an earlier read goes)."""
        for key in self.form.rows:
            decl = self._decl_at[self.row_of(key)]
            source = self._sources.get(key, "unknown")
            locked = read_only_reason(decl, source) or ""
            if not self._can_save:
                locked = locked or "This window cannot write the settings file."
            self.form.show_value(key, self._form_value(key), locked=locked)
            if not locked:
                self.form.show_status(key, self._form_note(key), error=key in self._refused)

    def _form_value(self, key: str) -> Any:
        """What `key`'s control shows: the file's value, or the one in effect where the file's
        is not known (not read) or refused."""
        if self._file is None or self._file_unread or key in self._refused:
            return self.engine.settings.value(key)
        return self._file.settings.value(key)

    def _form_note(self, key: str) -> str:
        """What the line under a control says once its value is saved (or differs from the
        running one, or is refused in the file): when it takes effect, or what is wrong."""
        if key in self._refused:
            return self._refusal_note(key)
        if key in self._saved:
            when = "in effect now" if is_live(key) else "used after a restart"
            return f"Saved to config.toml: {when}."
        status = self.status(key)
        return status[:1].upper() + status[1:]

    def _refusal_note(self, key: str) -> str:
        """A refused value's words where a setting is edited: what the file has, what is
        wrong, and what the control shows instead."""
        return (
            f"{self._refused[key]}. Shown: the value in effect; until a value is saved here, "
            "the next start stops on it."
        )

    def _form_committed(self, key: str, value: object) -> None:
        decl = self._decl_at[self.row_of(key)]
        self.tasks.spawn(self.write(decl, value), what=f"save {key}")

    def _file_text(self, problem: str | None, refused: Sequence[ConfigError] = ()) -> str:
        if self._config_file is None:
            return "Where each value came from is not known in this window."
        where = home_short(str(self._config_file))
        if problem is not None:
            return f"Settings file: {where} (cannot be read now: {problem})"
        if refused:
            what = "; ".join(f"{exc.key}: {exc.problem}" for exc in refused)
            if len(refused) == 1:
                return (
                    f"Settings file: {where} holds a refused value: {what} (the next start "
                    "stops on it until it is fixed)"
                )
            return (
                f"Settings file: {where} holds {len(refused)} refused values: {what} (the "
                "next start stops on them until they are fixed)"
            )
        exists = self._config_file.exists()
        return f"Settings file: {where}" + ("" if exists else " (not present yet: defaults apply)")

    def reread_file(self) -> None:
        """Read config.toml again (in the background) and show what it holds now."""
        if self._config_file is None:
            return
        if self._reading:
            self._read_again = True  # the read under way may have begun before the change
            return
        self._reading = self.tasks.spawn(self._reread(self._config_file), what="read settings")

    async def _reread(self, path: Path) -> None:
        read: SettingsRead | None = None
        problem: str | None = None
        try:
            read = await asyncio.to_thread(read_settings, path)
        except ConfigError as exc:  # the file as a whole: not TOML, not UTF-8, unreadable
            problem = exc.problem if exc.key == FILE_KEY else f"{exc.key}: {exc.problem}"
        finally:
            self._reading = False
        if self._read_again:  # what this read found may be gone: the next one says
            self._read_again = False
            self.reread_file()
            return
        self._take_read(read)
        self.file_label.setText(self._file_text(problem, read.problems if read else ()))
        set_tone(self.file_label, "error" if problem or self._refused else "")
        for row, decl in self._decl_at.items():
            self._fill_row(row, decl)
        self.columns.fit()
        self._show_detail()
        self._show_form_values()
        self.file_read.emit()

    def _take_read(self, read: SettingsRead | None) -> None:
        """Keep what a read of the file found: its settings and their sources, each refused
        value's words; None, when it found none, keeps the last ones for what the window
        changes live (`shown`), never to say what the file holds."""
        self._file_unread = read is None
        if read is None:
            self._refused = {}  # what the file holds now is not known: nor what it refuses
            return
        self._file = read.loaded
        self._sources = dict(read.loaded.sources)
        self._refused = {
            exc.key: self._refusal(self._decl_at[self.row_of(exc.key)], exc, read.file_values)
            for exc in read.problems
            if exc.key in self._row_of
        }
        # A value saved here that the file no longer holds (edited since): the file's is
        # said, not "saved".
        for key, value in list(self._saved.items()):
            if key in self._refused or read.loaded.settings.value(key) != value:
                del self._saved[key]

    @staticmethod
    def _refusal(decl: Declared, exc: ConfigError, file_values: Mapping[str, Any]) -> str:
        """What a refused value is and what is wrong with it: `config.toml has 0, refused: 0
        must be greater than 0`."""
        if exc.source.startswith("file ") and decl.key in file_values:
            held = written_value(decl, file_values[decl.key])
            return f"config.toml has {held}, refused: {exc.problem}"
        return f"{source_text(exc.source)} value refused: {exc.problem}"

    def _quiet_chosen(self, value: str) -> None:
        decl = self._decl_at[self.row_of("ui.quiet_hours")]
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
        if decl.key in CHANGED_LIVE and self._file is not None and decl.key not in self._refused:
            return self._file.settings.value(decl.key)
        return self.engine.settings.value(decl.key)

    def _fill_row(self, row: int, decl: Declared) -> None:
        source = self._sources.get(decl.key, "unknown")
        shown = self.shown(decl)
        status = self.status(decl.key)
        value = shown_value(decl, shown) + self._value_note(decl, shown)
        cells = (label_of(decl.key), value, source_text(source), status)
        for col, text in enumerate(cells):
            item = self.table.item(row, col)
            if item is None:  # first fill; later ones change the text, keeping the selection
                item = QTableWidgetItem()
                self.table.setItem(row, col, item)
            item.setText(text)
            if col == 0:
                item.setToolTip(f"{decl.key}\n{decl.doc}\nEnvironment variable: {decl.env}")
            elif col == 1:
                item.setToolTip(self._now_note(decl).strip() or text)  # port 0: what it means
            elif col == 2:
                item.setToolTip(source)
        if status:
            self.columns.unwanted.discard(3)

    def _group_row(self, row: int) -> None:
        """A group's heading: its name across the row, bold, not a setting to choose."""
        first = self._rows.get(row + 1)
        item = QTableWidgetItem(group_of(first.key) if first is not None else "")
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.table.setItem(row, 0, item)
        for col in range(1, len(COLUMNS)):  # under the span: empty, as a whole row reads
            blank = QTableWidgetItem()
            blank.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, col, blank)
        self.table.setSpan(row, 0, 1, len(COLUMNS))

    def row_of(self, key: str) -> int:
        """The table row of setting `key`.

        Raises:
            KeyError: no such setting.
        """
        return self._row_of[key]

    def select(self, key: str) -> None:
        """Show setting `key` in the editor (selects its row, in view, whatever the filter
        hid), in the view of every setting."""
        self.show_all(True)
        row = self.row_of(key)
        if self.table.isRowHidden(row):
            self.filter_edit.clear()
        self.table.selectRow(row)
        self.table.scrollTo(self.table.model().index(row, 0))

    def status(self, key: str) -> str:
        """What saving (here or in config.toml) did to `key`: nothing, applied, restart needed,
        or a value the file holds refused (and why)."""
        decl = self._decl_at[self.row_of(key)]
        if key in self._refused:
            return self._refused[key]
        if key not in self._saved:
            on_file = self._file.settings.value(decl.key) if self._file else None
            running = self.engine.settings.value(decl.key)
            if self._file is None or self._file_unread or key in CHANGED_LIVE or is_live(key):
                return ""
            if on_file != running:
                return f"config.toml has {shown_value(decl, on_file)}: restart needed"
            return ""
        value = self._saved[key]
        if is_live(key):
            return "saved, in effect now"
        if value == self.engine.settings.value(decl.key):
            return "saved"
        return f"saved {shown_value(decl, value)}: restart needed"

    def _apply_filter(self, text: str) -> None:
        wanted = text.strip().lower()
        heading, shown_under = 0, False
        for row, decl in self._rows.items():
            if decl is None:  # a group's heading: shown while one of its settings is
                if row:
                    self.table.setRowHidden(heading, not shown_under)
                heading, shown_under = row, False
                continue
            words = f"{decl.key} {label_of(decl.key)} {decl.doc}".lower()
            hidden = bool(wanted) and wanted not in words
            self.table.setRowHidden(row, hidden)
            shown_under = shown_under or not hidden
        self.table.setRowHidden(heading, not shown_under)

    def selected(self) -> Declared | None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        return self._decl_at.get(rows[0].row()) if rows else None

    # -- the editor ---------------------------------------------------------------------

    def _show_selected(self) -> None:
        self.message_label.clear()
        self._show_detail()

    def _show_detail(self) -> None:
        """The chosen setting's words and editor, as the file was last read."""
        decl = self.selected()
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
        self.key_label.setText(
            f"<b>{label_of(decl.key)}</b><br>{decl.key} (environment variable {decl.env})"
        )
        self.doc_label.setText(decl.doc + self._now_note(decl))
        self.open_file_button.setVisible(bool(reason and "config.toml" in reason))
        refusal = self._refusal_note(decl.key) if decl.key in self._refused else None
        self.reason_label.setText(reason or refusal or self._restart_note(decl.key))
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

    def _value_note(self, decl: Declared, value: Any) -> str:
        """What a value that stands for something else means, beside it in the list, short
        enough for its column at 1024 px (the cell's tooltip and the details say it whole):
        port 0 is "0 → 44165", the port it chose at start, not a bare 0."""
        if decl.key == "http.port" and value == 0:
            port = urlsplit(self.context.facts.endpoint).port
            return f" → {port}" if port else " (any free port)"
        return ""

    def _now_note(self, decl: Declared) -> str:
        """What a value that stands for something else means now (port 0: the one chosen)."""
        if decl.key == "http.port" and self.engine.settings.value(decl.key) == 0:
            port = urlsplit(self.context.facts.endpoint).port
            return f" 0 means a free port chosen at start: now {port}." if port else ""
        return ""

    def open_config_file(self) -> bool:
        """Open config.toml in the system's editor for it; False when it cannot be."""
        path = self._config_file
        if path is None:
            return False
        if not path.exists():
            self._say(f"{path} does not exist yet: saving a setting here creates it.")
            return False
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        if not opened:
            self._say(f"Could not open {path}: no editor answered.", error=True)
        return bool(opened)

    def _restart_note(self, key: str) -> str:
        """When a saved value takes effect (said before anything is saved)."""
        if is_live(key):
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
            value = (
                names_typed(decl, typed) if decl.type is list else checked_value(decl.key, typed)
            )
        except ConfigError as exc:
            self._say(f"{exc.key}: {exc.problem}. Nothing was saved.", error=True)
            return
        self.save_button.setEnabled(False)
        self._say(f"Saving {decl.key}…")
        self.tasks.spawn(self.write(decl, value), what=f"save {decl.key}")

    async def write(self, decl: Declared, value: Any) -> None:
        """Write `value` (already checked) for `decl` to the settings file."""
        try:
            await self.engine.live_settings.save(LOCAL_CALLER, decl.key, value)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("could not save %s: %s", decl.key, exc)
            self._say(f"{decl.key}: could not be saved: {exc}", error=True)
            if decl.key in self.form.rows:
                self.form.not_saved(decl.key, str(exc), self._form_value(decl.key))
            self.save_failed.emit(decl.key, str(exc))
            return
        finally:
            self.save_button.setEnabled(True)
        self._saved[decl.key] = value
        self._refused.pop(decl.key, None)  # the file holds the value just written
        self.saved.emit(decl.key, value)
        self._fill_row(self.row_of(decl.key), decl)
        when = "in effect now" if is_live(decl.key) else "used after a restart"
        self._say(f"{decl.key} saved to config.toml: {when}.")
        if decl.key in self.form.rows:
            self.form.show_status(decl.key, self._form_note(decl.key))
        self.reread_file()

    def _say(self, text: str, *, error: bool = False) -> None:
        set_tone(self.message_label, "error" if error else "")
        self.message_label.setText(text)
