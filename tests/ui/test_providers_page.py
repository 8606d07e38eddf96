"""The Providers page on a real started engine, offscreen: the real CLIs found on the CLI path,
OpenAI pointed at the scripted upstream, the shared switches, the Test button, and stale
aliases shown as warnings."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import sys
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import openai
import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.cli_catalog import PROVIDERS
from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.badge import status_data
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts
from llmgw_desktop.ui.pages.provider_detail import SWITCH_OFF_WORDS, SWITCH_ON_WORDS
from llmgw_desktop.ui.pages.provider_rows import (
    CHECKING,
    circuit_text,
    load_provider_rows,
    models_note,
    switchable,
)
from llmgw_desktop.ui.pages.provider_table import COLUMNS, STATUS_COLUMN, SWITCH_COLUMN
from llmgw_desktop.ui.pages.providers import ProvidersPage
from llmgw_desktop.ui.qt import QColor, QPalette, Qt
from llmgw_desktop.ui.theme import error_colour, tone_colour, warning_colour
from llmgw_desktop.ui.tray import TrayIcon
from tests.contract.offline import find_cli, offline_environment
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.gateways import gateway_starter
from tests.ui.desk_gateway import Desk, OnWindow, page_parts
from tests.ui.readings import contrast
from tests.waiting import until

FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)

OPENAI_KEY = "sk-test-openai-key-for-the-page"


# Fast to print a version (well under a second each); Gemini CLI takes ~6 s and OpenCode ~2.5 s.
QUICK_CLIS = ("claude", "codex", "copilot")


def quick_cli_dir(where: Path) -> Path:
    """A CLI path holding the quick real CLIs only, so the test stays within seconds."""
    where.mkdir(parents=True)
    for name in QUICK_CLIS:
        (where / name).symlink_to(Path(find_cli(name)).resolve())
    return where


@asynccontextmanager
async def providers_page(
    loaded: LoadedSettings,
    upstream: ScriptedUpstream,
    cli_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> AsyncIterator[tuple[ProvidersPage, Engine, GatewayActions]]:
    """A started engine whose OpenAI provider is the scripted upstream, and the page, shown."""
    settings = loaded.settings.with_values(
        {"providers.cli_path": [str(cli_dir)] if cli_dir else [], **(overrides or {})}
    )
    environ = {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": upstream.base_url + "/v1"}
    engine = Engine(settings, environ=environ)
    await engine.start()
    bridge, actions, facts = page_parts(engine)
    page = ProvidersPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    page.show()
    try:
        yield page, engine, actions
    finally:
        await until(lambda: page.tasks.running == 0, "the page's work to finish")
        bridge.detach()
        await engine.stop()
        # Gone while this test's loop runs, not in a later test's (see `qloop`).
        page.close()
        page.deleteLater()
        await asyncio.sleep(0.02)


class OnProviders(Protocol):
    """`on_providers(body, overrides=...)`: `await body(page, upstream)` (see the fixture)."""

    def __call__(
        self,
        body: Callable[[ProvidersPage, ScriptedUpstream], Awaitable[None]],
        *,
        overrides: Mapping[str, Any] | None = ...,
    ) -> None: ...


@pytest.fixture
def on_providers(qloop: qasync.QEventLoop, loaded: LoadedSettings) -> OnProviders:
    """`on_providers(body, overrides=...)`: the page on a started engine whose OpenAI is a
    fresh scripted upstream, no CLI path, `overrides` on its settings (`providers_page`), and
    `await body(page, upstream)` run on the desktop's loop; the page's engine and actions are
    `page.engine` and `page.context.actions`."""

    def run(
        body: Callable[[ProvidersPage, ScriptedUpstream], Awaitable[None]],
        *,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        async def scenario() -> None:
            async with (
                ScriptedUpstream() as upstream,
                providers_page(loaded, upstream, None, overrides) as (page, _engine, _actions),
            ):
                await body(page, upstream)

        qloop.run_until_complete(scenario())

    return run


def test_clis_on_the_path_show_installed_with_versions_and_switch_the_engine(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli_dir = quick_cli_dir(tmp_path / "bin")  # skips where the real CLIs are not installed

    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            # A private home: a CLI's version or model listing never reads the developer's.
            offline_environment(tmp_path / "home", upstream.base_url, monkeypatch)
            async with providers_page(loaded, upstream, cli_dir) as (page, engine, actions):
                quick = await load_provider_rows(engine, {}, versions=False)
                assert {r.key: r.version for r in quick}["cli:claude"] == CHECKING
                await page.refresh()
                rows = {row.key: row for row in page.rows}
                assert page.table.rowCount() == len(page.rows)
                for info in PROVIDERS:
                    row = rows[f"cli:{info.id}"]
                    if info.id in QUICK_CLIS:
                        assert row.status == "Ready", (info.id, row.reason)
                        assert row.version[0].isdigit(), (info.id, row.version)
                        assert row.where == str(cli_dir / info.binaries[0])
                        assert row.plan == f"Upgrade: npm install -g {info.package}@latest"
                    elif not shutil.which(info.binaries[0]):  # not on this machine's PATH
                        assert row.status == "Not installed"
                        assert info.install_command in row.reason
                        assert row.plan.startswith("Install: ")

                assert page.select("cli:codex")  # its models are listed by the CLI itself
                await until(lambda: page.model_box.count() > 1, "codex models listed")
                assert page.model_box.itemText(0) == "(the CLI's own default)"

                assert page.select("cli:claude")
                assert page.enabled_box.isChecked() and page.enabled_box.isVisible()
                await until(lambda: page.model_box.findText("sonnet") > 0, "claude models")
                assert "npm install -g" in page.plan_label.text()
                page.enabled_box.setChecked(False)  # the page's switch is the shared action's
                assert not engine.providers.is_enabled("claude")
                assert not actions.providers["claude"].isChecked()
                await page.refresh()
                assert page.selected_row() is not None
                assert page.selected_row().status == "Switched off"  # type: ignore[union-attr]
                assert "switched off" in page.status_label.text()
                engine.providers.set_enabled(OPERATOR, "claude", True)  # from elsewhere: the tray
                assert page.enabled_box.isChecked()
                await page.refresh()
                assert page.selected_row().status == "Ready"  # type: ignore[union-attr]

    qloop.run_until_complete(scenario())


def test_an_acp_agent_the_config_adds_is_a_row_with_its_switch(on_providers: OnProviders) -> None:
    fake = Path(__file__).resolve().parents[1] / "fakes" / "fake_acp_agent.py"
    agent = {"command": sys.executable, "args": [str(fake)], "name": "Scripted agent"}

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        engine, actions = page.engine, page.context.actions
        await page.refresh()
        row = {r.key: r for r in page.rows}["cli:scripted"]
        assert (row.name, row.status, row.gateway_id) == (
            "Scripted agent",
            "Ready",
            "scripted-cli",
        )
        assert row.where == sys.executable and row.plan == "Upgrade: as you installed it"
        assert page.select("cli:scripted")
        page.enabled_box.setChecked(False)  # the page's switch is the tray's action
        assert not engine.providers.is_enabled("scripted")
        assert not actions.providers["scripted"].isChecked()

    on_providers(body, overrides={"providers.acp": {"scripted": agent}})


def test_an_api_provider_at_the_upstream_tests_ok_and_one_without_a_key_says_why(
    on_providers: OnProviders,
) -> None:
    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        await page.refresh()
        rows = {row.key: row for row in page.rows}
        openai = rows["api:openai"]
        assert (openai.kind, openai.status) == ("API", "Ready")
        assert openai.where == upstream.base_url + "/v1"
        assert openai.keys == "env:OPENAI_API_KEY"
        assert "gpt-4o-mini" in openai.models
        groq = rows["api:groq"]
        assert groq.status == "No API key" and "GROQ_API_KEY" in groq.reason
        assert rows["api:ollama"].status == "Not running"

        assert page.select("api:openai")
        assert page.enabled_box.isVisible() and page.enabled_box.isChecked()  # its switch
        assert "[gateway.providers]" in page.config_state.text()
        page.model_box.setCurrentText("gpt-4o-mini")
        page.test_button.click()
        assert page.test_label.text() == "Testing…"  # the click returned at once
        await until(lambda: "OK in" in page.test_label.text(), "test result")
        assert DEFAULT_ANSWER in page.test_label.text()
        assert page.test_label.text().startswith("gpt-4o-mini: ")
        (sent,) = upstream.llm_requests
        assert sent.body["model"] == "gpt-4o-mini"
        assert page.tests.results["api:openai"].ok

        upstream.script(Reply.error(500))
        page.test_button.click()
        await until(lambda: "Failed after" in page.test_label.text(), "failure shown")
        assert len(upstream.llm_requests) == 2  # exactly this provider, no fallback
        # The status says so (in red, with the reason) until a later success.
        await until(lambda: page.status_label.text().startswith("Test failed"), "status")
        row = page.rows.index(page.selected_row())  # type: ignore[arg-type]
        status = page.table.item(row, STATUS_COLUMN)
        assert status is not None and status.text() == "Test failed"
        assert status.foreground().color().name() == error_colour()
        # The details say it the same way: the red badge, the reason in the error tone.
        assert (page.detail.badge.kind, page.detail.badge.words) == ("error", "Test failed")
        assert page.status_label.property("tone") == "error"
        await page.refresh()
        assert page.status_label.text().startswith("Test failed")  # not "Ready"
        page.test_button.click()  # the upstream answers again
        await until(lambda: "OK in" in page.test_label.text(), "a later success")
        # Ready again, saying the failed Test among its recent calls (as Overview counts it).
        await until(
            lambda: page.status_label.text().startswith("Ready, 1 recent failure: 1 of 3 calls"),
            "status back to Ready",
        )

        assert page.select("api:groq")
        page.test_button.click()
        await until(lambda: "Failed after" in page.test_label.text(), "no-key result")
        assert "has no API key" in page.test_label.text()
        assert len(upstream.llm_requests) == 3

    on_providers(body)


def test_a_stale_alias_is_a_warning_naming_the_alias_and_the_model(
    qloop: qasync.QEventLoop, loaded: LoadedSettings
) -> None:
    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            upstream.model_ids["chat"] = ["gpt-5.5", "gpt-4o"]  # no gpt-4o-mini any more
            async with providers_page(
                loaded,
                upstream,
                overrides={
                    "gateway.aliases": {"fast": "gpt-4o-mini", "big": "gpt-4o"},
                    "gateway.models_refresh_s": 3600,
                },
            ) as (page, engine, _actions):
                await engine.gateway.directory.refresh()  # the start-up read has finished
                await page.refresh()
                assert page.stale_label.isVisible()
                assert "alias 'fast' names 'gpt-4o-mini'" in page.stale_label.text()
                assert "not in openai's model list: calls may fail" in page.stale_label.text()
                assert "will fail" not in page.stale_label.text()
                assert "'big'" not in page.stale_label.text()
                assert warning_colour() in page.stale_label.styleSheet()

                rows = {row.key: row for row in page.rows}
                openai, groq = rows["api:openai"], rows["api:groq"]
                assert openai.stale == (
                    "alias 'fast' names 'gpt-4o-mini', not in openai's model list: calls may fail",
                )
                assert openai.models[:2] == ("gpt-5.5", "gpt-4o")
                status = page.table.item(page.rows.index(openai), STATUS_COLUMN)
                other = page.table.item(page.rows.index(groq), STATUS_COLUMN)
                assert status is not None and other is not None
                assert status.foreground().color().name() == warning_colour()
                assert "alias 'fast'" in status.toolTip()
                # Not amber: Groq has no key, so it is greyed like every unusable provider.
                assert other.foreground().color().name() != warning_colour()

                assert page.select("api:openai")
                assert page.stale_detail.isVisible()
                assert "gpt-4o-mini" in page.stale_detail.text()
                # The fake is a server OPENAI_BASE_URL points at: its list is all it serves.
                assert page.models_note.text().startswith("Read from the server at")
                assert page.select("api:groq")
                assert not page.stale_detail.isVisible()
                assert page.models_note.text() == "The built-in list"

    qloop.run_until_complete(scenario())


def test_refresh_reads_the_providers_model_lists_again(
    qloop: qasync.QEventLoop, loaded: LoadedSettings
) -> None:
    """A person's pass (2026-11-30, F8): OpenAI's list lost a model an alias names; Refresh
    left "Read from the server at 06:13" and no warning, and only a restart read the list
    (the next read was due in an hour), and a Refresh pressed during a load checked nothing.
    Refresh reads the lists now."""

    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            upstream.model_ids["chat"] = ["gpt-4o-mini", "gpt-4o"]
            async with providers_page(
                loaded,
                upstream,
                overrides={
                    "gateway.aliases": {"fast": "gpt-4o-mini"},
                    "gateway.models_refresh_s": 3600,
                },
            ) as (page, engine, _actions):
                await engine.gateway.directory.refresh()  # the start-up read has finished
                await page.refresh()
                assert not page.stale_label.isVisible()
                upstream.model_ids["chat"] = ["gpt-5.5", "gpt-4o"]  # gpt-4o-mini is gone
                # Pressed while the page loads (an event's redraw, its timer): the reload after
                # that load rechecks (it reloaded without rechecking anything).
                page.request_refresh()
                assert page.tasks.running
                page.refresh_button.click()
                await until(lambda: page.stale_label.isVisible(), "the list read again")
                assert "alias 'fast' names 'gpt-4o-mini'" in page.stale_label.text()
                assert "model lists" in page.refresh_button.toolTip()

    qloop.run_until_complete(scenario())


def test_an_api_provider_switched_off_from_the_tray_or_the_page_is_refused_by_the_gateway(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The official OpenAI SDK against the in-process gateway, OpenAI at the scripted upstream:
    the switch (tray menu or page) refuses the next request, is saved, and switching on serves
    again."""

    async def ask(client: openai.AsyncOpenAI) -> str:
        answer = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        return answer.choices[0].message.content or ""

    def saved_off() -> list[str]:
        config = loaded.config_file
        text = config.read_text() if config.exists() else ""
        return list(tomllib.loads(text).get("providers", {}).get("disabled", []))

    async def scenario() -> None:
        async with ScriptedUpstream() as upstream, gateway_starter(loaded) as start:
            monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
            monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url + "/v1")
            runtime = await start()
            engine = runtime.engine
            bridge = EngineBridge(engine)
            actions = GatewayActions(
                bridge, endpoint=lambda: "x", open_dashboard=lambda: None, quit_app=lambda: None
            )
            tray = TrayIcon(bridge, actions, "http://127.0.0.1:9/mcp")
            data = engine.settings.data_path
            facts = WindowFacts("x", "x", data, data / "l")
            page = ProvidersPage(PageContext(bridge=bridge, actions=actions, facts=facts))
            page.show()
            client = openai.AsyncOpenAI(
                base_url=runtime.base_url + "/v1", api_key="unused", max_retries=0
            )
            try:
                assert (await ask(client)).startswith(DEFAULT_ANSWER)

                # From the tray: the menu's OpenAI entry, under "API providers".
                texts = [a.text() for a in tray.menu.actions()]
                assert texts.index("API providers") < texts.index("OpenAI")
                (tray_switch,) = [
                    a for a in tray.menu.actions() if a.objectName() == "provider:openai"
                ]
                tray_switch.trigger()
                assert not engine.providers.is_enabled("openai")
                with pytest.raises(openai.APIStatusError) as refused:
                    await ask(client)
                assert refused.value.status_code == 400  # switched off: no client retries it
                assert "openai/gpt-4o-mini is switched off" in refused.value.message
                assert len(upstream.llm_requests) == 1  # never asked
                await until(lambda: saved_off() == ["openai"], "the switch saved")
                await page.refresh()
                assert page.select("api:openai")
                assert not page.enabled_box.isChecked()
                assert page.selected_row().status == "Switched off"  # type: ignore[union-attr]

                # From the page: on again, and the gateway serves it.
                page.enabled_box.setChecked(True)
                assert tray_switch.isChecked() and engine.providers.is_enabled("openai")
                assert (await ask(client)).startswith(DEFAULT_ANSWER)
                await until(lambda: saved_off() == [], "the switch saved")

                # Pause covers API providers too.
                actions.pause_all.trigger()
                with pytest.raises(openai.APIStatusError) as paused:
                    await ask(client)
                assert "paused" in paused.value.message
                actions.pause_all.trigger()
                assert (await ask(client)).startswith(DEFAULT_ANSWER)
            finally:
                await client.close()
                await until(lambda: page.tasks.running == 0, "the page's work to finish")
                tray.hide()
                bridge.detach()
                page.close()
                page.deleteLater()

    qloop.run_until_complete(scenario())


def test_providers_that_cannot_answer_are_muted_with_the_reason_said_once(
    on_providers: OnProviders,
) -> None:
    """Issue 25: the tray greyed unusable providers, the Providers page listed them as if usable.
    Review 41-2, finding 20: the greyed names were 2.69:1 (light) and said the reason twice,
    "Groq (no key)" beside "No API key". They are muted at 4.5:1 or more; the status says why.
    No CLI on the path, OpenAI at the scripted upstream, Groq without a key."""

    def name_cell(page: ProvidersPage, key: str) -> tuple[str, str, str]:
        index = [row.key for row in page.rows].index(key)
        item = page.table.item(index, COLUMNS.index("Provider"))
        assert item is not None
        return item.text(), item.foreground().color().name(), item.toolTip()

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        engine, actions = page.engine, page.context.actions
        grey = QColor(tone_colour("muted"))
        base = page.table.palette().color(QPalette.ColorRole.Base)
        assert contrast(grey.name(), base.name()) >= 4.5
        await page.refresh()
        # The legitimate path: a usable provider reads as usual.
        text, colour, tip = name_cell(page, "api:openai")
        assert (text, tip) == ("OpenAI", "") and colour != grey.name()
        text, colour, tip = name_cell(page, "api:groq")
        assert (text, colour) == ("Groq", grey.name())
        assert "GROQ_API_KEY" in tip
        status = page.table.item([r.key for r in page.rows].index("api:groq"), STATUS_COLUMN)
        assert status is not None and status.text() == "No API key"
        text, colour, _tip = name_cell(page, "cli:claude")
        assert (text, colour) == ("Claude Code", grey.name())
        # The tray's judgement is the same: its switch for Groq cannot make it usable.
        assert not actions.providers["groq"].isEnabled()

        actions.providers["openai"].setChecked(False)  # off from the tray
        await page.refresh()
        text, colour, tip = name_cell(page, "api:openai")
        assert (text, colour) == ("OpenAI", grey.name())
        assert "switched off" in tip
        engine.providers.set_enabled(OPERATOR, "openai", True)
        await page.refresh()
        assert name_cell(page, "api:openai")[0] == "OpenAI"  # back, and not grey
        assert name_cell(page, "api:openai")[1] != grey.name()

        upstream.script(Reply.error(500))
        assert page.select("api:openai")
        page.test_button.click()
        await until(lambda: "Failed after" in page.test_label.text(), "the failed test")
        await page.refresh()
        text, colour, _tip = name_cell(page, "api:openai")
        assert (text, colour) == ("OpenAI", grey.name())
        status = page.table.item(page.rows.index(page.selected_row()), STATUS_COLUMN)  # type: ignore[arg-type]
        assert status is not None and status.foreground().color().name() == error_colour()

    on_providers(body)


def test_each_row_has_its_switch_and_a_switched_off_provider_says_so(
    on_providers: OnProviders, qtbot: QtBot
) -> None:
    """Issue 41, review finding 12: a switch in every row that a switch can make answer (none
    for a provider with no key or no CLI, whose status says why), one click to turn it off,
    "Switched off" in its status afterwards; in the details the switch is on its label's line."""

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        engine, actions = page.engine, page.context.actions
        page.resize(1024, 700)
        page.show()
        await page.refresh()
        switches = page.table.switches
        assert "openai" in switches and switches["openai"].isChecked()
        # No switch where none would help: no key, no CLI.
        assert "groq" not in switches and "claude" not in switches
        groq = [row.key for row in page.rows].index("api:groq")
        assert page.table.cellWidget(groq, SWITCH_COLUMN) is None

        switch = switches["openai"]
        assert switch.accessibleName() == "Let tools call OpenAI"
        qtbot.mouseClick(switch, Qt.MouseButton.LeftButton)  # one click, in the list
        assert not engine.providers.is_enabled("openai")
        assert not actions.providers["openai"].isChecked()  # the tray follows
        await page.refresh()
        index = [row.key for row in page.rows].index("api:openai")
        status = page.table.item(index, STATUS_COLUMN)
        assert status is not None and status.text() == "Switched off"
        assert status.foreground().color() == status_data("off", FOREGROUND)
        assert not page.table.switches["openai"].isChecked()

        # Switched on elsewhere (the tray): the list's switch follows at once.
        engine.providers.set_enabled(OPERATOR, "openai", True)
        assert page.table.switches["openai"].isChecked()

        # The details: the switch sits on its label's line, and says what it means.
        assert page.select("api:openai")
        label = page.detail.form.labelForField(page.enabled_box)
        assert label is not None and label.text() == "Switch"
        assert abs(label.geometry().center().y() - page.enabled_box.geometry().center().y()) < 8
        assert page.enabled_box.text() == SWITCH_ON_WORDS
        page.enabled_box.click()
        assert not engine.providers.is_enabled("openai")
        assert page.enabled_box.text() == SWITCH_OFF_WORDS
        assert not page.table.switches["openai"].isChecked()

    on_providers(body)


def test_a_test_result_stands_apart_from_its_button(on_providers: OnProviders) -> None:
    """Review 41-2, finding 20: "Not tested yet" touched its Test button."""

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        await page.refresh()
        assert page.select("api:openai")
        assert page.test_label.text() == "Not tested yet"
        gap = page.test_label.geometry().left() - page.test_button.geometry().right()
        assert gap >= SPACE["m"], gap

    on_providers(body)


def test_the_details_list_every_model_the_provider_answers_for(on_providers: OnProviders) -> None:
    """Issue 64.6: the page named no model (a local server's own app opens on its model list):
    the chosen provider's models are listed, a line each, one click making it the Test's."""

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        await page.refresh()
        assert page.select("api:openai")
        row = page.selected_row()
        assert row is not None and len(row.models) > 1
        listed = page.detail.models_list
        assert [listed.item(i).text() for i in range(listed.count())] == list(row.models)
        assert not listed.isHidden()
        assert page.detail.models_count.text() == f"{len(row.models)} models"
        listed.setCurrentRow(1)
        assert page.model_box.currentText() == row.models[1]  # the model a Test asks

    on_providers(body)


def test_the_list_shows_every_kind_whole_and_the_details_say_what_a_circuit_does(
    on_providers: OnProviders,
) -> None:
    """Review 41-2, finding 12 (and 20): the Kind column read "Loc…" even at 1920 px (the local
    servers' rows were off screen when the list was measured), a "Last test" column was always
    empty, and "closed (ok)" stood beside a red "Failing"."""

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        page.resize(1024, 700)  # the local servers' rows below the fold
        await page.refresh()
        page.resize(1920, 1080)
        await until(lambda: page.width() == 1920, "wide")
        table = page.table
        kind = COLUMNS.index("Kind")
        assert not table.isColumnHidden(kind)
        metrics = table.fontMetrics()
        for index, row in enumerate(page.rows):
            item = table.item(index, kind)
            assert item is not None and item.text() == row.kind
            assert metrics.horizontalAdvance(row.kind) + 2 * SPACE["xs"] <= (
                table.columnWidth(kind)
            ), row.kind
        assert "Local server" in {row.kind for row in page.rows}
        assert "Last test" not in COLUMNS

    on_providers(body)


def test_the_chosen_row_stays_in_view_when_the_list_gets_shorter(on_providers: OnProviders) -> None:
    """The last session's screenshots (a rested xAI chosen from the tray): the Providers page
    showed xAI's details beside a list whose xAI row, chosen at the bottom of the list, was cut
    to a sliver by the layout settling after it was chosen. A chosen row that was in view stays
    in view when the list gets shorter; a row the person scrolled away from is left alone."""

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        table = page.table

        def in_view(index: int) -> bool:
            cell = table.visualRect(table.model().index(index, 0))
            return cell.isValid() and table.viewport().rect().contains(cell)

        page.resize(1024, 700)
        await page.refresh()
        last = len(page.rows) - 1
        assert page.select(page.rows[last].key)
        await until(lambda: in_view(last), "the chosen row in view")
        page.resize(1024, 520)  # a status message, a page's layout settling
        await until(lambda: table.viewport().height() < 520, "the list shorter")
        await until(lambda: in_view(last), "the chosen row still in view")
        table.scrollToTop()  # the person looks elsewhere: not pulled back on the next resize
        assert not in_view(last)
        page.resize(1024, 480)
        await until(lambda: table.viewport().height() < 480, "the list shorter again")
        assert not in_view(last) and table.verticalScrollBar().value() == 0

    on_providers(body)


def test_a_circuit_that_closed_loses_its_red_cross(on_providers: OnProviders) -> None:
    """The Circuit cell of a circuit that closed kept the open one's red cross beside "calls go
    through (closed)" (person pass, 2026-11-29): the glyph was set when open, never taken off."""

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        await page.refresh()
        table, rows = page.table, list(page.rows)
        column = COLUMNS.index("Circuit")
        opened = circuit_text({"state": "open", "retryAfterSeconds": 30})
        table.show_rows([dataclasses.replace(rows[0], circuit=opened), *rows[1:]])
        cell = table.item(0, column)
        assert cell is not None and not cell.icon().isNull()
        table.show_rows(
            [dataclasses.replace(rows[0], circuit="calls go through (closed)"), *rows[1:]]
        )
        cell = table.item(0, column)
        assert cell is not None and cell.icon().isNull(), "the open circuit's cross is gone"
        assert cell.text() == "calls go through (closed)"

    on_providers(body)


def test_a_circuit_says_what_it_does_to_the_calls() -> None:
    assert circuit_text({"state": "closed"}) == "calls go through (closed)"
    assert circuit_text({"state": "half_open"}) == "one call tries (half open)"
    opened = circuit_text({"state": "open", "retryAfterSeconds": 30})
    assert opened.startswith("calls refused until ") and opened.endswith(" (open)")


def test_the_providers_that_answer_come_first_and_the_rest_are_folded(
    on_providers: OnProviders,
) -> None:
    """Issue 54.4: twelve "Not installed" CLIs were listed before the one provider that
    answers. Those that answer come first; those no switch can make answer are folded under
    "Show N more", one click away, and unfolded when one of them is chosen."""

    async def body(page: ProvidersPage, _upstream: ScriptedUpstream) -> None:
        await page.refresh()
        table = page.table
        shown = [row for i, row in enumerate(page.rows) if not table.isRowHidden(i)]
        assert shown and shown[0].name == "OpenAI" and shown[0].status == "Ready"
        assert all(switchable(row) for row in shown)
        folded = page.folded
        assert folded and all(not switchable(row) for row in folded)
        button = page.unfold_button
        assert button.isVisible() and button.text().startswith(f"Show {len(folded)} more")
        assert page.selected_row() in shown  # the details never show a folded row
        button.click()
        assert not any(table.isRowHidden(i) for i in range(table.rowCount()))
        assert button.text() == "Hide the providers that cannot answer"
        button.click()
        # Chosen from elsewhere (the palette, a notification): unfolded and shown.
        page.select(folded[-1].key)
        assert button.isChecked() and page.selected_row() == folded[-1]

    on_providers(body)


def test_a_built_in_providers_keys_are_one_click_from_its_details(on_window: OnWindow) -> None:
    """Issue 54.3: the Providers detail said a built-in provider's keys "are set under
    [gateway.providers]". Its Keys… button opens the Provider keys page on that provider."""

    async def body(_desk: Desk, window: MainWindow) -> None:
        window.show_page("providers")
        page = window.pages["providers"]
        assert isinstance(page, ProvidersPage)
        await until(lambda: page.select("api:anthropic"), "the rows")
        button = page.detail.keys_button
        assert button.isVisible() and "[gateway.providers]" in page.config_state.text()
        button.click()
        keys = window.pages["credentials"]
        assert window.current_page is keys
        assert keys.provider_box.currentText() == "anthropic"  # type: ignore[attr-defined]
        # A CLI has no API key to set here.
        window.show_page("providers")
        page.select(next(r.key for r in page.rows if r.is_cli))
        assert not button.isVisible()

    on_window(body)


def test_a_routes_targets_show_their_share_latency_and_cool_down(
    on_providers: OnProviders,
) -> None:
    """A route over two targets: after some answers the page shows each target's share and
    latency, and a target answering 429 as cooling down with the seconds left."""
    from llmgw_desktop.engine.api import DIALECT_OPENAI_CHAT, CallerInfo
    from llmgw_desktop.ui.pages.route_targets import ROUTE_COLUMNS

    route = {"targets": ["openai/gpt-4o-mini", "openai/gpt-4o"], "strategy": "round-robin"}

    async def body(page: ProvidersPage, upstream: ScriptedUpstream) -> None:
        await page.refresh()
        view = page.route_targets
        assert view.isVisible()  # the route is shown before any answer
        untimed = view.table.item(0, 4)
        assert untimed is not None and untimed.text() == "no recent answer"
        caller = CallerInfo(principal=OPERATOR.id, endpoint="/v1/chat/completions")
        hi = {"model": "team", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(4):
            await page.engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(hi), caller)
        upstream.script(Reply.error(429, retry_after_s=30))
        await page.engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(hi), caller)
        await page.refresh()
        table = view.table
        cells = [
            [table.item(r, c).text() for c in range(len(ROUTE_COLUMNS))]  # type: ignore[union-attr]
            for r in range(table.rowCount())
        ]
        assert [c[:2] for c in cells] == [
            ["team", "openai/gpt-4o-mini"],
            ["team", "openai/gpt-4o"],
        ]
        assert {c[3] for c in cells} == {"40%", "60%"}
        assert all(c[4].endswith(" ms") for c in cells)
        cooling = [c[6] for c in cells if c[6] != "Answering"]
        assert len(cooling) == 1 and cooling[0].startswith("Cooling down (tried last) until ")
        assert ", after 429" in cooling[0], cooling[0]
        # The State cell is cut where room is short (a review at 1024): its tooltip is whole.
        for r in range(table.rowCount()):
            state = table.item(r, 6)
            assert state is not None and state.toolTip() == state.text()

    on_providers(body, overrides={"gateway.routes": {"team": route}})


def test_a_pointed_agents_login_line_says_its_vendor_answers_nothing() -> None:
    """Review 2026-11-28 under Xvfb: with no OpenAI key (or a refused one) Qwen Code's Login
    line read "its model calls come back through the gateway, with its OpenAI key" beside a
    status saying that key is missing. It says that key answers nothing now."""
    from dataclasses import replace

    from llmgw_desktop.engine.providers.account_files import read_account
    from llmgw_desktop.ui.attention import VENDOR_UNAVAILABLE
    from llmgw_desktop.ui.pages.provider_detail import _login_words
    from llmgw_desktop.ui.pages.provider_rows import ProviderRow

    account = read_account("qwen", {}, Path("/nonexistent-home"))
    row = ProviderRow(
        "cli:qwen", "qwen-cli", "qwen", "Qwen Code", "CLI", "Ready", "", "", (), "", "", (), "", ""
    )
    assert _login_words(account, row).endswith("with its OpenAI key")
    held = _login_words(account, replace(row, status=VENDOR_UNAVAILABLE))
    assert held.endswith("with its OpenAI key, which answers nothing now (see Status)"), held
    # Its default model: told by the gateway at each run, not "the CLI's own default: the
    # gateway pins none" (a review: every run was told gpt-5-fake).
    from llmgw_desktop.ui.pages.provider_detail import _default_words

    told = _default_words(account, replace(row, default_model="(the CLI's own default)"))
    assert told == (
        "told by the gateway at each run: the model asked for where OpenAI's key answers it, "
        "else the first model that key answers"
    ), told
    assert _default_words(None, row) == row.default_model  # not read yet: as the row says


def test_a_pointed_agents_own_models_are_said_as_its_own(qtbot: QtBot) -> None:
    """The second review: Qwen Code's details listed "1 model: qwen3-coder-plus" beside a
    Default model told at each run and a job whose every call asked gpt-5-fake."""
    from dataclasses import replace

    from llmgw_desktop.engine.providers.account_files import read_account
    from llmgw_desktop.ui.pages.provider_detail import ProviderDetail
    from llmgw_desktop.ui.pages.provider_rows import ProviderRow

    detail = ProviderDetail()
    qtbot.addWidget(detail)
    row = ProviderRow(
        "cli:qwen", "qwen-cli", "qwen", "Qwen Code", "CLI", "Ready", "", "", (), "", "", (), "", ""
    )
    row = replace(row, models=("qwen3-coder-plus",))
    account = read_account("qwen", {}, Path("/nonexistent-home"))
    detail.show_row(row, switched_on=True, custom=False, account=account)
    detail.list_models(row, None)
    assert detail.models_count.text() == (
        "1 model of its own; each run is told one OpenAI's key answers"
    )
    codex = replace(row, key="cli:codex", switch_id="codex", name="Codex")
    detail.show_row(codex, switched_on=True, custom=False, account=None)
    detail.list_models(codex, None)
    assert detail.models_count.text() == "1 model"


def test_a_target_tried_and_failing_is_not_said_untried() -> None:
    """Review 2026-11-28 under Xvfb: a target whose nine calls had all failed read "untried"
    in the Latency column."""
    from llmgw_desktop.engine.api import TargetView
    from llmgw_desktop.ui.pages.route_targets import ROUTE_COLUMNS, target_cells

    latency = ROUTE_COLUMNS.index("Latency")
    never = TargetView("openai/gpt-5-fake", "openai", "gpt-5-fake")
    assert target_cells("team", never)[latency] == "no recent answer"
    failed = TargetView("openai/gpt-5-fake", "openai", "gpt-5-fake", failures=9, last_error="500")
    assert target_cells("team", failed)[latency] == "no recent answer"


def test_a_target_cooling_outside_every_route_says_it_is_in_none(qtbot: QtBot) -> None:
    """A helper's review: a target cooling down outside every route showed an empty Route and
    Weight, read as something missing; with no route configured, the table's heading said
    "Routes over several providers" above it."""
    from llmgw_desktop.engine.api import TargetView
    from llmgw_desktop.ui.pages.route_targets import (
        NO_ROUTE,
        RESTING_HEADING,
        ROUTE_COLUMNS,
        RouteTargetsView,
    )

    view = RouteTargetsView()
    qtbot.addWidget(view)
    cooling = TargetView(
        "openai/gpt-5-fake", "openai", "gpt-5-fake", state="open", cooling_s=60, last_error="500"
    )
    view.show_targets([], [cooling])
    cells = [view.table.item(0, c).text() for c in range(len(ROUTE_COLUMNS))]  # type: ignore[union-attr]
    assert cells[:3] == [NO_ROUTE, "openai/gpt-5-fake", "–"], cells
    assert cells[6].startswith("Circuit open (tried last) until "), cells[6]
    assert view.heading.text() == RESTING_HEADING


def test_the_models_note_says_plus_only_where_something_is_added() -> None:
    """A person's pass (2026-11-30, F9): a provider of one's own read "Read from the provider
    at 06:13, plus config.toml" where config.toml named no model of it (only a route's target
    it lists itself)."""
    read = {
        "modelsSource": "upstream",
        "modelsFetchedAt": 1_764_000_000,
        "modelsFrom": "config.toml",
    }
    assert "plus" not in models_note({**read, "modelsNotListed": []})
    assert models_note({**read, "modelsNotListed": ["my-model"]}).endswith(", plus config.toml")
