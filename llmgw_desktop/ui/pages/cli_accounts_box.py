"""The Providers page's "CLI accounts" box: each installed vendor CLI's login (logged in as,
API key, not logged in, or cannot tell and why) and its plan where the CLI keeps one.

Read through `engine.cli_accounts` from the CLIs' own files: read-only and offline (no login
is started from here; the CLI's own `login` command does that). Never a token or key.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import SHIPPED_CATALOG, CliAccount, Engine, ProviderCatalog
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QColor,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import warning_colour

__all__ = ["ACCOUNT_COLUMNS", "CliAccountsBox", "account_cells"]

ACCOUNT_COLUMNS = ("CLI", "Login", "Account", "Plan", "Read from, or why not")


def account_cells(
    account: CliAccount, catalog: ProviderCatalog = SHIPPED_CATALOG
) -> tuple[str, ...]:
    """The row shown for one CLI (named as the engine's `catalog` names it)."""
    login = account.state if not account.method else f"{account.state} ({account.method})"
    return (
        catalog.info(account.provider).display_name,
        login,
        account.account or "",
        account.plan or "",
        account.detail,
    )


class CliAccountsBox(QGroupBox):
    """The table of CLI logins, read when the page is shown and on Refresh."""

    def __init__(self, engine: Engine, tasks: UiTasks) -> None:
        super().__init__("CLI accounts")
        self.setObjectName("cliAccounts")
        self._engine = engine
        self._tasks = tasks
        self.accounts: list[CliAccount] = []
        self.table = QTableWidget(0, len(ACCOUNT_COLUMNS))
        self.table.setObjectName("cliAccountRows")
        self.table.setHorizontalHeaderLabels(list(ACCOUNT_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMaximumHeight(170)
        self.note = QLabel("Read from each CLI's own files on this machine; nothing is sent.")
        self.note.setObjectName("cliAccountsNote")
        self.note.setWordWrap(True)
        self.refresh_button = QPushButton("Read again")
        self.refresh_button.clicked.connect(self.refresh)
        column = QVBoxLayout(self)
        column.addWidget(self.table)
        column.addWidget(self.note)
        column.addWidget(self.refresh_button)

    def refresh(self) -> None:
        self._tasks.spawn(self.load(), what="read the CLI accounts")

    async def load(self) -> list[CliAccount]:
        """Read every installed CLI's login and draw it."""
        self.accounts = await self._engine.cli_accounts.read()
        self.table.setRowCount(len(self.accounts))
        for index, account in enumerate(self.accounts):
            for col, text in enumerate(account_cells(account, self._engine.providers.catalog())):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(index, col, item)
            if account.state in ("not logged in", "cannot tell"):
                state = self.table.item(index, 1)
                if state is not None:
                    state.setForeground(_colour())
        for col in range(len(ACCOUNT_COLUMNS) - 1):
            self.table.resizeColumnToContents(col)
        if not self.accounts:
            self.note.setText(
                "No vendor CLI is installed: the Providers table says how to install one."
            )
        return self.accounts


def _colour() -> QColor:
    return QColor(warning_colour())
