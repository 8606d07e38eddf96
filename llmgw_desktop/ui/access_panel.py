"""Who may call the gateway: the static bearer's status, OAuth clients, their live grants, and
revocation.

The panel reads through the OAuth server's public methods, which run on the database thread,
so it refreshes in a task on the running loop (qasync) and never blocks the UI. Revoking asks
for confirmation first, without a nested event loop: the dialog is opened and its answer comes
back as a signal.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from llmgw_desktop.engine.api import LOCAL_CALLER, AuthService
from llmgw_desktop.ui.kit.confirm import ask_first
from llmgw_desktop.ui.kit.tables import fit_rows
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.scope_words import scope_names, scope_words
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.terms import who_words

__all__ = ["AccessPanel", "describe_front_door"]

log = logging.getLogger(__name__)

REFRESH_MS = 5000
GRANT_COLUMNS = ("Client", "Runs as", "Scopes", "Issued", "Refresh until")
SCOPES = GRANT_COLUMNS.index("Scopes")


def describe_front_door(auth: AuthService) -> str:
    """One line on how callers authenticate, for the panel's header."""
    parts: list[str] = []
    if auth.bearer_configured:
        bearer = "Master token (http.auth_token): set"
        if auth.trusted_header:
            bearer += f" (users named by the {auth.trusted_header} header)"
        parts.append(bearer)
    else:
        parts.append("Master token (http.auth_token): not set")
    if auth.oauth is None:
        parts.append("OAuth: off")
    else:
        # What a sign-in does, as the person sees it: a consent dialog here, or none at all
        # (http.oauth.require_consent off: every registered client is let in at once).
        consent = (
            "each sign-in waits for your consent"
            if auth.oauth.consent_required
            else "sign-ins are let in without asking (require_consent off)"
        )
        parts.append(f"OAuth: on, {consent}")
    if auth.open_locally:
        parts.append("open without a token to programs of this account (loopback only)")
    return " · ".join(parts)


class AccessPanel(QGroupBox):
    """Bearer status, live OAuth grants, and buttons to revoke one grant or a whole client."""

    def __init__(self, auth: AuthService, parent: QWidget | None = None) -> None:
        super().__init__("Access", parent)
        self._auth = auth
        self._grants: list[dict[str, Any]] = []
        self._refresh_generation = 0
        self._tasks = UiTasks(on_error=lambda message: self.notice.setText(message))
        self.summary = QLabel(describe_front_door(auth))
        self.summary.setObjectName("accessSummary")
        self.summary.setWordWrap(True)

        self.table = QTableWidget(0, len(GRANT_COLUMNS))
        self.table.setObjectName("grantsTable")
        self.table.setHorizontalHeaderLabels(list(GRANT_COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        # Each column as wide as what it holds, on one line (a stretched last column took
        # ~1,260 px at 1920 while dates and principals wrapped), the box as tall as its rows.
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        fit_rows(self.table)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.revoke_grant_button = QPushButton("Revoke this grant…")
        self.revoke_grant_button.setToolTip("End this authorization: its tokens stop working")
        self.revoke_grant_button.clicked.connect(lambda: self._confirm_revoke(whole_client=False))
        self.revoke_client_button = QPushButton("Revoke all of this client…")
        self.revoke_client_button.setToolTip("End every authorization this client holds")
        self.revoke_client_button.clicked.connect(lambda: self._confirm_revoke(whole_client=True))
        self.notice = QLabel()
        self.notice.setObjectName("accessNotice")
        buttons = QHBoxLayout()
        buttons.addWidget(self.revoke_grant_button)
        buttons.addWidget(self.revoke_client_button)
        buttons.addStretch(1)

        column = QVBoxLayout(self)
        column.addWidget(self.summary)
        if auth.oauth is not None:
            column.addWidget(self.table)
            column.addLayout(buttons)
        column.addWidget(self.notice)
        self._update_buttons()

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)
        if auth.oauth is not None:
            self._timer.start()
        self.request_refresh()

    # -- refreshing ---------------------------------------------------------------------

    def request_refresh(self) -> None:
        """Reload the grants in the background (skipped when no loop runs, as in unit tests
        that build the window without starting the gateway)."""
        if self._auth.oauth is not None and self.isVisible():
            self._tasks.spawn(self.refresh())

    async def refresh(self) -> None:
        oauth = self._auth.oauth
        if oauth is None:
            return
        # A reload started earlier (on show, say) can finish after one started by a
        # revoke; only the newest read may fill the table, or a revoked grant reappears.
        self._refresh_generation += 1
        generation = self._refresh_generation
        grants = await oauth.grants(LOCAL_CALLER)
        if generation != self._refresh_generation:
            return
        selected = self.selected_grant()
        self._grants = grants
        self.table.setRowCount(len(self._grants))
        for row, grant in enumerate(self._grants):
            cells = (
                grant["clientId"],
                who_words(grant["principal"]),
                "; ".join(scope_words(grant["scopes"])),
                _when(grant["issuedAt"]),
                _when(grant["refreshExpiresAt"]),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == SCOPES:
                    item.setToolTip(scope_names(grant["scopes"]))
                self.table.setItem(row, col, item)
            if selected is not None and grant["grantId"] == selected["grantId"]:
                self.table.selectRow(row)
        self._update_buttons()

    def selected_grant(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._grants):
            return None
        return self._grants[rows[0].row()]

    def _update_buttons(self) -> None:
        has = self.selected_grant() is not None
        self.revoke_grant_button.setEnabled(has)
        self.revoke_client_button.setEnabled(has)

    # -- revoking -----------------------------------------------------------------------

    def _confirm_revoke(self, *, whole_client: bool) -> None:
        grant = self.selected_grant()
        if grant is None:
            return
        what = (
            f"every grant of client {grant['clientId']}"
            if whole_client
            else f"this grant of client {grant['clientId']} "
            f"({'; '.join(scope_words(grant['scopes']))})"
        )
        ask_first(
            self,
            "confirmRevoke",
            "revoke access?",
            f"Revoke {what}?\n\nIts tokens stop working at once; the client has to be "
            "authorized again.",
            "Revoke",
            lambda: self._tasks.spawn(self.revoke(grant, whole_client=whole_client)),
        )

    async def revoke(self, grant: dict[str, Any], *, whole_client: bool) -> int:
        oauth = self._auth.oauth
        if oauth is None:
            return 0
        if whole_client:
            count = await oauth.revoke_client(LOCAL_CALLER, grant["clientId"])
            notice = f"Revoked {count} token(s) of client {grant['clientId']}."
        else:
            count = await oauth.revoke_grant(LOCAL_CALLER, grant["grantId"])
            notice = f"Revoked one grant of client {grant['clientId']}."
        log.info("dashboard revoked %d token(s) of client %s", count, grant["clientId"])
        # The table is reloaded before the notice shows, so nobody reads "Revoked"
        # next to the row that was just revoked.
        await self.refresh()
        self.notice.setText(notice)
        return count

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.request_refresh()


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
