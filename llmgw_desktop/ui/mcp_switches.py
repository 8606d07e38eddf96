"""A switch per configured MCP server of the user's, shared by the tray's "MCP servers" submenu
and the MCP servers page so the two never disagree (as the provider switches are).

Turning one saves `mcp.servers.NAME.enabled` in config.toml through the engine (off the loop);
if that fails the switch goes back and the failure is said.
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

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = UiTasks(on_error=self.failed.emit)
        self.actions: dict[str, QAction] = {}
        self._reverting: set[str] = set()  # put back after a failed save: not saved again
        for status in engine.upstream_mcp.status():
            name = str(status["name"])
            action = QAction(name, self)
            action.setCheckable(True)
            action.setChecked(bool(status["enabled"]))
            action.setObjectName(f"mcp-server:{name}")
            action.setToolTip(f"Offer the MCP server {name}'s tools, prompts and resources")
            action.toggled.connect(lambda on, n=name: self._switch(n, on))
            self.actions[name] = action

    def add_to(self, menu: QMenu) -> None:
        """Add the "MCP servers" submenu to `menu` (nothing when none is configured)."""
        if not self.actions:
            return
        submenu = menu.addMenu("MCP servers")
        submenu.setObjectName("mcpServers")
        for action in self.actions.values():
            submenu.addAction(action)

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
