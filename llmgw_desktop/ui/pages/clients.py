"""Clients and consent: how callers authenticate, live OAuth grants, revocation."""

from __future__ import annotations

from llmgw_desktop.ui.access_panel import AccessPanel
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import QVBoxLayout, QWidget

__all__ = ["ClientsPage"]


class ClientsPage(Page):
    KEY = "clients"
    TITLE = "Clients"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.access = AccessPanel(context.engine.auth)
        column = QVBoxLayout(self)
        column.addWidget(self.access)
        column.addStretch(1)

    def page_shown(self) -> None:
        self.access.request_refresh()
