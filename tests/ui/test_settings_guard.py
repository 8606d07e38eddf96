"""The outbound guard's settings as controls on the Settings page, against a real, started
engine writing a real config.toml: each change is written to the file (its comments kept) and
taken on by the running guard at once, the next request decided by it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from llmgw_desktop.config.settings import load_settings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.pages.settings_page import SettingsPage
from llmgw_desktop.ui.qt import QComboBox, QLabel, Qt
from tests.test_settings import RULES_TOML
from tests.ui.test_settings_page import (  # noqa: F401 - fixtures
    OnSettings,
    config,
    on_settings,
)
from tests.waiting import until

GUARD_KEYS = (
    "guard.secrets",
    "guard.unscanned",
    "guard.ask_fallback",
    "guard.personal_data",
    "guard.scan_answers",
)


def test_the_guards_settings_reach_config_toml_and_the_running_guard(
    on_settings: OnSettings,  # noqa: F811
    config: Path,  # noqa: F811
) -> None:
    async def body(page: SettingsPage, engine: Engine) -> None:
        form = page.form
        assert all(key in form.rows for key in GUARD_KEYS)
        guard = engine.guard
        assert (guard.settings.secrets, guard.settings.scan_answers) == ("warn", False)
        choices = {
            "guard.secrets": "redact",
            "guard.unscanned": "block",
            "guard.ask_fallback": "send",
        }
        for key, value in choices.items():
            box = form.rows[key].editor
            assert isinstance(box, QComboBox)
            box.setCurrentText(value)
            note = form.rows[key].note
            await until(lambda note=note: "in effect now" in note.text(), f"{key} applied")
        for key in ("guard.personal_data", "guard.scan_answers"):
            switch = form.rows[key].editor
            assert isinstance(switch, Switch) and not switch.isChecked()
            switch.click()
            note = form.rows[key].note
            await until(lambda note=note: "in effect now" in note.text(), f"{key} applied")
        assert guard.settings.secrets == "redact"
        assert guard.settings.unscanned == "block"
        assert guard.settings.ask_fallback == "send" and guard.questions.fallback == "send"
        assert guard.settings.personal_data is True and guard.settings.scan_answers is True
        assert engine.settings.guard.scan_answers is True  # what the page reads as running

    on_settings(body)
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# my gateway\n") and "# keep it modest on this laptop" in text
    assert tomllib.loads(text)["guard"] == {
        "secrets": "redact",
        "unscanned": "block",
        "ask_fallback": "send",
        "personal_data": True,
        "scan_answers": True,
    }
    reloaded = load_settings().settings.guard
    assert (reloaded.secrets, reloaded.scan_answers) == ("redact", True)


def test_the_operators_rules_are_listed_beside_the_guards_settings(
    on_settings: OnSettings,  # noqa: F811
    config: Path,  # noqa: F811
) -> None:
    """Where the guard's other settings are: each rule with its action, per provider and
    caller, and where to change them (config.toml; a table the page does not edit)."""
    config.write_text(config.read_text(encoding="utf-8") + RULES_TOML, encoding="utf-8")

    async def body(page: SettingsPage, engine: Engine) -> None:
        row = page.form.rows["guard.rules"]
        # Words, never edited (selectable, not editable), and in the text colour: a locked
        # listing greyed out would be real content in the disabled grey.
        assert isinstance(row.editor, QLabel) and row.editor.isEnabled()
        assert row.editor.textInteractionFlags() == Qt.TextInteractionFlag.TextSelectableByMouse
        assert row.editor.text() == (
            "pipe-to-shell: block (a download piped into a shell)\n"
            "ignore-instructions: ask · ollama: off · key:ci-bot: block"
        )
        assert "config.toml" in row.note.text()
        assert [r.name for r in engine.guard.rules.rules] == [
            "pipe-to-shell",
            "ignore-instructions",
        ]

    on_settings(body)


def test_no_rule_says_where_to_write_one(
    on_settings: OnSettings,  # noqa: F811
    config: Path,  # noqa: F811
) -> None:
    async def body(page: SettingsPage, _engine: Engine) -> None:
        text = page.form.rows["guard.rules"].editor
        assert isinstance(text, QLabel) and text.text().startswith("none: write one in config")

    on_settings(body)
