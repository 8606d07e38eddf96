"""The Settings page's controls: every setting a person is expected to change, as a control of
its kind, under a heading of what it is for.

Numbers are spin boxes in the unit a person thinks in (seconds, minutes, days: the file keeps
milliseconds), models a picker of the gateway's models (any id may be typed), a few words a
list to choose from, on/off a switch. Each is checked as it changes with the setting's own
check (`config.file.checked_value`): a refused value is said in red under its control and
nothing is written. A change is committed when the control is left (a number or a model) or at
once (a switch, a choice): `committed(key, value)` asks the page to write it to config.toml,
and the line under the control then says whether it is in effect now or after a restart
(`show_status`). A setting the environment sets is shown, disabled, its variable named. A
table a person writes in config.toml (the guard's rules) is listed in words beside the
settings it goes with, with where to change it.

What the form lists is one table (`SECTIONS`); the page's "All settings" view lists every
setting, these included. A limit of calls at once per provider above the one in all is not
refused (it is valid, only moot): the line under the two says so, and which applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.file import checked_value
from llmgw_desktop.config.settings import ConfigError, Declared
from llmgw_desktop.config.settings_guard import ASK_FALLBACKS, GUARD_ACTIONS, UNSCANNED_CHOICES
from llmgw_desktop.config.settings_jobs import moot_limit
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import caption, heading
from llmgw_desktop.ui.pages.guard_text import rules_words
from llmgw_desktop.ui.pages.playground_models import ModelPicker
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["SECTIONS", "Control", "SettingsForm", "from_shown", "to_shown"]

MOST = 2_000_000_000  # a spin box's ceiling (the setting's own check says what is sensible)
# The limits of calls at once, in all and per provider: a line under them says when the second
# can never be reached (`settings_jobs.moot_limit`).
LIMITS = ("jobs.max_concurrent", "jobs.max_concurrent_per_provider")


class WholeWhereWhole(QDoubleSpinBox):
    """A number with a tenth where it has one: "45 s", "2.5 s" (not "45.0 s")."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Control:
    """One setting as a control: its words, and how its value is shown."""

    key: str
    label: str
    unit: str = ""  # after a number ("s", "min", "days")
    scale: int = 1  # the file's value is the shown one times this (ms shown as s: 1000)
    choices: tuple[str, ...] = ()  # one of these words
    model: bool = False  # a model of the gateway's ("" for none)
    none: str = ""  # what an empty model means, as the picker's placeholder
    listing: bool = False  # a table, shown in words (`guard_text.rules_words`), never edited


SECTIONS: tuple[tuple[str, tuple[Control, ...]], ...] = (
    (
        "Models",
        (
            Control(
                "gateway.default_model",
                "Model when a request names none",
                model=True,
                none="none: the first that answers",
            ),
            Control(
                "gateway.small_request_model",
                "Cheaper model for small requests",
                model=True,
                none="none: small requests go where they ask",
            ),
            Control("gateway.small_request_max_tokens", "Small means at most", unit="tokens"),
        ),
    ),
    (
        "Coding tools (jobs)",
        (
            Control("jobs.max_concurrent", "Calls at once, in all"),
            Control("jobs.max_concurrent_per_provider", "Calls at once, per provider"),
            Control("jobs.sync_deadline_ms", "Answer in the call for up to", "s", 1000),
            Control("providers.timeout_ms", "Stop a tool's run after", "min", 60_000),
            Control("providers.idle_timeout_ms", "Stop a tool silent for", "min", 60_000),
            # A tool's run only: an API call goes on to its next key or target instead (a
            # review found it under "Calls to API providers", where it changed nothing).
            Control("providers.retry_attempts", "Tries for a busy or rate-limited tool"),
            Control("jobs.stuck_after_ms", "Call a job stuck when silent for", "s", 1000),
            Control("jobs.retention_days", "Keep finished jobs for", "days"),
        ),
    ),
    (
        "Calls to API providers",
        (
            Control(
                "gateway.connect_timeout_ms",
                "Try the next provider or key if connecting takes",
                "s",
                1000,
            ),
            Control(
                "gateway.first_byte_timeout_ms",
                "Try the next provider or key if a streamed answer has not begun in",
                "s",
                1000,
            ),
            Control("gateway.upstream_timeout_ms", "Give up on an answer after", "s", 1000),
            Control("gateway.detect_local", "Look for local model servers (Ollama, LM Studio)"),
        ),
    ),
    (
        "Secrets and your rules, before a request leaves",
        (
            Control("guard.secrets", "When a request holds a secret", choices=GUARD_ACTIONS),
            Control("guard.unscanned", "A request too large to read", choices=UNSCANNED_CHOICES),
            Control("guard.ask_fallback", "When Ask gets no answer", choices=ASK_FALLBACKS),
            Control(
                "guard.personal_data", "Also look for e-mail addresses, phone and card numbers"
            ),
            Control("guard.scan_answers", "Mask your own keys where an answer repeats them"),
            Control("guard.rules", "Your own rules", listing=True),
        ),
    ),
    (
        "Flight recorder",
        (
            Control("recorder.retention_days", "Keep requests for", "days"),
            Control("recorder.max_rows", "Keep at most", "requests"),
        ),
    ),
    (
        "Window and log",
        (
            Control("ui.start_hidden", "Start in the tray, without the window"),
            Control("log.level", "Log detail", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
        ),
    ),
)


def to_shown(control: Control, value: Any) -> Any:
    """The file's value as the control shows it (milliseconds as seconds or minutes)."""
    if control.scale != 1 and isinstance(value, int):
        return value / control.scale
    return value


def from_shown(control: Control, shown: Any) -> Any:
    """What the control shows as the file's value (seconds back to whole milliseconds)."""
    if control.scale != 1:
        return round(float(shown) * control.scale)
    return shown


class _Row(QWidget):
    """A control, then the line that says what became of it (checked, saved, refused)."""

    def __init__(self, control: Control, editor: QWidget) -> None:
        super().__init__()
        self.control = control
        self.editor = editor
        self.note = caption()
        self.note.setObjectName(f"settingNote:{control.key}")
        self.note.hide()
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        # A listing's words take the row's width: beside a stretch, a wrapping label took its
        # narrowest and wrapped one sentence into five lines of 120 px.
        line.addWidget(editor, 1 if control.listing else 0)
        if control.unit:
            line.addWidget(QLabel(control.unit))
        if not control.listing:
            line.addStretch(1)
        self.column = column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(line)
        column.addWidget(self.note)

    def say(self, text: str, tone: str = "muted") -> None:
        set_tone(self.note, tone)
        self.note.setText(text)
        self.note.setVisible(bool(text))


class SettingsForm(QWidget):
    """The controls of `SECTIONS`; `committed(key, value)` when one is changed and valid."""

    committed = Signal(str, object)

    def __init__(self, decls: Mapping[str, Declared], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsForm")
        self.rows: dict[str, _Row] = {}
        self._values: dict[str, Any] = {}  # what each control shows as saved
        self._filling = False
        # One form for every section, so the controls of all of them line up.
        self.form = form = QFormLayout(self)
        form.setContentsMargins(0, 0, SPACE["s"], 0)
        form.setHorizontalSpacing(SPACE["l"])
        form.setVerticalSpacing(SPACE["s"])
        for title, controls in SECTIONS:
            self._heading(title)
            for control in controls:
                decl = decls[control.key]
                row = _Row(control, self._editor(control, decl.type))
                row.editor.setToolTip(f"{decl.doc}\n({control.key})")
                self.rows[control.key] = row
                label = QLabel(control.label)
                label.setToolTip(row.editor.toolTip())
                label.setBuddy(row.editor)
                form.addRow(label, row)
        self._build_limits_note()

    def _build_limits_note(self) -> None:
        """The line under the two limits of calls at once, shown while the one per provider is
        moot: under the per-provider control's own line (which stays its save's), as close."""
        self.limits_note = caption()
        self.limits_note.setObjectName("settingsLimitsNote")
        set_tone(self.limits_note, "muted")
        self.limits_note.hide()
        self.rows[LIMITS[1]].column.addWidget(self.limits_note)
        for key in LIMITS:
            spin = self.rows[key].editor
            assert isinstance(spin, QSpinBox)
            # As a value is shown or typed, before it is saved (and while filling too).
            spin.valueChanged.connect(lambda _value: self._say_limits())

    def _say_limits(self) -> None:
        """Show the line while the limit per provider is moot, as the two controls hold them."""
        note = moot_limit(*(int(self.typed(key)) for key in LIMITS))
        self.limits_note.setText(note or "")
        self.limits_note.setVisible(note is not None)

    def _heading(self, title: str) -> None:
        label = heading(title)
        label.setContentsMargins(0, SPACE["m"] if self.form.rowCount() else 0, 0, 0)
        self.form.addRow(label)

    def add_section(self, title: str, widgets: Sequence[QWidget]) -> None:
        """A heading and widgets of the page's own (start at login, quiet hours)."""
        self._heading(title)
        for widget in widgets:
            self.form.addRow(widget)

    # -- showing --------------------------------------------------------------------------

    def show_value(self, key: str, value: Any, *, locked: str = "") -> None:
        """Show `value` (the file's) on `key`'s control; `locked` says why it cannot change."""
        row = self.rows[key]
        self._values[key] = value
        self._filling = True
        try:
            self._set_editor(row, to_shown(row.control, value))
        finally:
            self._filling = False
        # A listing is words, never edited: locking it would only grey out what it says.
        row.editor.setEnabled(not locked or row.control.listing)
        if locked:
            row.say(locked)

    def show_models(self, models: Sequence[dict[str, Any]], names: ProviderNames) -> None:
        """List the gateway's models in the model pickers (what each shows stays)."""
        self._filling = True
        try:
            for row in self.rows.values():
                if isinstance(row.editor, ModelPicker):
                    row.editor.set_models(models, names)
        finally:
            self._filling = False

    def show_status(self, key: str, text: str, *, error: bool = False) -> None:
        """Say under `key`'s control what became of it ("Saved: in effect now")."""
        self.rows[key].say(text, "error" if error else "muted")

    def not_saved(self, key: str, why: str, kept: Any) -> None:
        """Say under `key`'s control that its value could not be written (`why`). `kept`,
        what the file still holds, is its saved value again: the same value tried again is
        written, not taken as saved already."""
        self._values[key] = kept
        self.show_status(key, f"Not saved: {why}", error=True)

    # -- editing --------------------------------------------------------------------------

    def _editor(self, control: Control, kind: type) -> QWidget:
        name = f"setting:{control.key}"
        editor: QWidget
        if control.listing:
            listing = QLabel()
            listing.setObjectName(name)
            listing.setWordWrap(True)
            listing.setTextFormat(Qt.TextFormat.PlainText)
            listing.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            editor = listing
        elif control.model:
            picker = ModelPicker(name, control.none)
            picker.setMinimumContentsLength(28)
            line = picker.lineEdit()
            if line is not None:
                line.textEdited.connect(lambda _t, c=control: self._check(c))
                line.editingFinished.connect(lambda c=control: self._commit(c))
            picker.activated.connect(lambda _i, c=control: self._commit(c))
            editor = picker
        elif control.choices:
            box = QComboBox()
            box.setObjectName(name)
            box.addItems(control.choices)
            box.currentTextChanged.connect(lambda _t, c=control: self._commit(c))
            editor = box
        elif kind is int:
            editor = self._number(control, name)
        elif kind is bool:
            switch = Switch()
            switch.setObjectName(name)
            switch.setAccessibleName(control.label)
            switch.toggled.connect(lambda _on, c=control: self._commit(c))
            editor = switch
        else:
            raise TypeError(f"{control.key}: no control for a {kind.__name__} setting")
        return editor

    def _number(self, control: Control, name: str) -> QWidget:
        spin: QSpinBox | QDoubleSpinBox
        if control.scale != 1:
            spin = WholeWhereWhole()
            spin.setDecimals(1)
            spin.setRange(0, MOST / control.scale)
        else:
            spin = QSpinBox()
            spin.setRange(0, MOST)
            spin.setGroupSeparatorShown(True)
        spin.setObjectName(name)
        spin.setAccessibleName(control.label)
        spin.setMinimumWidth(120)
        spin.valueChanged.connect(lambda _v, c=control: self._check(c))
        spin.editingFinished.connect(lambda c=control: self._commit(c))
        return spin

    def typed(self, key: str) -> Any:
        """What `key`'s control holds now, as the file would keep it."""
        row = self.rows[key]
        editor = row.editor
        if isinstance(editor, ModelPicker):
            return editor.chosen_model()
        if isinstance(editor, QComboBox):
            return editor.currentText()
        if isinstance(editor, Switch):
            return editor.isChecked()
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            return from_shown(row.control, editor.value())
        raise TypeError(f"no control for {key}")

    def _check(self, control: Control) -> Any:
        """The control's value checked, or None after saying why it is refused."""
        if self._filling:
            return None
        typed = self.typed(control.key)
        try:
            value = checked_value(control.key, typed if isinstance(typed, bool) else str(typed))
        except ConfigError as exc:
            self.show_status(control.key, f"{exc.problem}: not saved", error=True)
            return None
        self.show_status(control.key, "")
        return value

    def _commit(self, control: Control) -> None:
        if self._filling:
            return
        value = self._check(control)
        if value is None or value == self._values.get(control.key):
            return
        self._values[control.key] = value
        self.show_status(control.key, "Saving…")
        self.committed.emit(control.key, value)

    def _set_editor(self, row: _Row, shown: Any) -> None:
        editor = row.editor
        if isinstance(editor, QLabel):
            editor.setText(rules_words(shown if isinstance(shown, dict) else {}))
        elif isinstance(editor, ModelPicker):
            editor.choose(str(shown or ""))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(shown))
        elif isinstance(editor, Switch):
            editor.setChecked(bool(shown))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(shown))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(shown))
