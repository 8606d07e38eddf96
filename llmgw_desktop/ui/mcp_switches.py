"""A switch per configured MCP server of the user's, shared by the tray's "MCP servers" submenu
and the MCP servers page so the two never disagree (as the provider switches are).

Turning one saves `mcp.servers.NAME.enabled` in config.toml through the engine (off the loop);
if that fails the switch goes back and the failure is said. A server added or removed on the
MCP servers page gains or loses its action here (`sync`), in the tray's submenu too.
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine
from llmgw_desktop.ui.qt import QAction, QMenu, QObject, Signal
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["McpServerSwitches"]

log = logging.getLogger(__name__)


class McpServerSwitches(QObject):
    """One checkable action per configured server, in config order."""

    failed = Signal(str)  # what went wrong, for the window's status bar
    changed = Signal()  # a server was added or removed: the actions are the engine's again

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = UiTasks(on_error=self.failed.emit)
        self.actions: dict[str, QAction] = {}
        self._reverting: set[str] = set()  # put back after a failed save: not saved again
        self._menus: list[QMenu] = []
        self.sync()

    def sync(self) -> None:
        """One action per server the engine has now: new ones added, removed ones dropped."""
        statuses = {str(s["name"]): s for s in self._engine.upstream_mcp.status()}
        for name in [n for n in self.actions if n not in statuses]:
            self.actions.pop(name).deleteLater()
        for name, status in statuses.items():
            if name not in self.actions:
                self.actions[name] = self._action(name, bool(status["enabled"]))
        self.actions = {name: self.actions[name] for name in statuses}  # in config order
        for submenu in self._menus:
            self._fill(submenu)
        self.changed.emit()

    def _action(self, name: str, enabled: bool) -> QAction:
        action = QAction(name, self)
        action.setCheckable(True)
        action.setChecked(enabled)
        action.setObjectName(f"mcp-server:{name}")
        action.setToolTip(f"Offer the MCP server {name}'s tools, prompts and resources")
        action.toggled.connect(lambda on, n=name: self._switch(n, on))
        return action

    def add_to(self, menu: QMenu) -> None:
        """Add the "MCP servers" submenu to `menu` (hidden while none is configured)."""
        submenu = menu.addMenu("MCP servers")
        submenu.setObjectName("mcpServers")
        self._menus.append(submenu)
        # A menu is built again at each showing; a dropped one is not filled again.
        submenu.destroyed.connect(lambda _=None, m=submenu: self._forget(m))
        self._fill(submenu)

    def _forget(self, submenu: QMenu) -> None:
        self._menus = [m for m in self._menus if m is not submenu]

    def _fill(self, submenu: QMenu) -> None:
        submenu.clear()
        for action in self.actions.values():
            submenu.addAction(action)
        submenu.menuAction().setVisible(bool(self.actions))

    def _switch(self, name: str, on: bool) -> None:
        if name in self._reverting:
            return
        self._tasks.spawn(self._save(name, on), what=f"switch the MCP server {name}")

    async def _save(self, name: str, on: bool) -> None:
        try:
            await self._engine.upstream_mcp.set_enabled(LOCAL_CALLER, name, on)
        except Exception:
            self._reverting.add(name)
            try:
                self.actions[name].setChecked(not on)  # back as it was, everywhere it shows
            finally:
                self._reverting.discard(name)
            raise
