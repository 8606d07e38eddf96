"""The tray menu's actions, on the real menu object, offscreen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import ProviderUnavailable
from llmgw_desktop.engine.providers.catalog import PROVIDERS
from llmgw_desktop.settings import LoadedSettings
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.qt import QAction, QGuiApplication
from llmgw_desktop.ui.tray import TrayIcon

ENDPOINT = "http://127.0.0.1:3333/mcp"


class Calls:
    def __init__(self) -> None:
        self.opened = 0
        self.quit = 0


@pytest.fixture
def tray(qapp: object, loaded: LoadedSettings) -> Iterator[tuple[TrayIcon, Engine, Calls]]:
    engine = Engine(loaded.settings)
    engine.set_provider_enabled("copilot", False)
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


def _by_text(tray: TrayIcon) -> dict[str, QAction]:
    return {a.text(): a for a in tray.menu.actions() if a.text()}


def test_menu_lists_every_provider_as_a_checkable_toggle(tray: tuple) -> None:
    menu = tray[0]
    actions = _by_text(menu)
    for info in PROVIDERS:
        action = actions[info.display_name]
        assert action.isCheckable()
        assert action.isChecked() == (info.id != "copilot")
    for label in ("Pause all", "Open dashboard", "Copy MCP endpoint", "Quit"):
        assert label in actions


def test_unchecking_a_provider_disables_it_in_the_engine(tray: tuple) -> None:
    menu, engine, _ = tray
    _by_text(menu)["Codex"].trigger()
    with pytest.raises(ProviderUnavailable) as caught:
        engine.ensure_provider_available("codex")
    assert caught.value.code == "provider_disabled"
    _by_text(menu)["Codex"].trigger()
    engine.ensure_provider_available("codex")


def test_engine_side_changes_show_in_the_menu(tray: tuple) -> None:
    menu, engine, _ = tray
    engine.set_provider_enabled("gemini", False)
    assert not _by_text(menu)["Gemini"].isChecked()
    engine.set_paused(True)
    assert _by_text(menu)["Pause all"].isChecked()
    assert "paused" in menu.icon.toolTip()


def test_pause_all_pauses_the_engine(tray: tuple) -> None:
    menu, engine, _ = tray
    _by_text(menu)["Pause all"].trigger()
    assert engine.paused
    with pytest.raises(ProviderUnavailable):
        engine.ensure_provider_available("claude")
    _by_text(menu)["Pause all"].trigger()
    assert not engine.paused


def test_copy_mcp_endpoint_fills_the_clipboard(tray: tuple) -> None:
    menu, _, _ = tray
    QGuiApplication.clipboard().clear()
    _by_text(menu)["Copy MCP endpoint"].trigger()
    assert QGuiApplication.clipboard().text() == ENDPOINT


def test_open_dashboard_and_quit_call_the_app(tray: tuple) -> None:
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
        f"claude mcp add --transport http llmgw-desktop {ENDPOINT}"
    )
