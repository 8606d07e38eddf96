"""MCP servers: the user's own servers behind /mcp, in a list with the chosen one's details.

The list gives each server's state (the window's one badge), what it offers and its switch (the
kit's `Switch`, as in its details and on the Providers page: a check box in the list beside a
switch in the details read as two different controls);
the details say the state in full, how often it started, and hold its Test, Sign in (a server
that wants its user signed in with OAuth), Remove… and the tail of its stderr. The figures are
the engine's in memory (`engine.upstream_mcp.status()`), read once a second while the page is
shown. The switch is the tray's own action (`McpServerSwitches`), so the two never disagree;
turning it saves `mcp.servers.NAME.enabled` in config.toml. Test starts the server if it is not
running, reads its lists again and says what it found, or why it failed. A tool the server
changed since it was pinned, or whose description is flagged, shows in the details with the
difference and an Approve (`mcp_tool_review.py`). Add…
(`AddServerDialog`) and Remove… write or delete the server's `[mcp.servers.NAME]` table through
the engine (the person's comments kept) and take effect at once, here, in the tray and on /mcp.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.badge import status_cell
from llmgw_desktop.ui.design import SPACE, page_margins
from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.confirm import ask_first
from llmgw_desktop.ui.kit.empty_state import EmptyOr, EmptyState
from llmgw_desktop.ui.kit.figures import set_figure
from llmgw_desktop.ui.kit.master_detail import MasterDetail
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.mcp_server_detail import (
    ON_LABEL,
    McpServerDetail,
    state_kind,
    state_short,
    state_words,
)
from llmgw_desktop.ui.pages.mcp_server_dialog import AddServerDialog
from llmgw_desktop.ui.pages.mcp_tool_review import ToolReviewPanel
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QDesktopServices,
    QHBoxLayout,
    QMessageBox,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QUrl,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["McpServersPage"]

POLL_MS = 1000
COLUMNS = ("Server", "Transport", "State", "Tools", "Prompts", "Resources", ON_LABEL)
ON_COLUMN = COLUMNS.index(ON_LABEL)
FIGURES = (COLUMNS.index("Tools"), COLUMNS.index("Prompts"), COLUMNS.index("Resources"))
OPTIONAL = (COLUMNS.index("Transport"), COLUMNS.index("Resources"), COLUMNS.index("Prompts"))
INTRO = (
    "Your own MCP servers, offered on this gateway's /mcp beside its own tools, each tool and "
    "prompt under the server's name (a server named files offers read_file as "
    "files__read_file). A server starts at its first use."
)


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
        head = PageHead(self.TITLE, INTRO)
        self.add_button = head.add_action(
            action_button(
                "Add…",
                "mcpServerAdd",
                icon="add",
                primary=True,
                tip="Add an MCP server: a command to start, or a URL",
            )
        )
        self.add_button.clicked.connect(self.open_add_dialog)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("mcpServersTable")
        self.table.setAccessibleName("MCP servers")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        align_heading(self.table, FIGURES)  # over their right-aligned counts
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.columns = ColumnFitter(self.table, stretch=0, optional=OPTIONAL)
        self.switch_boxes: dict[str, Switch] = {}
        self.names: list[str] = []
        self.table.itemSelectionChanged.connect(self._show_selected)

        self.detail = McpServerDetail()
        self.test_button = self.detail.test_button
        self.test_label = self.detail.test_label
        self.sign_in_button = self.detail.sign_in_button
        self.stderr_view = self.detail.stderr_view
        self.remove_button = self.detail.remove_button
        self.selected_label = self.detail.state_label
        self.test_button.clicked.connect(self.test_selected)
        self.sign_in_button.clicked.connect(self.sign_in_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.detail.switch.clicked.connect(self._switch_selected)
        # Tools changed since they were pinned, or flagged: shown with the difference.
        self.tool_review = ToolReviewPanel()
        self.detail.form.addRow(self.tool_review)
        self.tool_review.approve_button.clicked.connect(self.approve_selected)
        empty_add = action_button("Add…", "mcpServerAddEmpty", icon="add", primary=True)
        empty_add.clicked.connect(self.open_add_dialog)
        self.body = EmptyOr(
            MasterDetail(self.table, self.detail),
            EmptyState(
                "mcp-servers",
                "No MCP servers yet",
                "Add a server your editor uses (a command to start, or a URL): its tools are "
                "then offered to every client of this gateway's /mcp, behind its keys, "
                "approvals and recorder. The documentation's page \"Your MCP servers behind "
                'the gateway" shows how.',
                empty_add,
            ),
        )
        layout = QVBoxLayout(self)
        page_margins(layout)
        layout.addWidget(head)
        layout.addWidget(self.body, 1)

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
            self.table.setCellWidget(row, ON_COLUMN, _centred(self.switch_boxes[name]))
        self.names = names
        self.body.show_empty(not names)
        self.add_button.setVisible(bool(names))  # else the empty state offers it
        if names:
            self.table.selectRow(names.index(kept) if kept in names else 0)
        self.refresh()
        self.columns.fit()

    def _switch_box(self, name: str) -> Switch:
        """A switch that is the server's shared switch (the tray's action) on this page."""
        action = self.switches.actions[name]
        box = Switch()
        box.setObjectName(f"mcpServerOn:{name}")
        box.setAccessibleName(f"Offer {name}'s tools")
        box.setToolTip(action.toolTip())
        box.setChecked(action.isChecked())
        box.toggled.connect(action.setChecked)
        action.toggled.connect(box.setChecked)
        action.toggled.connect(lambda _on: self._show_selected())
        return box

    def page_shown(self) -> None:
        self.refresh()
        self._timer.start()

    def page_hidden(self) -> None:
        self._timer.stop()

    def select_server(self, name: str) -> None:
        """Choose server `name` in the list (a tray alert's click), if it is there."""
        if name in self.names:
            self.table.selectRow(self.names.index(name))

    @property
    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.names[rows[0].row()] if rows and rows[0].row() < len(self.names) else None

    def refresh(self) -> None:
        """Each server's figures as the engine has them now."""
        changed = False
        for row, status in enumerate(self.engine.upstream_mcp.status()):
            cells = (
                str(status["name"]),
                str(status["transport"]),
                state_short(status),
                str(status["tools"]),
                str(status["prompts"]),
                str(status["resources"]),
            )
            for column, text in enumerate(cells):
                item = self.table.item(row, column)
                if item is None:
                    continue
                changed |= item.text() != text
                if column in FIGURES:
                    set_figure(item, text)
                elif column == COLUMNS.index("State"):
                    status_cell(item, state_kind(status), text)
                    item.setToolTip(state_words(status))
                elif item.text() != text:
                    item.setText(text)
        if changed:
            self.columns.fit()
        self._show_selected()

    def _show_selected(self) -> None:
        name = self.selected
        if name is None:
            return
        status = next((s for s in self.engine.upstream_mcp.status() if s["name"] == name), None)
        if status is None:  # removed a moment ago; the rebuild follows
            return
        self.detail.show_status(status, self.engine.upstream_mcp.stderr_tail(name))
        self.tool_review.show_reviews(self.engine.upstream_mcp.tool_reviews(name))
        action = self.switches.actions.get(name)
        if action is not None and self.detail.switch.isChecked() != action.isChecked():
            self.detail.switch.setChecked(action.isChecked())

    def _switch_selected(self, on: bool) -> None:
        name = self.selected
        action = self.switches.actions.get(name) if name else None
        if action is not None:
            action.setChecked(on)

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
        self.remove_box = ask_first(
            self,
            "removeMcpServerConfirm",
            "remove an MCP server?",
            f"Stop the MCP server {name} and remove [mcp.servers.{name}] from config.toml?",
            "Remove",
            lambda: self.tasks.spawn(self.remove_server(name), what=f"remove {name}"),
            icon=QMessageBox.Icon.Question,
        )

    async def remove_server(self, name: str) -> None:
        """Remove `name` (the engine stops it and deletes its table from config.toml)."""
        await self.engine.upstream_mcp.remove(LOCAL_CALLER, name)
        self.switches.sync()

    def approve_selected(self) -> None:
        """Approve the selected server's withheld tools as they are now (in the background)."""
        name = self.selected
        if name is not None:
            approving = self.engine.upstream_mcp.approve_tools(LOCAL_CALLER, name)
            self.tasks.spawn(approving, what=f"approve {name}'s tools")

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
        set_tone(self.test_label, "")
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
        set_tone(self.test_label, "ok" if result["ok"] else "error")
        self.refresh()


def _centred(box: Switch) -> QWidget:
    """`box` centred in its cell, with room either side (at the cell's left edge it touched
    the Resources figure)."""
    cell = QWidget()
    centre = QHBoxLayout(cell)
    centre.setContentsMargins(SPACE["s"], 0, SPACE["s"], 0)
    centre.addWidget(box, 0, Qt.AlignmentFlag.AlignCenter)
    return cell
