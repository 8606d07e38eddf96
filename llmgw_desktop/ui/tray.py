"""The tray icon: the gateway's actions one click away, and its state at a glance."""

from __future__ import annotations

from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.icons import app_icon, paused_icon
from llmgw_desktop.ui.qt import QMenu, QObject, QSystemTrayIcon

__all__ = ["TrayIcon"]

NOTICE_MS = 4000


class TrayIcon(QObject):
    """A `QSystemTrayIcon` whose menu is the shared gateway actions."""

    def __init__(self, bridge: EngineBridge, actions: GatewayActions, endpoint: str) -> None:
        super().__init__()
        self._actions = actions
        self._endpoint = endpoint
        self.menu: QMenu = actions.build_menu("llmgw-desktop")
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        bridge.pauseChanged.connect(self._show_pause)
        bridge.notice.connect(self._show_notice)
        self._show_pause(bridge.engine.paused)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A left click (Trigger) opens the window; the context menu handles right clicks.
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self._actions.open_dashboard.trigger()

    def _show_pause(self, paused: bool) -> None:
        self.icon.setIcon(paused_icon() if paused else app_icon())
        state = "all providers paused" if paused else "running"
        self.icon.setToolTip(f"llmgw-desktop: {state}\n{self._endpoint}")

    def _show_notice(self, level: str, message: str) -> None:
        icons = {
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "error": QSystemTrayIcon.MessageIcon.Critical,
        }
        icon = icons.get(level, QSystemTrayIcon.MessageIcon.Information)
        self.icon.showMessage("llmgw-desktop", message, icon, NOTICE_MS)
