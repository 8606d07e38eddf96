"""The Budgets page's details: the chosen budget's spend as a bar with its words, what it
counts, its limits and reset, where it is kept, and its actions.

A budget from `config.toml` is changed or removed here (Change…, Remove…); a gateway key's
budget is the key's own, kept in the store with it, so its card says so and offers the Keys
page (Edit on Keys) instead of actions that would not reach it.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import BudgetStatus, CacheParts, format_amount
from llmgw_desktop.ui.budget_words import (
    budget_name,
    cache_words,
    counts_words,
    is_key_budget,
    lane_words,
    limits_words,
    spent_words,
    state_kind,
    state_words,
)
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.kit.spend_bar import SpendBar, spend_tone
from llmgw_desktop.ui.kit.text import caption
from llmgw_desktop.ui.qt import QVBoxLayout, QWidget
from llmgw_desktop.ui.terms import who_words
from llmgw_desktop.ui.theme import set_tone

__all__ = ["HOW_LIMITS_WORK", "BudgetDetail", "tokens_words"]

HOW_LIMITS_WORK = (
    "Past a soft limit the tray says so once; at a hard limit new calls are refused with "
    "budget_exceeded until the period resets (this computer's calendar day or month). A hard "
    "dollar limit also refuses a call it cannot price in advance (a model without a listed "
    "price, or a CLI's unnamed default model): use a token limit for those."
)


class BudgetDetail(DetailCard):
    """The chosen budget's facts and actions; the page wires the buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("budgetDetail", parent)
        self.spend_bar = SpendBar()
        self.spend_label = value_label("budgetSpend")
        spend = QVBoxLayout()
        spend.setSpacing(2)
        spend.addWidget(self.spend_bar)
        spend.addWidget(self.spend_label)
        self.counts_label = value_label("budgetCounts")
        self.tokens_label = value_label("budgetTokens")
        self.limits_label = value_label("budgetLimits")
        self.resets_label = value_label("budgetResets")
        self.kept_label = value_label("budgetKept")
        self.add_row("Spent", spend)
        self.add_row("Counts", self.counts_label)
        self.add_row("Tokens", self.tokens_label)
        self.add_row("Limits", self.limits_label)
        self.add_row("Resets", self.resets_label)
        self.add_row("Kept in", self.kept_label)
        self.change_button = action_button(
            "Change…", "changeBudget", icon="edit", tip="Change this budget's scope or limits"
        )
        self.remove_button = action_button(
            "Remove…", "removeBudget", icon="remove", tip="Stop counting against this budget"
        )
        self.keys_button = action_button(
            "Edit on Keys",
            "budgetOnKeys",
            icon="keys",
            tip="A key's budget is the key's own: the Access keys page changes it",
        )
        self.action_row.addWidget(self.keys_button)
        self.action_row.addStretch(1)
        self.action_row.addWidget(self.change_button)
        self.action_row.addWidget(self.remove_button)
        self.how = caption(HOW_LIMITS_WORK)
        self.how.setObjectName("budgetHow")
        self.column.insertWidget(self.column.count() - 1, self.how)

    def show_budget(
        self,
        status: BudgetStatus,
        *,
        can_save: bool,
        cache: CacheParts | None = None,
        name: str = "",
    ) -> None:
        """Lay out `status`'s facts, headed `name` (its list row's, else `budget_name`);
        `can_save` says whether edits reach config.toml, `cache` how many of a token budget's
        tokens were cache reads and writes (None: not read)."""
        budget = status.budget
        of_key = is_key_budget(status)
        self.heading.setText((name or budget_name(status)) + lane_words(status))
        self.heading.setToolTip(
            f"Counts the calls of {who_words(status.lane)}" if status.lane else ""
        )
        self.badge.set_status(state_kind(status), state_words(status))
        self.spend_bar.set_spend(status.spent, status.limit or None, budget.soft)
        self.spend_label.setText(spent_words(status))
        set_tone(self.spend_label, spend_tone(status.spent, budget.hard, budget.soft))
        self.spend_bar.setAccessibleName(self.spend_label.text())
        self.counts_label.setText(counts_words(status))
        tokens = budget.unit == "tokens"
        self.set_row_visible(self.tokens_label, tokens)
        if tokens:
            self.tokens_label.setText(tokens_words(status, cache))
        self.limits_label.setText(
            limits_words(budget.unit, budget.soft, budget.hard, budget.period)
        )
        self.resets_label.setText(status.reset_text())
        if of_key:
            self.kept_label.setText("the gateway key itself (the Access keys page changes it)")
        else:
            self.kept_label.setText("config.toml" if can_save else "this session only")
        self.keys_button.setVisible(of_key)
        self.change_button.setVisible(not of_key)
        self.remove_button.setVisible(not of_key)


def tokens_words(status: BudgetStatus, cache: CacheParts | None) -> str:
    """What a token budget counts: `every token: 3,025 in and out, 5,000 cache reads`."""
    if cache is None:
        return "every token: input, output, cache reads and cache writes"
    cached = cache.read + cache.write
    fresh = format_amount("tokens", max(0.0, status.spent - cached)).removesuffix(" tokens")
    parts = cache_words(cache)
    return f"every token: {fresh} in and out" + (f", {parts}" if parts else ", no cache reads")
