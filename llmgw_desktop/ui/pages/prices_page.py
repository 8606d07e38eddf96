"""Prices: what each model costs per million tokens, your prices over the bundled table.

A tab of the Settings place, laid out as its Settings tab is: every price in use listed, with
where it comes from (your config.toml, or the bundled table), beside the chosen model's details
and the form that sets your own (`prices_box.py`, `price_editor.py`). A price entered here
prices the next request (the engine's `price_settings`, saved to `[gateway.prices]` in
config.toml with the file's comments kept); budgets, the cost breakdown and the recorder's
costs all read it.
"""

from __future__ import annotations

from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.prices_box import PricesBox
from llmgw_desktop.ui.qt import QVBoxLayout, QWidget

__all__ = ["PricesPage"]


class PricesPage(Page):
    KEY = "prices"
    TITLE = "Prices"
    BLURB = (
        "What each model costs per million tokens: your prices over the bundled table. A price "
        "set here prices the next request; budgets and every cost on these pages use it."
    )

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        loaded = context.facts.loaded_settings
        can_save = loaded is not None and self.engine.settings_saver.can_save
        self.box = PricesBox(self.engine, self.tasks, can_save=can_save)
        column = QVBoxLayout(self)
        column.addWidget(self.box, 1)

    def page_shown(self) -> None:
        self.box.show_entries()
