"""The tray: its menu's actions, its state (icon and tooltip) and its messages, offscreen.

State and messages are driven by a real started engine running jobs through a stand-in CLI
(tests/fakes/fake_vibe.py as Mistral Vibe, which needs Python 3.12 and cannot run here) against
the scripted upstream. The offscreen platform has no notification server, so
`QSystemTrayIcon.showMessage` is replaced by a spy that records what would pop up. It has no
system tray either: the tests that run the whole desktop app say the tray is available, so
the app builds one, exactly as on a desktop.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import qasync

from llmgw_desktop.config.cli_catalog import PROVIDERS
from llmgw_desktop.config.settings import LoadedSettings, Settings
from llmgw_desktop.engine.auth.consent import ConsentRequest
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import ProviderUnavailable
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.attention import provider_verdicts
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.pages.provider_rows import load_provider_rows
from llmgw_desktop.ui.qt import QAction, QGuiApplication, QSystemTrayIcon
from llmgw_desktop.ui.tray import LONG_JOB_S, TrayIcon, format_duration
from tests.clock import Clock
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.ui.approval_requests import RISKY
from tests.ui.desk_gateway import no_clis_on_path
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.ui.running_app import OnApp, desktop_app, ui_up
from tests.waiting import until

ENDPOINT = "http://127.0.0.1:3333/mcp"
FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"
STEP_TIMEOUT = 10.0
Messages = list[tuple[str, str]]


class Calls:
    def __init__(self) -> None:
        self.opened = 0
        self.quit = 0


@pytest.fixture
def tray(qapp: object, loaded: LoadedSettings) -> Iterator[tuple[TrayIcon, Engine, Calls]]:
    engine = Engine(loaded.settings)
    engine.providers.set_enabled(OPERATOR, "copilot", False)
    bridge = EngineBridge(engine)
    calls = Calls()
    actions = GatewayActions(
        bridge,
        endpoint=lambda: ENDPOINT,
        open_dashboard=lambda: setattr(calls, "opened", calls.opened + 1),
        quit_app=lambda: setattr(calls, "quit", calls.quit + 1),
    )
    tray = TrayIcon(bridge, actions, ENDPOINT)
    yield tray, engine, calls
    bridge.detach()
    tray.hide()


@pytest.fixture
def vibe_settings(
    loaded: LoadedSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LoadedSettings:
    """Settings whose Mistral provider is the stand-in CLI; one failure opens its breaker."""
    monkeypatch.setenv("VIBE_HOME", str(tmp_path / "vibe-home"))
    monkeypatch.setenv("VIBE_TEST_PYTHON", sys.executable)
    settings = loaded.settings.with_values(
        {
            "http.port": 0,
            "providers.cli_path": [str(FAKE_BIN)],
            "providers.retry_attempts": 1,
            "providers.retry_base_delay_ms": 0,
            "providers.breaker_threshold": 1,
            "providers.breaker_cooldown_ms": 60_000,
        }
    )
    return replace(loaded, settings=settings)


def _by_text(tray: TrayIcon) -> dict[str, QAction]:
    return {a.text(): a for a in tray.menu.actions() if a.text()}


def _spy_messages(tray: TrayIcon, monkeypatch: pytest.MonkeyPatch) -> Messages:
    """What `tray` pops up, shown as in a system tray."""
    tray.show()
    shown: Messages = []
    monkeypatch.setattr(
        tray.icon, "showMessage", lambda title, text, *_: shown.append((title, text))
    )
    return shown


def _run(loop: qasync.QEventLoop, scenario: Callable[[], Awaitable[Any]]) -> Any:
    return loop.run_until_complete(scenario())


# -- the menu --------------------------------------------------------------------------------


def test_menu_lists_every_provider_as_a_checkable_toggle(tray: tuple) -> None:
    menu = tray[0]
    actions = _by_text(menu)
    for info in PROVIDERS:
        action = actions[info.display_name]
        assert action.isCheckable()
        assert action.isChecked() == (info.id != "copilot")
    for label in ("Pause all", "Open dashboard", "Copy MCP endpoint", "Quit"):
        assert label in actions


def test_an_acp_agent_the_config_adds_has_its_switch_in_the_menu(
    qapp: object, loaded: LoadedSettings
) -> None:
    added = {"scripted": {"command": "scripted-agent", "name": "Scripted agent"}}
    engine = Engine(loaded.settings.with_values({"providers.acp": added}))
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: ENDPOINT, open_dashboard=lambda: None, quit_app=lambda: None
    )
    tray = TrayIcon(bridge, actions, ENDPOINT)
    try:
        action = _by_text(tray)["Scripted agent"]
        assert action.isCheckable() and action.isChecked()
        action.trigger()
        assert not engine.providers.is_enabled("scripted")
        # Not on PATH: the look the tray takes greys it, saying where it is looked for.
        actions.show_rows(asyncio.run(load_provider_rows(engine, {}, versions=False)))
        assert "put scripted-agent on PATH" in action.toolTip()
    finally:
        bridge.detach()
        tray.hide()


def test_menu_has_a_section_and_switch_for_api_providers_and_local_servers(tray: tuple) -> None:
    menu, engine, _ = tray
    texts = [a.text() for a in menu.menu.actions()]
    for section, member in (
        ("Coding CLIs", "Codex"),
        ("API providers", "OpenAI"),
        ("Local servers", "Ollama"),
    ):
        assert texts.index(section) < texts.index(member)
    assert texts.index("API providers") < texts.index("Anthropic") < texts.index("Local servers")
    _by_text(menu)["Groq"].trigger()  # from the tray: the gateway's switch for Groq
    assert not engine.providers.is_enabled("groq")
    assert engine.switches.api_refusal("groq") == "disabled"
    assert engine.switches.api_refusal("openai") is None
    _by_text(menu)["Groq"].trigger()
    assert engine.switches.api_refusal("groq") is None


def test_a_cli_not_on_the_path_is_greyed_out_and_says_not_installed(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_clis_on_path(tmp_path, monkeypatch)
    settings = loaded.settings.with_values({"providers.cli_path": [str(FAKE_BIN)]})  # Vibe's
    engine = Engine(settings)
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: ENDPOINT, open_dashboard=lambda: None, quit_app=lambda: None
    )
    tray = TrayIcon(bridge, actions, ENDPOINT)

    async def scenario() -> None:
        tray.menu.aboutToShow.emit()  # opening the menu looks for the CLIs again
        await until(lambda: not actions.providers["codex"].isEnabled(), "the CLIs looked for")
        await until(lambda: not actions.providers["openai"].isEnabled(), "the keys looked for")

    try:
        _run(qloop, scenario)
        codex, vibe = actions.providers["codex"], actions.providers["mistral"]
        # Unavailable, not a switch: a grey circle and why, no check box ticked or not.
        assert codex.text() == "Codex (CLI not installed)" and not codex.isCheckable()
        assert not codex.icon().isNull() and engine.providers.is_enabled("codex")
        assert "npm install -g @openai/codex" in codex.toolTip()
        assert vibe.isEnabled() and vibe.text() == "Mistral Vibe" and vibe.isCheckable()
        # An API provider needs no install, but without a key it cannot answer: unavailable too.
        openai = actions.providers["openai"]
        assert openai.text() == "OpenAI (no key)" and not openai.isCheckable()
    finally:
        bridge.detach()
        tray.hide()


def test_unchecking_a_provider_disables_it_in_the_engine(tray: tuple) -> None:
    menu, engine, _ = tray
    _by_text(menu)["Codex"].trigger()
    with pytest.raises(ProviderUnavailable) as caught:
        engine.switches.ensure_available("codex")
    assert caught.value.code == "provider_disabled"
    _by_text(menu)["Codex"].trigger()
    engine.switches.ensure_available("codex")


def test_engine_side_changes_show_in_the_menu_icon_and_tooltip(tray: tuple) -> None:
    menu, engine, _ = tray
    assert menu.shown_state == "idle" and "idle" in menu.icon.toolTip()
    engine.providers.set_enabled(OPERATOR, "gemini", False)
    assert not _by_text(menu)["Gemini"].isChecked()
    engine.providers.set_paused(OPERATOR, True)
    assert _by_text(menu)["Pause all"].isChecked()
    assert menu.shown_state == "paused" and "paused" in menu.icon.toolTip()
    engine.providers.set_paused(OPERATOR, False)
    assert menu.shown_state == "idle"


def test_a_degraded_store_turns_the_tray_red_and_recovery_clears_it(tray: tuple) -> None:
    icon, engine, _ = tray
    assert icon.state == "idle"
    engine.store.health.report("recorder", "cannot write (database or disk is full)")
    assert icon.shown_state == "error"
    assert "Store degraded: recorder: cannot write" in icon.icon.toolTip()
    engine.store.health.clear("recorder")
    assert icon.shown_state == "idle"
    assert "Store degraded" not in icon.icon.toolTip()


def test_a_damaged_journal_found_at_start_turns_the_tray_red_naming_it(
    qloop: qasync.QEventLoop, tray: tuple
) -> None:
    icon, engine, _ = tray
    data = engine.settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    (data / "recorder-journal.00000001.jsonl").write_bytes(b"\x9c\x00 not a line \xff\n" * 8)

    async def scenario() -> None:
        await engine.start()
        try:
            assert icon.shown_state == "error"
            assert "Store degraded: journal: 8 unreadable line(s)" in icon.icon.toolTip()
        finally:
            await engine.stop()

    _run(qloop, scenario)
    assert (data / "recorder-journal.00000001.jsonl.damaged").exists()


def test_pause_all_pauses_the_engine(tray: tuple) -> None:
    menu, engine, _ = tray
    _by_text(menu)["Pause all"].trigger()
    assert engine.providers.paused
    with pytest.raises(ProviderUnavailable):
        engine.switches.ensure_available("claude")
    _by_text(menu)["Pause all"].trigger()
    assert not engine.providers.paused


def test_copy_mcp_endpoint_fills_the_clipboard(tray: tuple) -> None:
    menu, _, _ = tray
    QGuiApplication.clipboard().clear()
    _by_text(menu)["Copy MCP endpoint"].trigger()
    assert QGuiApplication.clipboard().text() == ENDPOINT


def test_open_dashboard_and_quit_call_the_app_when_no_job_runs(tray: tuple) -> None:
    menu, _, calls = tray
    _by_text(menu)["Open dashboard"].trigger()
    _by_text(menu)["Quit"].trigger()
    assert (calls.opened, calls.quit) == (1, 1)


def test_copy_setup_gives_the_exact_snippet_per_client(tray: tuple) -> None:
    menu, _, _ = tray
    setup = next(a.menu() for a in menu.menu.actions() if a.text() == "Copy setup for")
    labels = [a.text() for a in setup.actions()]
    assert "Claude Code (HTTP)" in labels and "Cursor" in labels and "Codex" in labels
    next(a for a in setup.actions() if a.text() == "Claude Code (HTTP)").trigger()
    assert QGuiApplication.clipboard().text() == (
        f"claude mcp add --scope user --transport http llmgw-desktop {ENDPOINT}"
    )


def test_durations_read_naturally() -> None:
    assert [format_duration(s) for s in (4.9, 75, 3725)] == ["4s", "1m 15s", "1h 02m"]


# -- state and messages from a real engine ---------------------------------------------------


def test_jobs_make_the_tray_busy_and_a_long_one_says_when_it_ends(
    qloop: qasync.QEventLoop, vibe_settings: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(vibe_settings.settings)
    bridge = EngineBridge(engine)
    clock = Clock(1000.0)
    actions = GatewayActions(
        bridge, endpoint=lambda: ENDPOINT, open_dashboard=lambda: None, quit_app=lambda: None
    )
    tray = TrayIcon(bridge, actions, ENDPOINT, clock=clock)
    shown = _spy_messages(tray, monkeypatch)

    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
            upstream.script(Reply.slow(0.6), Reply.ok())
            await engine.start()
            try:
                long_job = await engine.calls.submit("mistral", CallParams(prompt="one"), "local")
                await until(lambda: tray.active_jobs == 1, "job seen as active")
                await until(lambda: tray.shown_state == "busy", "busy icon (after the timer)")
                assert "Jobs: 1 running" in tray.icon.toolTip()
                clock.now += LONG_JOB_S + 1  # the job "ran" past the threshold
                await engine.jobs.wait(long_job.job_id, "local", timeout_s=STEP_TIMEOUT)
                await until(lambda: tray.shown_state == "idle", "idle again")
                assert "Jobs:" not in tray.icon.toolTip()
                assert shown == [
                    (
                        "Job completed",
                        f"A Mistral Vibe job ({long_job.job_id[:8]}) completed after 31s.",
                    )
                ]
                quick = await engine.calls.submit("mistral", CallParams(prompt="two"), "local")
                await engine.jobs.wait(quick.job_id, "local", timeout_s=STEP_TIMEOUT)
                await until(lambda: tray.active_jobs == 0, "quick job done")
                assert len(shown) == 1, "a quick job pops nothing up"
            finally:
                await engine.stop()

    try:
        _run(qloop, scenario)
    finally:
        bridge.detach()
        tray.hide()


def _vibe_tray(settings: Settings) -> tuple[Engine, EngineBridge, TrayIcon]:
    """An engine on `settings` and its tray (not started)."""
    engine = Engine(settings)
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: ENDPOINT, open_dashboard=lambda: None, quit_app=lambda: None
    )
    return engine, bridge, TrayIcon(bridge, actions, ENDPOINT)


@contextlib.asynccontextmanager
async def _one_vibe_call_failed(
    engine: Engine, tray: TrayIcon, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """`engine` started on an upstream answering 500, one Mistral Vibe call failed and the tray
    red for it (the breaker opens at one failure); stopped at the end."""
    async with ScriptedUpstream(default=Reply.error(500)) as upstream:
        monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
        await engine.start()
        try:
            failing = await engine.calls.submit("mistral", CallParams(prompt="x"), "local")
            await engine.jobs.wait(failing.job_id, "local", timeout_s=STEP_TIMEOUT)
            await until(lambda: tray.state == "error", "breaker open")
            yield
        finally:
            await engine.stop()


def test_a_provider_going_down_turns_the_tray_red_and_says_so(
    qloop: qasync.QEventLoop, vibe_settings: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, bridge, tray = _vibe_tray(vibe_settings.settings)
    shown = _spy_messages(tray, monkeypatch)

    async def scenario() -> None:
        async with _one_vibe_call_failed(engine, tray, monkeypatch):
            tooltip = tray.icon.toolTip()
            # Named as every page names it, once: the verdict's status and its reason.
            assert "Failing: Mistral Vibe (1 failures in a row; calls are refused" in tooltip
            assert "Down:" not in tooltip, tooltip
            assert "Last error" not in tooltip, tooltip  # said once, in its Failing line
            titles = [title for title, _ in shown]
            assert titles.count("Mistral Vibe is down") == 1, shown
            assert "Mistral Vibe is failing" not in titles, "one outage, one message"
            # Paused, nothing is called and every page says paused: so does the tray.
            engine.providers.set_paused(OPERATOR, True)
            assert tray.shown_state == "paused"
            engine.providers.set_paused(OPERATOR, False)
            assert tray.shown_state == "error"
        assert "Last error: the engine stopped" in tray.icon.toolTip()

    try:
        _run(qloop, scenario)
    finally:
        bridge.detach()
        tray.hide()


def test_a_circuit_that_lets_a_trial_through_is_not_down_in_the_tray(
    qloop: qasync.QEventLoop, vibe_settings: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half-open, the circuit refuses nothing: the provider is what its calls say (one failure
    of one call is "some calls fail"), on the Providers page and in the tray alike; the tray
    kept its own list of open circuits, red with "Down:" until a call closed it."""
    settings = vibe_settings.settings.with_values({"providers.breaker_cooldown_ms": 300})
    engine, bridge, tray = _vibe_tray(settings)
    _spy_messages(tray, monkeypatch)

    async def scenario() -> None:
        async with _one_vibe_call_failed(engine, tray, monkeypatch):
            await until(
                lambda: engine.providers.breakers()["mistral"]["state"] == "half_open",
                "the cool-down over",
            )
            # What every page shows (the Providers page adds "not logged in", a set-up
            # wanted, which no page counts as failing).
            failing = [v for v in provider_verdicts(engine) if v.failing]
            assert failing == [], failing
            tray.redraw()
            assert tray.state != "error", tray.icon.toolTip()
            assert "Down:" not in tray.icon.toolTip()

    try:
        _run(qloop, scenario)
    finally:
        bridge.detach()
        tray.hide()


# -- the whole desktop app: Open submenu, quit confirmation, desk questions -------------------


@pytest.fixture
def desktop(vibe_settings: LoadedSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[DesktopApp]:
    # Offscreen has no system tray; say there is one so the app builds its tray as on a desktop.
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    with desktop_app(vibe_settings) as app:
        yield app


def test_open_submenu_shows_each_dashboard_page(on_app: OnApp, desktop: DesktopApp) -> None:
    async def body(desktop: DesktopApp) -> None:
        assert desktop.tray is not None and desktop.window is not None
        opener = next(a.menu() for a in desktop.tray.menu.actions() if a.text() == "Open")
        titles = [a.text() for a in opener.actions()]
        assert titles == [page.TITLE for page in desktop.window.pages.values()]
        desktop.window.hide()
        for key, action in zip(desktop.window.pages, opener.actions(), strict=True):
            action.trigger()
            shown_key = desktop.window.current_page.KEY
            assert shown_key == key and desktop.window.isVisible()

    on_app(desktop, body)


def test_quit_with_a_running_job_asks_and_cancel_keeps_it_running(
    qloop: qasync.QEventLoop, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> tuple[int, str]:
        async with ScriptedUpstream(default=Reply.slow(STEP_TIMEOUT)) as upstream:
            monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
            run = asyncio.get_running_loop().create_task(desktop.run())
            await until(lambda: ui_up(desktop), "app up")
            assert desktop.runtime is not None and desktop.tray is not None
            engine = desktop.runtime.engine
            job = await engine.calls.submit("mistral", CallParams(prompt="slow"), "local")
            await upstream.wait_for_requests(1)
            quit_action = _by_text(desktop.tray)["Quit"]

            quit_action.trigger()
            box = desktop.actions.quit_box if desktop.actions else None
            assert box is not None and box.isVisible() and "1 job(s)" in box.text()
            next(b for b in box.buttons() if b.text() == "Cancel").click()
            await asyncio.sleep(0.05)  # a few loop turns: the app must not be stopping
            assert not run.done() and engine.jobs.health()["live"] == 1

            quit_action.trigger()
            box = desktop.actions.quit_box if desktop.actions else None
            assert box is not None
            next(b for b in box.buttons() if b.text() == "Quit anyway").click()
            code = await run
            state = (await engine.jobs.get(job.job_id, "local")).state.value
            return code, state

    assert _run(qloop, scenario) == (0, "interrupted")


def test_consent_and_approval_questions_pop_up_a_message(
    on_app: OnApp, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: Messages = []
    monkeypatch.setattr(
        QSystemTrayIcon, "showMessage", lambda _self, title, text, *_: shown.append((title, text))
    )
    risky = RISKY

    async def body(desktop: DesktopApp) -> None:
        assert desktop.runtime is not None and desktop.consent and desktop.approvals
        engine = desktop.runtime.engine
        engine.auth.consent.ask(
            ConsentRequest("ed", "Desk editor", "http://127.0.0.1:9/cb", ("mcp",), "127.0.0.1")
        )
        deciding = asyncio.get_running_loop().create_task(engine.approvals.decide(risky))
        await until(lambda: desktop.approvals and desktop.approvals.open_dialogs, "approval")
        for box in [
            *desktop.consent.open_dialogs.values(),
            *desktop.approvals.open_dialogs.values(),
        ]:
            next(b for b in box.buttons() if b.text() == "Deny").click()
        assert not (await deciding).allowed

    on_app(desktop, body)
    assert ("Access requested", "Desk editor asks for access to the gateway.") in shown
    assert (
        "Approval needed",
        "A tool at this desk asks Claude Code: the call waits for your approval.",
    ) in shown


def test_without_a_system_tray_the_notification_history_still_hears_of_an_outage(
    on_app: OnApp, vibe_settings: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GNOME's default shell has no tray: the app built no `TrayIcon`, and the one that decides
    what is news (a provider failing, a question waiting) was gone with it, so the
    Notifications page listed none of it (person pass, 2026-11-29). Nothing pops up where no
    tray can show it; the history keeps each message."""
    popped: Messages = []
    monkeypatch.setattr(
        QSystemTrayIcon, "showMessage", lambda _self, title, text, *_: popped.append((title, text))
    )
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen, as a tray-less desktop

    async def body(desktop: DesktopApp) -> None:
        assert desktop.runtime is not None and desktop.window is not None
        engine = desktop.runtime.engine
        async with ScriptedUpstream(default=Reply.error(500)) as upstream:
            monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
            failing = await engine.calls.submit("mistral", CallParams(prompt="x"), "local")
            await engine.jobs.wait(failing.job_id, "local", timeout_s=STEP_TIMEOUT)
        notes = desktop.window.notifications

        def told() -> list[str]:
            return [n.text for n in notes.entries() if "Mistral Vibe" in n.text]

        said = await until(told, "the outage in the history")
        assert any("failed several times in a row" in text for text in said), said

    with desktop_app(vibe_settings) as desktop:
        on_app(desktop, body)
    assert popped == []
