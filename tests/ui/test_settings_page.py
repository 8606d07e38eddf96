"""The Settings page against a real, started engine writing a real config.toml.

It shows each effective setting with where it came from (secrets masked), edits only the safe
ones, checks a value with the setting's own check before anything is written, saves through
the engine keeping the file's comments, and says when a restart is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.file import ConfigFileWriter
from llmgw_desktop.config.settings import declared_settings, load_settings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts
from llmgw_desktop.ui.pages.playground_models import ModelPicker
from llmgw_desktop.ui.pages.settings_form import SECTIONS
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from llmgw_desktop.ui.pages.settings_rules import read_only_reason
from llmgw_desktop.ui.qt import QDesktopServices, QDoubleSpinBox, QLabel, QScrollArea, QSpinBox
from tests.waiting import until

TOKEN = "s3cr3t-bearer-token-0123456789-abcdefghijkl"
CONFIG = f"""# my gateway
[jobs]
# keep it modest on this laptop
max_concurrent = 6

[log]
level = "INFO"  # chatty enough

[http]
auth_token = "{TOKEN}"
"""


@pytest.fixture
def config(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLM_GATEWAY_HTTP_PORT", "0")
    config_path.write_text(CONFIG, encoding="utf-8")
    return config_path


@pytest.fixture
def root_level() -> Iterator[None]:
    """The page may change the log level live; put it back for the tests that follow."""
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


@asynccontextmanager
async def settings_page(
    qtbot: QtBot, endpoint: str = "http://x/mcp"
) -> AsyncIterator[tuple[SettingsPage, Engine]]:
    """A started engine and its Settings page; qtbot owns the page, so Qt deletes it after
    the test and outside the loop, never when the garbage collector happens to run."""
    loaded = load_settings()
    engine = Engine(loaded.settings, settings_writer=ConfigFileWriter(loaded.config_file))
    await engine.start()
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: "http://x/mcp", open_dashboard=lambda: None, quit_app=lambda: None
    )
    settings = loaded.settings
    facts = WindowFacts(endpoint, "http://x/health", settings.data_path, settings.log_path, loaded)
    page = SettingsPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    qtbot.addWidget(page)
    page.show()
    try:
        yield page, engine
    finally:
        bridge.detach()
        await engine.stop()


class OnSettings(Protocol):
    """`on_settings(body, endpoint=...)`: `await body(page, engine)` (see the fixture)."""

    def __call__(
        self, body: Callable[[SettingsPage, Engine], Awaitable[None]], *, endpoint: str = ...
    ) -> None: ...


@pytest.fixture
def on_settings(qloop: qasync.QEventLoop, qtbot: QtBot) -> OnSettings:
    """`on_settings(body, endpoint=...)`: the Settings page on a started engine
    (`settings_page`, the window's MCP endpoint `endpoint`), and `await body(page, engine)` run
    on the desktop's loop."""

    def run(
        body: Callable[[SettingsPage, Engine], Awaitable[None]], *, endpoint: str = "http://x/mcp"
    ) -> None:
        async def scenario() -> None:
            async with settings_page(qtbot, endpoint) as (page, engine):
                await body(page, engine)

        qloop.run_until_complete(scenario())

    return run


def _row(page: SettingsPage, key: str) -> list[str]:
    row = page.row_of(key)
    return [page.table.item(row, col).text() for col in range(page.table.columnCount())]


def test_shows_each_value_with_its_source_and_masks_secrets(
    on_settings: OnSettings, config: Path
) -> None:
    async def body(page: SettingsPage, _engine: Engine) -> None:
        assert str(config) in page.file_label.text()
        # A label a person reads, in its group (review 41, finding 18); the key is kept in
        # its tooltip and the details.
        assert _row(page, "jobs.max_concurrent") == [
            "Max concurrent",
            "6",
            "config.toml",
            "",
        ]
        assert (
            "jobs.max_concurrent"
            in page.table.item(page.row_of("jobs.max_concurrent"), 0).toolTip()
        )
        assert _row(page, "jobs.max_queued")[1:3] == ["64", "default"]
        assert _row(page, "gateway.detect_local")[1:3] == ["off", "environment"]
        from_env = page.table.item(page.row_of("gateway.detect_local"), 2)
        assert from_env.toolTip() == "env LLM_GATEWAY_DETECT_LOCAL"
        assert _row(page, "providers.timeout_ms")[0] == "Timeout (ms)"
        assert _row(page, "http.auth_token")[1:3] == ["***", "config.toml"]
        everything = [
            page.table.item(r, c).text()
            for r in range(page.table.rowCount())
            for c in range(page.table.columnCount())
        ]
        assert not any(TOKEN in text for text in everything)
        page.filter_edit.setText("timeout")
        shown = [
            page.table.item(r, 0).text()
            for r in range(page.table.rowCount())
            if not page.table.isRowHidden(r)
        ]
        assert "Timeout (ms)" in shown and "Max concurrent" not in shown

    on_settings(body)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("http.auth_token", "security setting"),
        ("http.host", "security setting"),
        ("http.oauth.enabled", "security setting"),
        ("workspaces.default", "security setting"),
        ("approval.allow_bypass", "security setting"),
        ("gateway.detect_local", "environment variable LLM_GATEWAY_DETECT_LOCAL"),
        ("gateway.fallback", "list or table"),
        ("paths.data_dir", "keeps its files"),
    ],
)
def test_unsafe_settings_are_read_only(
    on_settings: OnSettings, config: Path, key: str, why: str
) -> None:
    async def body(page: SettingsPage, _engine: Engine) -> None:
        page.select(key)
        assert key in page.key_label.text()
        assert why in page.reason_label.text()
        assert not page.save_button.isVisible()
        assert not page.value_edit.isVisible() and not page.value_box.isVisible()
        page.save()  # Enter in a hidden editor: nothing happens
        assert config.read_text(encoding="utf-8") == CONFIG

    on_settings(body)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("0", "0 must be greater than 0"), ("many", "'many' is not a whole number")],
)
def test_a_bad_value_names_the_key_and_writes_nothing(
    on_settings: OnSettings, config: Path, typed: str, problem: str
) -> None:
    async def body(page: SettingsPage, _engine: Engine) -> None:
        page.select("jobs.max_concurrent")
        assert page.value_edit.text() == "6"
        page.value_edit.setText(typed)
        page.save_button.click()
        assert page.message_label.text() == (f"jobs.max_concurrent: {problem}. Nothing was saved.")
        await asyncio.sleep(0.05)  # were anything spawned, it would have run by now
        assert config.read_text(encoding="utf-8") == CONFIG
        assert _row(page, "jobs.max_concurrent")[3] == ""

    on_settings(body)


def test_saving_keeps_comments_and_says_restart_needed(
    on_settings: OnSettings, config: Path
) -> None:
    async def body(page: SettingsPage, engine: Engine) -> None:
        page.select("jobs.max_concurrent")
        page.value_edit.setText(" 12 ")
        page.save_button.click()
        await until(lambda: "saved" in page.message_label.text(), "saved")
        assert "after a restart" in page.message_label.text()
        assert _row(page, "jobs.max_concurrent") == [
            "Max concurrent",
            "6",  # the running engine keeps its value until the next start
            "config.toml",
            "saved 12: restart needed",
        ]
        assert engine.settings.jobs.max_concurrent == 6

        page.select("ui.start_hidden")
        assert page.value_box.isVisible() and not page.value_box.isChecked()
        page.value_box.setChecked(True)
        page.save_button.click()
        await until(lambda: _row(page, "ui.start_hidden")[3] != "", "saved switch")
        assert _row(page, "ui.start_hidden")[3] == "saved on: restart needed"

    on_settings(body)
    text = config.read_text(encoding="utf-8")
    assert "# keep it modest on this laptop\nmax_concurrent = 12\n" in text
    assert 'level = "INFO"  # chatty enough' in text and text.startswith("# my gateway\n")
    reloaded = load_settings()
    assert reloaded.settings.jobs.max_concurrent == 12
    assert reloaded.settings.ui.start_hidden is True
    assert reloaded.settings.http.auth_token == TOKEN
    assert reloaded.sources["ui.start_hidden"] == f"file {config}"


def test_the_log_level_takes_effect_at_once(
    on_settings: OnSettings, config: Path, root_level: None
) -> None:
    async def body(page: SettingsPage, _engine: Engine) -> None:
        page.select("log.level")
        assert "as soon as it is saved" in page.reason_label.text()
        page.value_edit.setText("DEBUG")
        page.value_edit.returnPressed.emit()  # Enter saves too
        await until(lambda: _row(page, "log.level")[3] != "", "saved level")
        assert _row(page, "log.level")[3] == "saved, in effect now"
        assert logging.getLogger().level == logging.DEBUG

    on_settings(body)
    assert load_settings().settings.log.level == "DEBUG"


def test_body_capture_saved_here_takes_effect_at_once(
    on_settings: OnSettings, config: Path
) -> None:
    async def body(page: SettingsPage, engine: Engine) -> None:
        assert not engine.body_capture.policy.on
        page.select("recorder.capture.providers")
        assert "as soon as it is saved" in page.reason_label.text()
        page.value_edit.setText("anthropic")
        page.save_button.click()
        key = "recorder.capture.providers"
        await until(lambda: _row(page, key)[3] != "", "saved providers")
        assert _row(page, key)[3] == "saved, in effect now"
        assert engine.body_capture.wants("anthropic", "any-agent", None)
        assert not engine.body_capture.wants("openai", "any-agent", None)

    on_settings(body)
    assert load_settings().settings.recorder.capture.providers == ["anthropic"]
    assert "# keep it modest on this laptop" in config.read_text(encoding="utf-8")


def test_a_file_written_after_start_and_live_switches_show_as_they_are_now(
    on_settings: OnSettings, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: the page said "config.toml (not present yet)" while the file existed, and
    showed `providers.disabled` as the default after a switch was flipped and saved."""
    monkeypatch.setenv("LLM_GATEWAY_HTTP_PORT", "0")
    assert not config_path.exists()

    async def body(page: SettingsPage, engine: Engine) -> None:
        assert "(not present yet" in page.file_label.text()
        reads: list[None] = []
        page.file_read.connect(lambda: reads.append(None))
        engine.providers.set_enabled(OPERATOR, "codex", False)  # saved to config.toml
        await until(lambda: "codex" in _text(config_path), "the switch saved")
        page.page_shown()
        await until(lambda: len(reads) == 1, "the file read again")
        assert page.file_label.text() == f"Settings file: {config_path}"
        assert _row(page, "providers.disabled")[1:3] == ["codex", "config.toml"]

        # A value edited in the file by hand since start: shown as waiting for a restart.
        config_path.write_text(
            _text(config_path) + "\n[jobs]\nmax_concurrent = 9\n", encoding="utf-8"
        )
        page.page_shown()
        await until(lambda: len(reads) == 2, "the file read again")
        assert _row(page, "jobs.max_concurrent")[1:] == [
            "8",  # the running value (the default)
            "config.toml",
            "config.toml has 9: restart needed",
        ]

    on_settings(body)


def test_a_refused_value_says_one_outcome(on_settings: OnSettings, config: Path) -> None:
    """Issue 25: "Saved to config.toml" and "Nothing was saved" were shown together."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        page.select("jobs.max_concurrent")
        assert "Saved to" not in page.reason_label.text()
        page.value_edit.setText("lots")
        page.save_button.click()
        said = " ".join(w.text() for w in (page.reason_label, page.message_label))
        assert "Nothing was saved" in said and "saved to config.toml" not in said.lower()

    on_settings(body)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_quiet_hours_are_set_with_a_switch_and_two_times_saved_and_announced_live(
    on_settings: OnSettings, config: Path
) -> None:
    async def body(page: SettingsPage, _engine: Engine) -> None:
        announced: list[tuple[str, object]] = []
        page.saved.connect(lambda key, value: announced.append((key, value)))
        box = page.quiet
        assert not box.switch.isChecked() and box.isEnabled()
        box.switch.click()  # on, with the times shown: 22:00 to 07:00
        await until(lambda: announced, "saved")
        assert announced == [("ui.quiet_hours", "22:00-07:00")]
        await until(lambda: 'quiet_hours = "22:00-07:00"' in config.read_text(), "in the file")
        assert "# keep it modest on this laptop" in config.read_text()  # comments kept
        assert page.status("ui.quiet_hours") == "saved, in effect now"
        box.switch.click()  # off again: never quiet
        await until(lambda: len(announced) == 2, "saved off")
        assert announced[1] == ("ui.quiet_hours", "")

    on_settings(body)


def test_settings_keep_where_from_at_1024_and_open_the_file(
    on_settings: OnSettings, config: Path
) -> None:
    """Review 41, finding 18: at 1024 the From column, the page's point, was hidden; the
    Status column was empty; "change it in config.toml" offered no way there; http.port 0
    was unexplained."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        page.resize(828, 600)  # the page's room in a 1024x700 window
        await until(lambda: page.table.viewport().width() > 0, "laid out")
        page.columns.fit()
        header = page.table.horizontalHeader()
        assert not header.isSectionHidden(2)  # From
        assert header.isSectionHidden(3)  # Status: nothing saved yet, nothing to say
        page.select("http.host")
        assert page.open_file_button.isVisibleTo(page)
        # No editor can open a file here (offscreen): the system's opener is stood in for.
        opened: list[str] = []
        monkey = QDesktopServices.openUrl
        try:
            QDesktopServices.openUrl = lambda url: opened.append(url.toLocalFile()) or True  # type: ignore[method-assign]
            page.open_file_button.click()
        finally:
            QDesktopServices.openUrl = monkey  # type: ignore[method-assign]
        assert opened == [str(config)]
        page.select("jobs.max_concurrent")
        assert not page.open_file_button.isVisibleTo(page)

    on_settings(body)


def test_values_read_as_words_and_port_0_says_what_it_means(
    on_settings: OnSettings, config: Path
) -> None:
    """Review 41-2, finding 18 (and review 41's): the page showed raw values ("\"127.0.0.1\"",
    "[]", a cut JSON blob, "true"), "Oauth" for OAuth, and "Port 0" with nothing saying the
    gateway runs on a port it chose."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        assert _row(page, "http.host")[1] == "127.0.0.1"
        assert _row(page, "http.allowed_origins")[1] == "none"
        assert _row(page, "http.port")[1] == "0 → 44165"
        tip = page.table.item(page.row_of("http.port"), 1).toolTip()
        assert "0 means a free port chosen at start: now 44165" in tip
        assert _row(page, "http.oauth.enabled")[0:2] == ["OAuth enabled", "off"]
        assert _row(page, "http.max_body_bytes")[1] == "16,777,216"
        assert _row(page, "workspaces.denied_names")[1].startswith(".ssh, .gnupg")
        values = [
            page.table.item(r, 1).text()
            for r in range(page.table.rowCount())
            if page.table.item(r, 1) is not None
        ]
        raw = [v for v in values if v[:1] in ('"', "[", "{") or v in ("true", "false")]
        assert raw == [], raw

    on_settings(body, endpoint="http://127.0.0.1:44165/mcp")


def test_a_table_setting_lists_its_entries_by_name() -> None:
    from llmgw_desktop.config.settings import declared_settings
    from llmgw_desktop.ui.pages.settings_rules import shown_value

    decls = {decl.key: decl for decl in declared_settings()}
    clients = {"laptop-editor": {"name": "Laptop editor"}, "ci-runner": {"name": "CI runner"}}
    assert shown_value(decls["http.oauth.clients"], clients) == (
        "2 entries: laptop-editor, ci-runner"
    )
    assert shown_value(decls["gateway.fallback"], ["a/b", "c/d"]) == "a/b, c/d"
    assert shown_value(decls["budgets"], [{"scope": "global"}]) == "1 entry"
    assert shown_value(decls["http.auth_token"], "s3cr3t") == "***"


def test_a_setting_changed_with_its_control_reaches_config_toml_and_the_engine(
    on_settings: OnSettings, config: Path
) -> None:
    """Issue 54.3: Settings was a table in which most rows said "change it in config.toml".
    What a person changes is a control, checked as it changes, written to config.toml with the
    file's comments kept, and taken on by the running engine where it can be."""

    async def body(page: SettingsPage, engine: Engine) -> None:
        assert page.views.currentWidget() is page.findChild(QScrollArea, "settingsFormScroll")
        form = page.form
        # Numbers in the unit a person thinks in: 45,000 ms is 45 s.
        deadline = form.rows["jobs.sync_deadline_ms"].editor
        assert isinstance(deadline, QDoubleSpinBox) and deadline.value() == 45.0
        # Whole where whole (review round 2, finding 19: "45.0 s"), a tenth where it has one.
        assert deadline.text() == "45" and deadline.textFromValue(2.5) == "2.5"
        # What marks a job stuck is set here too (finding 5: Jobs said "limit 5s", Settings
        # had no such line).
        stuck = form.rows["jobs.stuck_after_ms"].editor
        assert isinstance(stuck, QDoubleSpinBox) and stuck.text() == "120"
        # The default model: live, from the next request on.
        picker = form.rows["gateway.default_model"].editor
        assert isinstance(picker, ModelPicker)
        picker.setEditText("openai/gpt-4o-mini")
        picker.lineEdit().editingFinished.emit()
        note = form.rows["gateway.default_model"].note
        await until(lambda: "in effect now" in note.text(), "saved and applied")
        assert engine.gateway.registry.config.default_model == "openai/gpt-4o-mini"
        assert engine.settings.gateway.default_model == "openai/gpt-4o-mini"
        # Checked as it changes: a refused value is said under its control, nothing written.
        spin = form.rows["jobs.max_concurrent"].editor
        assert isinstance(spin, QSpinBox) and spin.value() == 6
        before = config.read_text(encoding="utf-8")
        spin.setValue(0)
        refusal = form.rows["jobs.max_concurrent"].note
        assert refusal.text() == "0 must be greater than 0: not saved" and refusal.isVisible()
        spin.editingFinished.emit()
        await asyncio.sleep(0.05)
        assert config.read_text(encoding="utf-8") == before
        # A valid one is written; the running engine keeps its value until a restart.
        spin.setValue(12)
        assert not refusal.isVisible()
        spin.editingFinished.emit()
        await until(lambda: "after a restart" in refusal.text(), "saved for the next start")
        assert engine.settings.jobs.max_concurrent == 6
        # The advanced view keeps every setting, with where it came from.
        page.all_button.click()
        assert page.table.isVisible() and not form.isVisible()
        assert _row(page, "jobs.max_concurrent")[3] == "saved 12: restart needed"

    on_settings(body)
    text = config.read_text(encoding="utf-8")
    assert "# keep it modest on this laptop\nmax_concurrent = 12\n" in text
    assert 'default_model = "openai/gpt-4o-mini"' in text and text.startswith("# my gateway\n")
    assert load_settings().settings.gateway.default_model == "openai/gpt-4o-mini"


def test_a_setting_the_environment_sets_is_shown_but_cannot_be_changed(
    on_settings: OnSettings, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_RECORDER_RETENTION_DAYS", "7")

    async def body(page: SettingsPage, _engine: Engine) -> None:
        row = page.form.rows["recorder.retention_days"]
        assert not row.editor.isEnabled() and row.editor.value() == 7  # type: ignore[attr-defined]
        assert "LLM_GATEWAY_RECORDER_RETENTION_DAYS" in row.note.text()

    on_settings(body)


def test_every_control_on_the_form_can_be_changed_there() -> None:
    """A control the form shows is one a person changes (a table it lists says where it is
    edited): none greyed with another row's reason ("Call a job stuck when silent for" read
    "Where the gateway keeps its files")."""
    declared = {decl.key: decl for decl in declared_settings()}
    for _heading, controls in SECTIONS:
        for control in controls:
            reason = read_only_reason(declared[control.key], "default")
            if control.listing:  # a table shown whole, edited in config.toml: said so
                assert reason is not None and "list or table" in reason, control.label
            else:
                assert reason is None, (control.label, reason)


def test_a_setting_read_at_start_does_not_claim_to_say_where_files_are() -> None:
    declared = {decl.key: decl for decl in declared_settings()}
    assert "keeps its files" in (read_only_reason(declared["paths.data_dir"], "default") or "")
    reason = read_only_reason(declared["mcp.max_sessions"], "default") or ""
    assert "keeps its files" not in reason and "config.toml" in reason


def test_your_own_rules_are_said_across_the_row_not_in_a_narrow_column(
    on_settings: OnSettings,
) -> None:
    """Screenshot review (2026-11-28): beside the row's stretch, the listing's wrapping label
    took its narrowest width and said one sentence in five lines of about 120 px."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        page.resize(820, 640)  # the page's room in a 1024x768 window
        page.show()
        label = page.form.rows["guard.rules"].editor
        assert isinstance(label, QLabel) and label.text().startswith("none: write one")
        await until(lambda: label.width() > 300, "the listing laid out")
        assert label.height() < 2.5 * label.fontMetrics().lineSpacing(), label.size()

    on_settings(body)


def test_a_value_config_toml_refuses_is_said_on_its_control_which_shows_the_one_in_effect(
    on_settings: OnSettings, config: Path
) -> None:
    """A setting saved here, then edited in config.toml by hand to a value it refuses, then
    another setting saved: the control shows the value in effect (6), never the one saved
    first (12) that neither the file (0) nor the gateway holds, and says what the file has
    and why it is refused, as its row and the line over the page do."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        reads: list[None] = []
        page.file_read.connect(lambda: reads.append(None))
        spin = page.form.rows["jobs.max_concurrent"].editor
        note = page.form.rows["jobs.max_concurrent"].note
        assert isinstance(spin, QSpinBox)
        spin.setValue(12)
        spin.editingFinished.emit()
        await until(lambda: reads, "saved, and the file read again")
        assert spin.value() == 12 and "after a restart" in note.text()

        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("max_concurrent = 12", "max_concurrent = 0"), "utf-8")
        days = page.form.rows["recorder.retention_days"].editor
        assert isinstance(days, QSpinBox)
        days.setValue(5)
        days.editingFinished.emit()
        await until(lambda: len(reads) == 2, "the second save's read of the file")

        refused = "config.toml has 0, refused: 0 must be greater than 0"
        assert spin.value() == 6  # what is in effect: the gateway's, until a restart
        assert note.text().startswith(refused + ". Shown: the value in effect")
        assert note.property("tone") == "error" and note.isVisibleTo(page)
        assert _row(page, "jobs.max_concurrent")[1:] == ["6", "config.toml", refused]
        assert page.file_label.text() == (
            f"Settings file: {config} holds a refused value: jobs.max_concurrent: 0 must be "
            "greater than 0 (the next start stops on it until it is fixed)"
        )
        page.select("jobs.max_concurrent")
        assert page.value_edit.text() == "6" and refused in page.reason_label.text()
        # The save wrote its own value and lost nothing of the file's.
        text = config.read_text(encoding="utf-8")
        assert "# keep it modest on this laptop\nmax_concurrent = 0\n" in text
        assert "retention_days = 5" in text and 'level = "INFO"  # chatty enough' in text

        # A value saved on the control replaces the refused one.
        page.show_all(False)
        spin.setValue(8)
        spin.editingFinished.emit()
        await until(lambda: len(reads) == 3, "the third save's read of the file")
        assert spin.value() == 8 and note.text() == "Saved to config.toml: used after a restart."
        assert note.property("tone") != "error"
        assert _row(page, "jobs.max_concurrent")[3] == "saved 8: restart needed"
        assert page.file_label.text() == f"Settings file: {config}"

    on_settings(body)
    assert load_settings().settings.jobs.max_concurrent == 8


def test_a_value_saved_here_then_edited_in_the_file_says_what_the_file_holds(
    on_settings: OnSettings, config: Path
) -> None:
    """The row said "saved 12: restart needed" after config.toml was edited to 9 by hand; and
    once the file stopped being TOML, the controls showed what it held when last read."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        reads: list[None] = []
        page.file_read.connect(lambda: reads.append(None))
        page.select("jobs.max_concurrent")
        page.value_edit.setText("12")
        page.save_button.click()
        await until(lambda: reads, "saved, and the file read again")
        assert _row(page, "jobs.max_concurrent")[3] == "saved 12: restart needed"

        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("max_concurrent = 12", "max_concurrent = 9"), "utf-8")
        page.page_shown()
        await until(lambda: len(reads) == 2, "the file read again")
        assert _row(page, "jobs.max_concurrent")[3] == "config.toml has 9: restart needed"
        spin = page.form.rows["jobs.max_concurrent"].editor
        assert isinstance(spin, QSpinBox) and spin.value() == 9

        config.write_text(text + "\n[jobs\n", "utf-8")  # no longer TOML
        page.page_shown()
        await until(lambda: len(reads) == 3, "the file read again")
        assert "(cannot be read now: is not valid TOML" in page.file_label.text()
        assert spin.value() == 6  # what the file holds is not known: what is in effect is
        assert _row(page, "jobs.max_concurrent")[3] == ""

    on_settings(body)


def test_a_value_that_could_not_be_written_is_written_when_tried_again(
    on_settings: OnSettings, config: Path
) -> None:
    """A save refused by the file (no longer TOML) left the control's value taken as saved:
    the same value tried again once the file was fixed wrote nothing and said nothing."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        spin = page.form.rows["jobs.max_concurrent"].editor
        note = page.form.rows["jobs.max_concurrent"].note
        assert isinstance(spin, QSpinBox)
        config.write_text(CONFIG + "\n[jobs\n", encoding="utf-8")
        spin.setValue(12)
        spin.editingFinished.emit()
        await until(lambda: note.text().startswith("Not saved: "), "the write refused")
        assert note.property("tone") == "error"

        config.write_text(CONFIG, encoding="utf-8")
        spin.editingFinished.emit()  # the same 12 again
        await until(lambda: "after a restart" in note.text(), "written this time")

    on_settings(body)
    assert load_settings().settings.jobs.max_concurrent == 12


def test_a_save_to_a_file_edited_into_no_toml_names_the_file_and_the_line(
    on_settings: OnSettings, config: Path
) -> None:
    """A save refused because config.toml was hand-edited into something not TOML said only
    the parser's words ("Unexpected character: 'I' at line 7 col 8"): not which file, nor that
    nothing in it was lost. Both ways of saving say the file, that it was left as it is, then
    where the parser stopped."""
    broken = CONFIG.replace('level = "INFO"', "level = INFO")  # the quotes forgotten
    why = (
        f"{config} is not valid TOML, so the change was not written and the file was left as "
        "it is. Line 7, column 8: Unexpected character: 'I'."
    )

    async def body(page: SettingsPage, _engine: Engine) -> None:
        config.write_text(broken, encoding="utf-8")
        spin = page.form.rows["jobs.max_concurrent"].editor
        note = page.form.rows["jobs.max_concurrent"].note
        assert isinstance(spin, QSpinBox)
        spin.setValue(12)
        spin.editingFinished.emit()
        await until(lambda: note.text().startswith("Not saved: "), "the write refused")
        assert note.text() == f"Not saved: {why}"

        page.select("log.level")
        page.value_edit.setText("DEBUG")
        page.save_button.click()
        await until(lambda: "could not be saved" in page.message_label.text(), "refused")
        assert page.message_label.text() == f"log.level: could not be saved: {why}"
        assert page.message_label.property("tone") == "error"

    on_settings(body)
    assert config.read_text(encoding="utf-8") == broken


def test_a_limit_per_provider_above_the_limit_in_all_is_kept_and_said_to_be_moot(
    on_settings: OnSettings, config: Path
) -> None:
    """50 calls at once per provider and 8 in all were saved without a word: the 50 can never
    be reached. Not refused (it is not wrong), but said under the controls, both numbers and
    which one applies; gone once the two agree."""

    async def body(page: SettingsPage, _engine: Engine) -> None:
        reads: list[None] = []
        page.file_read.connect(lambda: reads.append(None))
        note = page.form.limits_note
        assert not note.isVisibleTo(page)  # 6 in all, 4 per provider: nothing to say
        total = page.form.rows["jobs.max_concurrent"].editor
        per_provider = page.form.rows["jobs.max_concurrent_per_provider"].editor
        assert isinstance(total, QSpinBox) and isinstance(per_provider, QSpinBox)
        total.setValue(8)
        total.editingFinished.emit()
        await until(lambda: reads, "saved, and the file read again")
        per_provider.setValue(50)
        assert note.isVisibleTo(page)  # said as it is typed, before it is saved
        per_provider.editingFinished.emit()
        await until(lambda: len(reads) == 2, "saved, and the file read again")
        assert note.text() == (
            "50 calls at once per provider can never be reached: at most 8 run at once in "
            "all, so 8 is the limit for each provider too."
        )
        assert note.isVisibleTo(page) and note.property("tone") != "error"
        saved = page.form.rows["jobs.max_concurrent_per_provider"].note
        assert saved.text() == "Saved to config.toml: used after a restart."

        page.page_shown()  # read from the file again: still said
        await until(lambda: len(reads) == 3, "the file read again")
        assert note.isVisibleTo(page)
        per_provider.setValue(8)  # equal: each limit can be reached
        assert not note.isVisibleTo(page)

    on_settings(body)
    assert load_settings().settings.jobs.max_concurrent_per_provider == 50
