"""The MCP servers page's Add… dialog: a new server's name and how to reach it.

The dialog only reads what the person typed into a `[mcp.servers.NAME]` table (`table()`); the
engine checks it (`UpstreamServers.add`) and its refusal, which names the field, is shown in
the dialog, which stays open to fix it. Arguments are split as a shell would (quotes keep a
space), environment variables and headers are one `NAME=value` or `Name: value` per line, and a
value `vault:KEY` is a vault key read when the server starts (the secret stays out of
config.toml).
"""

from __future__ import annotations

import shlex
from typing import Any

from llmgw_desktop.ui.pages.key_dialogs import answer_row, fit_hints, named
from llmgw_desktop.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

__all__ = ["AddServerDialog", "parse_pairs"]

STDIO, HTTP = "stdio (a command the gateway starts)", "Streamable HTTP (a URL)"


def parse_pairs(text: str, separator: str, field: str) -> dict[str, str]:
    """One `NAME<separator>value` per line (blank lines skipped) as a table.

    Raises:
        ValueError: a line has no separator or no name (the message names `field` and line).
    """
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(separator)
        if not sep or not name.strip():
            raise ValueError(
                f"{field}: line {number} ({line.strip()!r}) is not NAME{separator}value"
            )
        pairs[name.strip()] = value.strip()
    return pairs


class AddServerDialog(QDialog):
    """Name, and either a command (args, env, working directory) or a URL (headers, OAuth)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("llmgw-desktop: add an MCP server")
        self.setObjectName("addMcpServerDialog")
        self.name = named(QLineEdit(), "mcpServerName", placeholderText="files")
        self.kind = named(QComboBox(), "mcpServerKind")
        self.kind.addItems([STDIO, HTTP])
        self.command = named(QLineEdit(), "mcpServerCommand", placeholderText="npx")
        self.args = named(
            QLineEdit(),
            "mcpServerArgs",
            placeholderText="-y @modelcontextprotocol/server-filesystem ~/src",
        )
        self.env = named(
            QPlainTextEdit(), "mcpServerEnv", placeholderText="API_TOKEN=vault:my-token"
        )
        self.cwd = named(QLineEdit(), "mcpServerCwd", placeholderText="your home folder")
        self.url = named(QLineEdit(), "mcpServerUrl", placeholderText="https://mcp.example.com/mcp")
        self.headers = named(
            QPlainTextEdit(), "mcpServerHeaders", placeholderText="Authorization: vault:my-token"
        )
        self.oauth = named(QCheckBox("Sign in with OAuth (tokens kept in the vault)"), "mcpOAuth")

        stdio_form = QFormLayout(stdio_page := QWidget())
        stdio_form.addRow("Command", self.command)
        stdio_form.addRow("Arguments", self.args)
        stdio_form.addRow("Environment", self.env)
        stdio_form.addRow("Working folder", self.cwd)
        http_form = QFormLayout(http_page := QWidget())
        http_form.addRow("URL", self.url)
        http_form.addRow("Headers", self.headers)
        http_form.addRow("", self.oauth)
        self.pages = QStackedWidget()
        self.pages.addWidget(stdio_page)
        self.pages.addWidget(http_page)
        self.kind.currentIndexChanged.connect(self.pages.setCurrentIndex)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Reached by", self.kind)
        self.problem = named(QLabel(), "mcpServerProblem", wordWrap=True)
        self.problem.hide()
        self.add_button = named(QPushButton("Add"), "addMcpServerConfirm")
        self.cancel_button, buttons = answer_row(self, "cancelMcpServer", self.add_button)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.pages)
        column.addWidget(self.problem)
        column.addLayout(buttons)
        fit_hints(self)

    @property
    def is_stdio(self) -> bool:
        return self.kind.currentText() == STDIO

    def table(self) -> dict[str, Any]:
        """The `[mcp.servers.NAME]` table the fields describe; empty fields are left out.

        Raises:
            ValueError: the arguments do not split, or an env or header line is not a pair
                (the message names the field).
        """
        if not self.is_stdio:
            table: dict[str, Any] = {"url": self.url.text().strip()}
            headers = parse_pairs(self.headers.toPlainText(), ":", "headers")
            if headers:
                table["headers"] = headers
            if self.oauth.isChecked():
                table["oauth"] = True
            return table
        try:
            args = shlex.split(self.args.text())
        except ValueError as exc:
            raise ValueError(f"args: {exc} (quote an argument that holds spaces)") from None
        table = {"command": self.command.text().strip()}
        if args:
            table["args"] = args
        env = parse_pairs(self.env.toPlainText(), "=", "env")
        if env:
            table["env"] = env
        if self.cwd.text().strip():
            table["cwd"] = self.cwd.text().strip()
        return table

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()
