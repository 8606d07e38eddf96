"""MCP servers: the user's own servers behind /mcp, each with its state, what it offers, its
switch, the tail of its stderr, and a Test button.

The figures are the engine's in memory (`engine.upstream_mcp.status()`), read once a second
while the page is shown. The switch is the tray's own action (`McpServerSwitches`), so the two
never disagree; turning it saves `mcp.servers.NAME.enabled` in config.toml. Test starts the
server if it is not running, reads its lists again and says what it found, or why it failed.
Add… (`AddServerDialog`) and Remove… write or delete the server's `[mcp.servers.NAME]` table
through the engine (the person's comments kept) and take effect at once, here, in the tray and
on /mcp. A server that wants its user signed in (OAuth) shows a Sign in button.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.mcp_server_dialog import AddServerDialog
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QCheckBox,
    QDesktopServices,
    QFontDatabase,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
)

__all__ = ["McpServersPage", "state_words"]

POLL_MS = 1000
COLUMNS = ("Server", "Transport", "State", "Tools", "Prompts", "Resources", "On")
ON_COLUMN = COLUMNS.index("On")
NONE_CONFIGURED = (
    "No MCP servers are configured. Add… adds one (a [mcp.servers.NAME] table in config.toml; "
    'the documentation\'s page "Your MCP servers behind the gateway" shows how).'
)
INTRO = (
    "Your own MCP servers, offered on this gateway's /mcp beside its own tools: tools and "
    "prompts as NAME__tool, resources as NAME+uri. A server starts at its first use."
)


def state_words(status: dict[str, Any]) -> str:
    """A server's state as the page says it."""
    state = str(status.get("state", ""))
    if state == "idle":
        return "not started (starts at first use)"
    if state == "disabled":
        return "off"
    if state == "needs_sign_in":
        return "needs sign-in (OAuth): press Sign in and finish it in the browser"
    words = f"failed: {status.get('error') or 'it ended'}" if state == "failed" else state
    if status.get("stale"):
        words += "; offering what it listed last"
    left_out = status.get("leftOut") or {}
    if left_out:
        lists = ", ".join(f"{count}+ {kind}" for kind, count in sorted(left_out.items()))
        words += (
            f"; left out {lists} past the first {status.get('maxTools')} (mcp.max_tools_per_server)"
        )
    return words


class McpServersPage(Page):
    KEY = "mcp-servers"
    TITLE = "MCP servers"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.switches = context.actions.mcp_servers
        self.switches.failed.connect(self.show_error)
        self.switches.changed.connect(self._rebuild)
        self.dialog: AddServerDialog | None = None
        self.remove_box: QMessageBox | None = None
        self.intro = QLabel("")
        self.intro.setWordWrap(True)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("mcpServersTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("State"), QHeaderView.ResizeMode.Stretch)
        self.switch_boxes: dict[str, QCheckBox] = {}
        self.names: list[str] = []
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.add_button = QPushButton("Add…")
        self.add_button.setObjectName("mcpServerAdd")
        self.add_button.setToolTip("Add an MCP server: a command to start, or a URL")
        self.add_button.clicked.connect(self.open_add_dialog)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("mcpServerRemove")
        self.remove_button.setToolTip("Stop the selected server and remove it from config.toml")
        self.remove_button.clicked.connect(self.remove_selected)

        self.selected_label = QLabel("")
        self.selected_label.setObjectName("mcpServerSelected")
        self.selected_label.setWordWrap(True)
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("mcpServerTest")
        self.test_button.setToolTip("Connect to the server, list what it offers, and say so")
        self.test_button.clicked.connect(self.test_selected)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("mcpServerSignIn")
        self.sign_in_button.setToolTip(
            "Open the server's sign-in page in the browser; the gateway catches its answer"
        )
        self.sign_in_button.clicked.connect(self.sign_in_selected)
        self.sign_in_button.setVisible(False)
        self.test_label = QLabel("")
        self.test_label.setObjectName("mcpServerTestResult")
        self.test_label.setWordWrap(True)
        self.stderr_view = QPlainTextEdit()
        self.stderr_view.setObjectName("mcpServerStderr")
        self.stderr_view.setReadOnly(True)
        self.stderr_view.setPlaceholderText("The server's stderr (the last few KiB) shows here.")
        self.stderr_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        edit_row = QHBoxLayout()
        edit_row.addWidget(self.add_button)
        edit_row.addWidget(self.remove_button)
        edit_row.addStretch(1)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.sign_in_button)
        test_row.addWidget(self.test_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(edit_row)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.selected_label)
        layout.addLayout(test_row)
        layout.addWidget(stderr_title := QLabel("Its stderr"))
        layout.addWidget(self.stderr_view, 1)
        self._shown_with_servers = (
            self.table,
            self.selected_label,
            self.test_button,
            self.test_label,
            self.remove_button,
            stderr_title,
            self.stderr_view,
        )

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.refresh)
        self._rebuild()

    def _rebuild(self) -> None:
        """One row per server the engine has now (after an add or a remove, too)."""
        kept = self.selected
        names = [str(s["name"]) for s in self.engine.upstream_mcp.status()]
        self.table.clearContents()
        self.table.setRowCount(len(names))
        self.switch_boxes = {}
        for row, name in enumerate(names):
            for column in range(len(COLUMNS) - 1):
                self.table.setItem(row, column, QTableWidgetItem(""))
            self.switch_boxes[name] = self._switch_box(name)
            self.table.setCellWidget(row, ON_COLUMN, self.switch_boxes[name])
        self.names = names
        self.intro.setText(INTRO if names else NONE_CONFIGURED)
        for widget in self._shown_with_servers:
            widget.setVisible(bool(names))
        if not names:
            self.sign_in_button.setVisible(False)
        if names:
            self.table.selectRow(names.index(kept) if kept in names else 0)
        self.refresh()

    def _switch_box(self, name: str) -> QCheckBox:
        """A check box that is the server's shared switch (the tray's action) on this page."""
        action = self.switches.actions[name]
        box = QCheckBox()
        box.setObjectName(f"mcpServerOn:{name}")
        box.setToolTip(action.toolTip())
        box.setChecked(action.isChecked())
        box.toggled.connect(action.setChecked)
        action.toggled.connect(box.setChecked)
        return box

    def page_shown(self) -> None:
        self.refresh()
        self._timer.start()

    def page_hidden(self) -> None:
        self._timer.stop()

    @property
    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.names[rows[0].row()] if rows and rows[0].row() < len(self.names) else None

    def refresh(self) -> None:
        """Each server's figures as the engine has them now."""
        for row, status in enumerate(self.engine.upstream_mcp.status()):
            cells = (
                str(status["name"]),
                str(status["transport"]),
                state_words(status),
                str(status["tools"]),
                str(status["prompts"]),
                str(status["resources"]),
            )
            for column, text in enumerate(cells):
                item = self.table.item(row, column)
                if item is not None and item.text() != text:
                    item.setText(text)
        self._show_selected()

    def _show_selected(self) -> None:
        name = self.selected
        if name is None:
            return
        status = next((s for s in self.engine.upstream_mcp.status() if s["name"] == name), None)
        if status is None:  # removed a moment ago; the rebuild follows
            return
        text = f"{name}: {state_words(status)}; started {status['starts']} time(s)"
        self.sign_in_button.setVisible(bool(status.get("needsSignIn")))
        if self.selected_label.text() != text:
            self.selected_label.setText(text)
        tail = self.engine.upstream_mcp.stderr_tail(name)
        if self.stderr_view.toPlainText() != tail:
            self.stderr_view.setPlainText(tail)

    def open_add_dialog(self) -> None:
        """Show the Add… dialog (not modal: the engine checks the fields when Add is pressed)."""
        dialog = AddServerDialog(self)
        dialog.add_button.clicked.connect(
            lambda: self.tasks.spawn(self.add_server(dialog), what="add the MCP server")
        )
        self.dialog = dialog
        dialog.open()

    async def add_server(self, dialog: AddServerDialog) -> bool:
        """Add the server the dialog describes; a refusal stays in the dialog to be fixed."""
        name = dialog.name.text().strip()
        try:
            await self.engine.upstream_mcp.add(LOCAL_CALLER, name, dialog.table())
        except Exception as exc:  # the refusal (it names the field) is the dialog's to show
            dialog.show_problem(getattr(exc, "message", str(exc)))
            return False
        dialog.accept()
        self.switches.sync()
        self.table.selectRow(self.names.index(name))
        return True

    def remove_selected(self) -> None:
        """Ask, then remove the selected server (in the background)."""
        name = self.selected
        if name is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "llmgw-desktop: remove an MCP server",
            f"Stop the MCP server {name} and remove [mcp.servers.{name}] from config.toml?",
            QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes,
            self,
        )
        box.setObjectName("removeMcpServerConfirm")
        yes = box.button(QMessageBox.StandardButton.Yes)
        box.buttonClicked.connect(
            lambda button: (
                button is yes and self.tasks.spawn(self.remove_server(name), what=f"remove {name}")
            )
        )
        self.remove_box = box
        box.open()

    async def remove_server(self, name: str) -> None:
        """Remove `name` (the engine stops it and deletes its table from config.toml)."""
        await self.engine.upstream_mcp.remove(LOCAL_CALLER, name)
        self.switches.sync()

    def sign_in_selected(self) -> None:
        """Open the selected server's pending sign-in in the system browser."""
        name = self.selected
        url = self.engine.upstream_mcp.sign_in_url(name) if name else None
        if url and not QDesktopServices.openUrl(QUrl(url)):
            self.show_error(f"Could not open a browser; open this address: {url}")

    def test_selected(self) -> None:
        """Test the selected server (in the background; the result shows beside the button)."""
        name = self.selected
        if name is None:
            return
        self.test_button.setEnabled(False)
        self.test_label.setText(f"Testing {name}…")
        if not self.tasks.spawn(self._test(name), what=f"test the MCP server {name}"):
            self.test_button.setEnabled(True)

    async def _test(self, name: str) -> None:
        try:
            result = await self.engine.upstream_mcp.test(name)
        finally:
            self.test_button.setEnabled(True)
        outcome = "works" if result["ok"] else "failed"
        self.test_label.setText(f"{name} {outcome} ({result['ms']} ms): {result['message']}")
        self.test_label.setProperty("ok", bool(result["ok"]))
        self.refresh()
