"""A desktop start whose settings file, database or vault cannot be used asks in a dialog (open
it, try again, go on for this session, quit) instead of exiting with a message nobody reads;
headless, and where no window can open, stderr and exit code 2 say it as before.

The settings are read before anything starts, so `llmgw-desktop` itself (`main`) is run here,
with the app that would follow replaced by a recorder of the settings it is given; the database
and the vault are met by the desktop app on its qasync loop, offscreen.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtTest import QTest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell import start_problems
from llmgw_desktop.shell.cli import main as command_line
from llmgw_desktop.shell.exit_codes import EXIT_CONFIG, EXIT_FAILURE
from llmgw_desktop.ui.qt import QApplication, QMessageBox, Qt, QTimer
from tests.ui.running_app import desktop_app, exit_code, window_shown
from tests.waiting import until

MALFORMED = "[http\nport = 4444\n"  # a table header never closed
DEFAULTS = "Start with defaults for this session"
KEEP_VALID = "Start keeping the valid settings (defaults for the refused, this session)"
HARD_BUDGETS = """
[[budgets]]
scope = "global"
unit = "usd"
period = "daily"
hard = 5.0

[[budgets]]
scope = "project=shop"
unit = "tokens"
period = "monthly"
hard = 100000
"""
# One refused value beside valid ones: a provider, a route, two hard budgets.
ONE_REFUSED = (
    """
[http]
port = 4444
allowed_hosts = ["https://x/"]

[gateway.providers.work]
kind = "openai-compatible"
base_url = "http://127.0.0.1:8001/v1"
models = ["qwen3-coder"]

[gateway.routes."claude-*"]
strategy = "round-robin"
fallback = ["openrouter/anthropic/claude-sonnet-4.5", "claude-cli/sonnet"]
"""
    + HARD_BUDGETS
)


def _shown_box() -> QMessageBox | None:
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    return next((b for b in boxes if b.isVisible()), None)


def _answer(labels: list[str], seen: list[str]) -> None:
    """Click each of `labels` in turn, in each dialog as it shows (before the modal dialog's
    own loop starts, a timer waits for it); what each dialog said goes into `seen`."""

    def click() -> None:
        box = _shown_box()
        if box is None:
            QTimer.singleShot(10, click)
            return
        seen.append(f"{box.text()}\n{box.informativeText()}")
        label = labels.pop(0)
        next(b for b in box.buttons() if b.text() == label).click()
        if labels:
            QTimer.singleShot(10, click)

    QTimer.singleShot(0, click)


def _press_enter(then: list[str], seen: list[str]) -> None:
    """Press Enter in the first dialog, as a reflex does, then click each of `then`."""

    def press() -> None:
        box = _shown_box()
        if box is None:
            QTimer.singleShot(10, press)
            return
        seen.append(f"{box.text()}\n{box.informativeText()}")
        QTest.keyClick(box, Qt.Key.Key_Return)
        if then:
            _answer(then, seen)

    QTimer.singleShot(0, press)


@pytest.fixture
def started_with(monkeypatch: pytest.MonkeyPatch) -> list[LoadedSettings]:
    """The settings the app would start with, once `main` gets that far (it is not started)."""
    started: list[LoadedSettings] = []

    def run(loaded: LoadedSettings, **_: Any) -> int:
        started.append(loaded)
        return 0

    monkeypatch.setattr("llmgw_desktop.shell.cli.run.run", run)
    return started


@pytest.fixture
def broken_config(isolated_env: Path) -> Path:
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(MALFORMED, encoding="utf-8")
    return config


def test_a_malformed_config_asks_and_starts_on_defaults_without_touching_the_file(
    qapp: QApplication, broken_config: Path, started_with: list[LoadedSettings]
) -> None:
    seen: list[str] = []
    _answer([DEFAULTS], seen)

    assert command_line.main([]) == 0

    [said] = seen
    assert said.startswith("The settings file cannot be used\n")
    assert f"the settings file {broken_config} is not valid TOML" in said
    [loaded] = started_with
    assert loaded.file_in_use is False  # nothing the desk changes is written to it
    assert loaded.settings.http.port == 3333  # the default, not the file's
    assert broken_config.read_text(encoding="utf-8") == MALFORMED


def _config_with(text: str, isolated_env: Path) -> Path:
    config = isolated_env / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    return config


def test_enter_opens_the_file_and_never_starts_a_session_without_it(
    qapp: QApplication,
    isolated_env: Path,
    started_with: list[LoadedSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default button is the safe answer: Enter shows the file, the dialog comes back."""
    config = _config_with(ONE_REFUSED, isolated_env)
    shown: list[Path] = []
    monkeypatch.setattr(start_problems, "show_place", shown.append)
    seen: list[str] = []
    _press_enter(["Quit"], seen)

    assert command_line.main([]) == EXIT_CONFIG

    assert shown == [config] and len(seen) == 2
    assert started_with == []


def test_starting_anyway_keeps_every_value_that_passed_and_defaults_only_the_refused(
    qapp: QApplication,
    isolated_env: Path,
    started_with: list[LoadedSettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config_with(ONE_REFUSED, isolated_env)
    seen: list[str] = []
    _answer([KEEP_VALID], seen)

    assert command_line.main([]) == 0

    assert "bad setting http.allowed_hosts" in seen[0]
    [loaded] = started_with
    settings = loaded.settings
    assert [b["hard"] for b in settings.budgets] == [5.0, 100000]
    assert settings.gateway.providers["work"]["models"] == ["qwen3-coder"]
    assert settings.gateway.routes["claude-*"]["strategy"] == "round-robin"
    assert settings.http.port == 4444
    assert settings.http.allowed_hosts == []  # the refused value, at its default
    assert [e.key for e in loaded.refused] == ["http.allowed_hosts"]
    assert loaded.file_in_use is False  # nothing the desk changes is written to it
    assert config.read_text(encoding="utf-8") == ONE_REFUSED
    err = capsys.readouterr().err
    assert "at their defaults: http.allowed_hosts" in err


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (HARD_BUDGETS.replace('unit = "tokens"', 'unit = "eur"'), "budgets"),
        ("[http]\nport = 4444\n[[budgets]\n", "budgets"),  # not TOML, and names budgets
        ('[store]\nurl = "mysql://db/x"\n' + HARD_BUDGETS, "store.url"),
    ],
    ids=["a refused budget", "an unreadable file naming budgets", "a refused database"],
)
def test_no_session_starts_without_what_a_hard_budget_stands_on(
    qapp: QApplication,
    isolated_env: Path,
    started_with: list[LoadedSettings],
    text: str,
    refused: str,
) -> None:
    """Money is a boundary: a session that could pass a hard budget is not offered."""
    _config_with(text, isolated_env)
    shown: list[str] = []

    def buttons_then_quit() -> None:
        box = _shown_box()
        if box is None:
            QTimer.singleShot(10, buttons_then_quit)
            return
        shown.extend(b.text() for b in box.buttons())
        shown.append(box.informativeText())
        next(b for b in box.buttons() if b.text() == "Quit").click()

    QTimer.singleShot(0, buttons_then_quit)

    assert command_line.main([]) == EXIT_CONFIG

    assert sorted(shown[:-1]) == ["Open config.toml", "Quit", "Try again"]
    assert f"No start without {refused}: a hard budget is never passed" in shown[-1]
    assert started_with == []


def test_a_file_changed_to_refuse_a_budget_before_going_on_asks_again_with_no_going_on(
    qapp: QApplication, isolated_env: Path, started_with: list[LoadedSettings]
) -> None:
    """Going on reads the file again: what it keeps is what the file says at that moment."""
    config = _config_with(ONE_REFUSED, isolated_env)
    labels: list[list[str]] = []

    def edit_then_go_on() -> None:
        box = _shown_box()
        if box is None:
            QTimer.singleShot(10, edit_then_go_on)
            return
        labels.append(sorted(b.text() for b in box.buttons()))
        if len(labels) == 1:
            config.write_text(ONE_REFUSED.replace('unit = "tokens"', 'unit = "eur"'))
            next(b for b in box.buttons() if b.text() == KEEP_VALID).click()
            QTimer.singleShot(10, edit_then_go_on)
        else:
            next(b for b in box.buttons() if b.text() == "Quit").click()

    QTimer.singleShot(0, edit_then_go_on)

    assert command_line.main([]) == EXIT_CONFIG

    assert KEEP_VALID in labels[0]
    assert labels[1] == ["Open config.toml", "Quit", "Try again"]
    assert started_with == []


def test_the_dialog_s_words_are_said_on_stderr_too_once_and_what_was_chosen(
    qapp: QApplication,
    broken_config: Path,
    started_with: list[LoadedSettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Started from a terminal, the person reads there what the dialog asks about (a dialog
    may open behind other windows), and what they chose."""
    seen: list[str] = []
    _answer(["Try again", DEFAULTS], seen)  # not fixed: the same dialog comes back

    assert command_line.main([]) == 0

    assert len(seen) == 2
    err = capsys.readouterr().err
    assert "llmgw-desktop: The settings file cannot be used (a dialog asks what to do):" in err
    assert err.count(f"the settings file {broken_config} is not valid TOML") == 1  # once
    assert "starting with the defaults" in err


def test_open_shows_the_file_and_try_again_reads_it_fixed(
    qapp: QApplication,
    broken_config: Path,
    started_with: list[LoadedSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[Path] = []

    def show_and_fix(place: Path) -> None:  # the person's editor, fixing the file
        shown.append(place)
        place.write_text("[http]\nport = 4444\n", encoding="utf-8")

    monkeypatch.setattr(start_problems, "show_place", show_and_fix)
    seen: list[str] = []
    _answer(["Open config.toml", "Try again"], seen)

    assert command_line.main([]) == 0

    assert shown == [broken_config]
    assert len(seen) == 2  # the dialog came back after the file was opened
    [loaded] = started_with
    assert loaded.file_in_use is True and loaded.settings.http.port == 4444


def test_quit_exits_2_and_says_it_on_stderr_too(
    qapp: QApplication,
    broken_config: Path,
    started_with: list[LoadedSettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _answer(["Quit"], [])
    assert command_line.main([]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.count(f"the settings file {broken_config} is not valid TOML") == 1, err
    assert started_with == []


def test_headless_or_without_a_window_it_stays_on_stderr_with_exit_2(
    broken_config: Path,
    started_with: list[LoadedSettings],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert command_line.main(["--headless"]) == EXIT_CONFIG
    assert "is not valid TOML" in capsys.readouterr().err
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert command_line.main([]) == EXIT_CONFIG  # no display: nobody to show a dialog to
    assert "is not valid TOML" in capsys.readouterr().err
    assert started_with == [] and _shown_box() is None


def test_headless_never_starts_past_a_refused_value_so_never_without_its_budgets(
    isolated_env: Path, started_with: list[LoadedSettings], capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody to ask: the start stops (exit 2), rather than run on what the file did not say."""
    _config_with(ONE_REFUSED, isolated_env)
    assert command_line.main(["--headless"]) == EXIT_CONFIG
    assert "bad setting http.allowed_hosts" in capsys.readouterr().err
    assert started_with == []


async def _answered(label: str, seen: list[str]) -> None:
    box: QMessageBox = await until(_shown_box, "the start-up dialog")
    seen.append(f"{box.text()}\n{box.informativeText()}")
    next(b for b in box.buttons() if b.text() == label).click()


def test_a_database_that_cannot_be_opened_asks_then_goes_on_with_a_temporary_one(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    database = loaded.settings.database_file
    database.parent.mkdir(parents=True, exist_ok=True)
    database.write_bytes(b"not a database" * 300)
    seen: list[str] = []
    with desktop_app(loaded) as desktop:

        async def go_on_then_quit() -> None:
            await _answered("Start with a temporary database for this session", seen)
            await until(lambda: window_shown(desktop), "window")
            assert desktop.runtime is not None
            desktop.request_quit()

        assert exit_code(qloop, desktop, go_on_then_quit) == 0
    assert seen[0].startswith("The database cannot be opened\n")
    assert "file is not a database" in seen[0]
    err = capsys.readouterr().err  # the terminal hears it too, and what was chosen
    assert "llmgw-desktop: The database cannot be opened (a dialog asks" in err
    assert "file is not a database" in err and "temporary database" in err
    used = desktop.runtime.settings.database_file  # type: ignore[union-attr]
    assert used != database and not used.exists()  # temporary, gone at quit
    assert database.read_bytes() == b"not a database" * 300  # left as it was


def test_quitting_at_the_database_dialog_exits_1(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    database = loaded.settings.database_file
    database.parent.mkdir(parents=True, exist_ok=True)
    database.write_bytes(b"not a database" * 300)
    with desktop_app(loaded) as desktop:
        assert exit_code(qloop, desktop, lambda: _answered("Quit", [])) == EXIT_FAILURE
    assert "file is not a database" in capsys.readouterr().err


def test_with_a_hard_budget_the_database_dialog_offers_no_temporary_database(
    qloop: qasync.QEventLoop, loaded: LoadedSettings
) -> None:
    """A temporary database's spend reads zero: a hard budget could be passed there."""
    budget = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
    loaded = replace(loaded, settings=loaded.settings.with_values({"budgets": [budget]}))
    database = loaded.settings.database_file
    database.parent.mkdir(parents=True, exist_ok=True)
    database.write_bytes(b"not a database" * 300)
    labels: list[str] = []
    seen: list[str] = []

    async def look_then_quit() -> None:
        box: QMessageBox = await until(_shown_box, "the start-up dialog")
        labels.extend(sorted(b.text() for b in box.buttons()))
        await _answered("Quit", seen)

    with desktop_app(loaded) as desktop:
        assert exit_code(qloop, desktop, look_then_quit) == EXIT_FAILURE
    assert labels == ["Open its folder", "Quit", "Try again"]
    assert "a hard budget is never passed" in seen[0]


def _locked_vault(loaded: LoadedSettings) -> None:
    data = loaded.settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    (data / "vault.key").write_text("not a master key\n")


@pytest.mark.parametrize(("label", "serving"), [("Go on without the vault", True), ("Quit", False)])
def test_a_vault_that_stays_locked_is_asked_about_once_the_window_is_up(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, label: str, serving: bool
) -> None:
    _locked_vault(loaded)
    seen: list[str] = []
    with desktop_app(loaded) as desktop:

        async def answer() -> None:
            await _answered(label, seen)
            if serving:
                await asyncio.sleep(0)
                vault = desktop.runtime.engine.vault  # type: ignore[union-attr]
                assert vault.status()["state"] == "locked"  # served without it
                assert _shown_box() is None  # asked once
                desktop.request_quit()

        assert exit_code(qloop, desktop, answer) == 0
    assert seen[0].startswith("The vault cannot be opened\n")
    assert "the vault is locked" in seen[0]
    assert "keys from the environment and config.toml still are" in seen[0]
