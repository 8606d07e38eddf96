"""Clients and consent: how callers authenticate, the OAuth clients, consent requests waiting
for an answer, live grants and revocation.

Consent requests live in memory (the engine's `ConsentQueue`), so the page polls them cheaply
once a second while it is shown; answering one here decides it just as the desk dialog does
(which then closes), and the browser waiting on the consent page moves on by itself. The
clients table reads the store through the OAuth server's awaitables, every few seconds.
"""

from __future__ import annotations

import time
from typing import Any

from llmgw_desktop.engine.api import LOCAL_CALLER, ConsentQueue, PendingConsent
from llmgw_desktop.ui.access_panel import AccessPanel
from llmgw_desktop.ui.kit.figures import figure_item
from llmgw_desktop.ui.kit.tables import align_heading, fit_rows
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.oauth_switches import OAuthSwitches
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
from llmgw_desktop.ui.scope_words import scope_words

__all__ = ["ClientsPage", "ConsentRequests", "OAuthClients"]

CONSENT_POLL_MS = 1000
CLIENTS_REFRESH_MS = 5000
CLIENT_COLUMNS = ("Client id", "Name", "Kind", "Registered by", "Redirect URIs", "Live grants")
GRANTS = CLIENT_COLUMNS.index("Live grants")  # a count: right-aligned, as figures are
CONSENT_COLUMNS = ("Client", "Asks for", "Sends the browser to", "Asked from", "Expires in", "")
ANSWERED_BY = "dashboard"


def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    table.setShowGrid(False)
    # Columns as wide as their contents, none stretched across the page; the box as tall as
    # its rows.
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(False)
    fit_rows(table)
    return table


class ConsentRequests(QGroupBox):
    """Open consent questions, each with its own Approve and Deny buttons."""

    def __init__(self, queue: ConsentQueue, parent: QWidget | None = None) -> None:
        super().__init__("Consent requests waiting", parent)
        self._queue = queue
        self._shown: list[str] = []  # consent ids, in row order
        self.table = _table(CONSENT_COLUMNS, "consentTable")
        # The buttons keep their full width; the scopes column takes what is left.
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel("No client is waiting for consent.")
        self.empty_label.setObjectName("noConsent")
        self.notice = QLabel()
        self.notice.setObjectName("consentNotice")
        column = QVBoxLayout(self)
        column.addWidget(self.empty_label)
        column.addWidget(self.table)
        column.addWidget(self.notice)
        self.refresh()

    def refresh(self) -> None:
        """Redraw from the queue: rows only change when the open questions do."""
        open_now = self._queue.open_requests()
        ids = [p.id for p in open_now]
        if ids != self._shown:
            self._rebuild(open_now)
        now = time.time()
        for row, pending in enumerate(open_now):
            left = max(0, int(pending.expires_at - now))
            item = self.table.item(row, 4)
            if item is not None:
                item.setText(f"{left // 60}m {left % 60:02d}s")
        self.empty_label.setVisible(not open_now)
        self.table.setVisible(bool(open_now))

    def _rebuild(self, open_now: list[PendingConsent]) -> None:
        self._shown = [p.id for p in open_now]
        self.table.setRowCount(len(open_now))
        for row, pending in enumerate(open_now):
            request = pending.request
            scopes = "; ".join(scope_words(request.scopes))
            cells = (
                f"{request.client_name} ({request.client_id})",
                scopes,
                request.redirect_uri,
                request.requester,
                "",
            )
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
            self.table.setCellWidget(row, len(cells), self._buttons(pending))

    def _buttons(self, pending: PendingConsent) -> QWidget:
        approve = QPushButton("Approve")
        approve.setObjectName(f"approve:{pending.id}")
        approve.setToolTip("Only if you started this sign-in yourself")
        approve.clicked.connect(lambda: self.answer(pending.id, approved=True))
        deny = QPushButton("Deny")
        deny.setObjectName(f"deny:{pending.id}")
        deny.clicked.connect(lambda: self.answer(pending.id, approved=False))
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(2, 0, 2, 0)
        # Deny on the left, where it is in the desk's dialogs: the safe choice in one place.
        row.addWidget(deny)
        row.addWidget(approve)
        return holder

    def answer(self, consent_id: str, *, approved: bool) -> bool:
        """Decide one question; False when it was already decided (by the desk, the web
        consent page, or its timeout)."""
        pending = self._queue.get(consent_id)
        decided = self._queue.answer(consent_id, approved, by=ANSWERED_BY)
        name = pending.request.client_name if pending is not None else "the client"
        if decided:
            self.notice.setText(f"{'Approved' if approved else 'Denied'} access for {name}.")
        else:
            self.notice.setText(f"The request from {name} was already answered or expired.")
        self.refresh()
        return decided


class OAuthClients(QGroupBox):
    """The OAuth clients the server knows, from config.toml or registered, with live grants."""

    def __init__(self, page: Page, parent: QWidget | None = None) -> None:
        super().__init__("OAuth clients", parent)
        self._page = page
        self.clients: list[dict[str, Any]] = []
        self.table = _table(CLIENT_COLUMNS, "clientsTable")
        align_heading(self.table, [GRANTS])
        column = QVBoxLayout(self)
        column.addWidget(self.table)

    async def refresh(self) -> None:
        oauth = self._page.engine.oauth
        if oauth is None:
            return
        self.clients = await oauth.clients(LOCAL_CALLER)
        self.table.setRowCount(len(self.clients))
        for row, client in enumerate(self.clients):
            cells = (
                client["clientId"],
                client["name"],
                "public" if client["public"] else "confidential",
                client["registeredBy"],
                " ".join(client["redirectUris"]),
                str(client["grants"]),
            )
            for col, text in enumerate(cells):
                self.table.setItem(
                    row, col, figure_item(text) if col == GRANTS else QTableWidgetItem(text)
                )


class ClientsPage(Page):
    KEY = "clients"
    TITLE = "Clients"
    BLURB = (
        "Who may sign in to the gateway with OAuth: sign-ins waiting for your consent, the "
        "grants live now (revoke them here), and the registered clients."
    )

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        auth = context.engine.auth
        self.access = AccessPanel(auth)
        self.consent = ConsentRequests(auth.consent)
        self.oauth_clients = OAuthClients(self)
        self.switches = OAuthSwitches(context.engine, self.tasks)
        column = self.scrolling_column()
        column.addWidget(self.consent)  # first: a waiting request is what needs attention
        column.addWidget(self.switches)
        column.addWidget(self.access)
        if auth.oauth is None:
            self.oauth_off = QLabel(
                "OAuth is off, so there are no clients, consent requests or grants to show. "
                "Switch it on above."
            )
            self.oauth_off.setWordWrap(True)
            column.addWidget(self.oauth_off)
            self.consent.hide()
            self.oauth_clients.hide()
        column.addWidget(self.oauth_clients)
        column.addStretch(1)

        self._consent_timer = QTimer(self)
        self._consent_timer.setInterval(CONSENT_POLL_MS)
        self._consent_timer.timeout.connect(self.consent.refresh)
        self._clients_timer = QTimer(self)
        self._clients_timer.setInterval(CLIENTS_REFRESH_MS)
        self._clients_timer.timeout.connect(self.refresh_clients)

    def page_shown(self) -> None:
        self.access.request_refresh()  # the panel keeps its grants fresh by itself after this
        if self.engine.oauth is None:
            return
        self.consent.refresh()
        self.refresh_clients()
        self._consent_timer.start()
        self._clients_timer.start()

    def page_hidden(self) -> None:
        self._consent_timer.stop()
        self._clients_timer.stop()

    def refresh_clients(self) -> None:
        """Reload the clients table in the background (the store is read on the DB thread)."""
        self.tasks.spawn(self.oauth_clients.refresh(), what="load the OAuth clients")
