"""The gateway's user actions as QActions, shared by the tray menu and the window's menu bar.

One set of actions means the tray and the window can never disagree about a provider's switch:
both show the same checkable QAction, kept in step with the engine through the bridge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from llmgw_desktop.connect import snippets
from llmgw_desktop.engine.errors import GatewayError
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.qt import QAction, QGuiApplication, QMenu, QObject, QWidget

__all__ = ["GatewayActions"]

log = logging.getLogger(__name__)


class GatewayActions(QObject):
    """Provider toggles, Pause all, Open dashboard, Copy MCP endpoint and Quit."""

    def __init__(
        self,
        bridge: EngineBridge,
        *,
        endpoint: Callable[[], str],
        open_dashboard: Callable[[], None],
        quit_app: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._engine = bridge.engine
        self._endpoint = endpoint

        self.providers: dict[str, QAction] = {}
        for state in self._engine.provider_states():
            action = QAction(state.display_name, self)
            action.setCheckable(True)
            action.setChecked(state.enabled)
            action.setObjectName(f"provider:{state.id}")
            action.setToolTip(f"Let tools call {state.display_name} through the gateway")
            action.toggled.connect(lambda on, pid=state.id: self._set_provider(pid, on))
            self.providers[state.id] = action

        self.pause_all = QAction("Pause all", self)
        self.pause_all.setCheckable(True)
        self.pause_all.setChecked(self._engine.paused)
        self.pause_all.setToolTip("Refuse every provider call until resumed")
        self.pause_all.toggled.connect(self._engine.set_paused)

        self.open_dashboard = QAction("Open dashboard", self)
        self.open_dashboard.triggered.connect(open_dashboard)

        self.copy_endpoint = QAction("Copy MCP endpoint", self)
        self.copy_endpoint.triggered.connect(self._copy_endpoint)
        # One action per client: the exact command or config snippet for the live endpoint.
        self.copy_setup: list[QAction] = []
        for snippet in snippets(endpoint()):
            action = QAction(snippet.client, self)
            action.setToolTip(f"Copy the {snippet.client} setup ({snippet.where})")
            action.triggered.connect(lambda _=False, c=snippet.client: self._copy_setup(c))
            self.copy_setup.append(action)

        self.quit = QAction("Quit", self)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit.triggered.connect(quit_app)

        bridge.providerToggled.connect(self._on_provider_toggled)
        bridge.pauseChanged.connect(self._on_pause_changed)

    def build_menu(self, title: str = "Gateway", parent: QWidget | None = None) -> QMenu:
        """A menu holding every action, for the tray or a menu bar."""
        menu = QMenu(title, parent)
        menu.addSection("Providers")
        for action in self.providers.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.pause_all)
        menu.addSeparator()
        menu.addAction(self.open_dashboard)
        menu.addAction(self.copy_endpoint)
        setup = menu.addMenu("Copy setup for")
        for action in self.copy_setup:
            setup.addAction(action)
        menu.addSeparator()
        menu.addAction(self.quit)
        return menu

    def _set_provider(self, provider: str, enabled: bool) -> None:
        try:
            self._engine.set_provider_enabled(provider, enabled)
        except GatewayError as exc:  # not expected: the actions come from the engine's list
            log.error("could not switch %s: %s", provider, exc.message)

    def _on_provider_toggled(self, provider: str, enabled: bool) -> None:
        action = self.providers.get(provider)
        if action is not None and action.isChecked() != enabled:
            action.setChecked(enabled)

    def _on_pause_changed(self, paused: bool) -> None:
        if self.pause_all.isChecked() != paused:
            self.pause_all.setChecked(paused)

    def _copy_setup(self, client: str) -> None:
        snippet = next(s for s in snippets(self._endpoint()) if s.client == client)
        QGuiApplication.clipboard().setText(snippet.text)
        self._bridge.notice.emit("info", f"Copied the {client} setup ({snippet.where})")

    def _copy_endpoint(self) -> None:
        QGuiApplication.clipboard().setText(self._endpoint())
        self._bridge.notice.emit("info", f"Copied {self._endpoint()}")
