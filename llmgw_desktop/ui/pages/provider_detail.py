"""The Providers page's details card: everything about the provider chosen in the list.

Its status as a badge with the reason in words, its switch, the models it answers for (each
a line: choosing one makes it the one a Test asks), version and circuit, where it runs or is
reached, its keys, where its model list comes from and the model a Test asks, stale config
entries naming it, its default model, a CLI's login (from the CLI's own files) and upgrade
plan, and the Test button with its last result. The page fills it (`show_row`); the card only
lays the facts out.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import THROUGH_GATEWAY, CliAccount
from llmgw_desktop.ui.attention import KEY_REFUSED, VENDOR_UNAVAILABLE
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import home_short_in
from llmgw_desktop.ui.pages.cli_account import account_cells
from llmgw_desktop.ui.pages.provider_rows import (
    CLI_DEFAULT_MODEL,
    ERROR,
    SWITCHED_OFF,
    WARNING,
    ProviderRow,
    circuit_open,
    unusable_reason,
)
from llmgw_desktop.ui.qt import (
    QComboBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = [
    "SWITCH_OFF_WORDS",
    "SWITCH_ON_WORDS",
    "ProviderDetail",
    "model_line",
    "status_kind",
]

SWITCH_ON_WORDS = "On: tools can call it"
MODELS_SHOWN = 8  # the model list's lines before it scrolls
SWITCH_OFF_WORDS = "Switched off: calls are refused"

# A provider's status words -> the badge kind that shows them (badge.py's vocabulary).
_KINDS = {
    "Ready": "ok",
    "Some calls fail": "warning",
    "Paused": "paused",
    SWITCHED_OFF: "off",
    "Off in config.toml": "off",
    "Detected, off": "off",
    "Not installed": "missing",
    "Not running": "missing",
    "No API key": "missing",
}


def status_kind(row: ProviderRow) -> str:
    """The badge kind of a provider's status: failing ones red, the rest by their words."""
    if row.attention == ERROR:
        return "error"
    kind = _KINDS.get(row.status, "ok" if row.recent_failures else "unknown")
    if kind == "ok" and row.attention == WARNING:
        # It answers, but some of its recent calls failed, or config.toml names models it
        # does not list (and no call for them answered since).
        return "warning"
    return kind


class ProviderDetail(DetailCard):
    """The chosen provider's facts and its Test; the page wires the controls."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("providerDetail", parent)
        # The key whose provider tells the shown agent its model at each run ("OpenAI's key"),
        # or "" for any other provider (`show_row`).
        self._told_by = ""
        self.status_label = value_label("statusDetail")
        # A switch on its label's line, saying what its position means.
        self.enabled_box = Switch(SWITCH_ON_WORDS)
        self.enabled_box.setObjectName("providerEnabled")
        self.enabled_box.setAccessibleName("Let tools call it through the gateway")
        self.enabled_box.toggled.connect(self._say_switch)
        self.config_state = value_label("configState")
        self.version_label = value_label("providerVersion")
        self.circuit_label = value_label("providerCircuit")
        self.where_label = value_label("providerWhere")
        self.keys_label = value_label("providerKeys")
        self.login_label = value_label("providerLogin")
        self.model_box = QComboBox()
        self.model_box.setObjectName("modelChoice")
        self.model_box.setEditable(True)  # any model id the provider takes, not only listed ones
        self.model_box.setToolTip("The model the Test button asks")
        models = self._models_row()
        self.models_note = value_label("modelsNote")
        self.stale_detail = value_label("staleDetail")
        set_tone(self.stale_detail, "warning")
        self.default_label = value_label("defaultModel")
        plan_row = self._upgrade_plan_row()
        test_row = self._test_row()
        self.edit_button = action_button(
            "Edit provider…", "editProvider", icon="edit", tip="Change your provider's settings"
        )
        self.keys_button = action_button(
            "Keys…",
            "providerKeysButton",
            icon="keys",
            tip="Add, replace or remove its API key on the Provider keys page",
        )
        self.add_row("Status", self.status_label)
        self.add_row("Switch", self.enabled_box)
        self.add_row("Models", models)
        self.add_row("Test", test_row)
        self.add_row("Model to test", self.model_box)
        self.add_row("Version", self.version_label)
        self.add_row("Circuit", self.circuit_label)
        self.add_row("Login", self.login_label)
        self.add_row("Where", self.where_label)
        self.add_row("API keys", self.keys_label)
        self.add_row("Model list", self.models_note)
        self.add_row("Warnings", self.stale_detail)
        self.add_row("Default model", self.default_label)
        self.add_row("Upgrade plan", plan_row)
        self.add_row("config.toml", self.config_state)
        self._plan_row = plan_row
        self.action_row.addWidget(self.edit_button)
        self.action_row.addWidget(self.keys_button)
        self.action_row.addStretch(1)

    def _models_row(self) -> QVBoxLayout:
        """Every model it answers for, a line each under their count, as a local server's own
        app opens on its model list; choosing one makes it the model the Test asks."""
        self.models_list = QListWidget()
        self.models_list.setObjectName("providerModels")
        self.models_list.setAccessibleName("Models")
        self.models_list.setToolTip("The models it answers for; choose one to Test it")
        self.models_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.models_list.currentItemChanged.connect(self._model_listed_chosen)
        self.models_count = value_label("providerModelsCount")
        models = QVBoxLayout()
        models.setSpacing(SPACE["xs"])
        models.addWidget(self.models_count)
        models.addWidget(self.models_list)
        return models

    def _upgrade_plan_row(self) -> QVBoxLayout:
        """The upgrade command on its own lines, its Copy under it: beside it, a long
        command's last line was cut."""
        self.plan_label = value_label("upgradePlan")
        self.copy_plan = action_button(
            "Copy", "copyPlan", icon="copy", tip="Copy the command to the clipboard"
        )
        plan_row = QVBoxLayout()
        plan_row.setSpacing(SPACE["xs"])
        plan_row.addWidget(self.plan_label)
        plan_row.addWidget(self.copy_plan, 0, Qt.AlignmentFlag.AlignLeft)
        return plan_row

    def _test_row(self) -> QHBoxLayout:
        """Test, and its result beside it, spaced apart from the button so they read as two
        things (as on the MCP servers page)."""
        self.test_button = action_button(
            "Test", "testProvider", icon="test", tip="Send it a tiny request and show the answer"
        )
        self.test_label = value_label("testResult")
        test_row = QHBoxLayout()
        test_row.setSpacing(SPACE["m"])
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_label, 1)
        return test_row

    def show_row(
        self,
        row: ProviderRow,
        *,
        switched_on: bool,
        custom: bool,
        account: CliAccount | None,
    ) -> None:
        """Lay out `row`'s facts (the model choice and the test line are the page's)."""
        self.heading.setText(f"{row.name} · {row.kind}")
        self.badge.set_status(status_kind(row), row.status)
        # The status said once ("Not logged in: run ...", not "Not logged in: not logged in").
        said = unusable_reason(row) if row.reason else row.status
        # It begins the line: "Not logged in: run ...", as "Vendor unavailable: pointed at ..." is.
        self.status_label.setText(said[:1].upper() + said[1:])
        tone = {ERROR: "error", WARNING: "warning"}.get(row.attention, "")
        set_tone(self.status_label, tone)
        self.set_row_visible(self.enabled_box, row.switch_id is not None)
        self.enabled_box.blockSignals(True)
        self.enabled_box.setChecked(switched_on)
        self.enabled_box.blockSignals(False)
        # Nothing can run without the CLI, whatever its switch says.
        self.enabled_box.setEnabled(row.installed)
        self.test_button.setEnabled(row.installed)
        self._say_switch(switched_on)
        self.set_row_visible(self.config_state, not row.is_cli)
        self.config_state.setText(
            "Yours: Edit provider… changes it (saved under [gateway.providers])."
            if custom
            else "Keys… sets its API key (kept in the vault); a base URL or models of your own "
            "go in config.toml under [gateway.providers]."
        )
        self.edit_button.setVisible(custom)
        self.keys_button.setVisible(not row.is_cli and row.kind != "Local server")
        self.set_row_visible(self.version_label, row.is_cli)
        self.version_label.setText(row.version)
        self.set_row_visible(self.circuit_label, row.is_cli)
        self.circuit_label.setText(row.circuit)
        set_tone(self.circuit_label, "error" if circuit_open(row.circuit) else "")
        self.set_row_visible(self.login_label, row.is_cli)
        self.login_label.setText(_login_words(account, row))
        self.default_label.setText(_default_words(account, row))
        # Told a model at each run (`_default_words`): its own list is not what its calls ask.
        self._told_by = (
            account.method or "its vendor's key"
            if account is not None and account.state == THROUGH_GATEWAY and row.installed
            else ""
        )
        self.where_label.setText(row.where)
        self.set_row_visible(self.keys_label, not row.is_cli)
        self.keys_label.setText(row.keys or "none found")
        self.set_row_visible(self.models_note, not row.is_cli)
        self.models_note.setText(row.models_note)
        self.set_row_visible(self.stale_detail, bool(row.stale))
        self.stale_detail.setText("\n".join(row.stale))
        self.set_row_visible(self._plan_row, row.is_cli)
        self.plan_label.setText("\n".join((row.plan, *row.notes)))

    def show_switch(self, on: bool) -> None:
        """Say the switch's position (it was turned elsewhere)."""
        self._say_switch(on)

    def _say_switch(self, on: bool) -> None:
        """The switch's words: what its position means now."""
        installed = self.enabled_box.isEnabled()
        words = SWITCH_ON_WORDS if on else SWITCH_OFF_WORDS
        self.enabled_box.setText(words if installed else "Not installed: nothing can run")
        self.enabled_box.setToolTip(self.enabled_box.text())
        self.enabled_box.updateGeometry()
        self.enabled_box.update()

    def list_models(self, row: ProviderRow, chosen: str | None) -> None:
        """List `row`'s models, and offer them to test (a CLI's own default first), keeping
        `chosen`."""
        self.model_box.blockSignals(True)
        self.model_box.clear()
        if row.is_cli:
            self.model_box.addItem(CLI_DEFAULT_MODEL)
        self.model_box.addItems(list(row.models))
        if chosen is not None:
            self.model_box.setCurrentText(chosen)
        self.model_box.blockSignals(False)
        self._show_models(row)

    def _show_models(self, row: ProviderRow) -> None:
        """The models it answers for, each a line, as tall as they are up to `MODELS_SHOWN`
        lines (then it scrolls); what there is to say when it lists none."""
        models = list(row.models)
        lines = [model_line(row, model) for model in models]
        shown = [self.models_list.item(i).text() for i in range(self.models_list.count())]
        if shown != lines:
            self.models_list.blockSignals(True)
            self.models_list.clear()
            for model, text in zip(models, lines, strict=True):
                item = QListWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, model)
                self.models_list.addItem(item)
            self.models_list.blockSignals(False)
        count = len(models)
        counted = f"{count} model{'s' if count != 1 else ''}"
        if row.not_listed:
            # Which come from where, so none is read as one the provider lists.
            counted += f", {len(row.not_listed)} from {row.models_from}, not in its own list"
        if count and row.status == KEY_REFUSED:
            # Its models are held back while its key is refused: /v1/models offers none (a
            # review read "6 models" beside an empty /v1/models).
            self.models_count.setText(f"{counted}, none offered while its key is refused")
        elif count and self._told_by:
            # Its own list, beside a run told one of its vendor's (a review read its own
            # `qwen3-coder-plus` beside a job whose every call asked `gpt-5-fake`).
            self.models_count.setText(
                f"{counted} of its own; each run is told one {self._told_by} answers"
            )
        elif count:
            self.models_count.setText(counted)
        elif row.is_cli and not row.installed:
            self.models_count.setText("none until it is installed")
        else:
            self.models_count.setText("none listed (a model of its own can still be asked)")
        self.models_list.setVisible(bool(count))
        line = self.models_list.sizeHintForRow(0) if count else 0
        frame = 2 * self.models_list.frameWidth()
        self.models_list.setFixedHeight(frame + line * min(count, MODELS_SHOWN))

    def _model_listed_chosen(self, item: QListWidgetItem | None) -> None:
        model = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if model:
            self.model_box.setCurrentText(model)  # the page hears it as the model to test


def model_line(row: ProviderRow, model: str) -> str:
    """A model's line in the Models box: `gpt-4o-mini`, or `gpt-4o-mini (config.toml, not in
    its list)` for one the provider's own list does not name."""
    if model in row.not_listed:
        return f"{model} ({row.models_from}, not in its list)"
    return model


def _default_words(account: CliAccount | None, row: ProviderRow) -> str:
    """The model a provider answers with where none is asked for. An agent pointed at the
    gateway is told one at each run (`auth/agent_callbacks`): it read "(the CLI's own
    default): the gateway pins none" while every run was told a model (a review)."""
    if account is None or account.state != THROUGH_GATEWAY or not row.installed:
        return row.default_model
    key = account.method or "its vendor's key"  # "OpenAI's key"
    return (
        f"told by the gateway at each run: the model asked for where {key} answers it, else "
        "the first model that key answers"
    )


def _login_words(account: CliAccount | None, row: ProviderRow) -> str:
    """A CLI's login as its own files tell (read offline; never a secret)."""
    if not row.installed:
        return "—"
    if account is None:
        return "reading…"
    _name, login, who, plan, detail = account_cells(account)
    words = login + (f" as {who}" if who else "") + (f" · plan {plan}" if plan else "")
    if row.status == VENDOR_UNAVAILABLE:
        # "with its OpenAI key" beside a gateway that has none, or one refused: the status
        # says why its vendor answers nothing.
        detail = f"{detail}, which answers nothing now (see Status)" if detail else detail
    return f"{words}\n{home_short_in(detail)}" if detail else words
