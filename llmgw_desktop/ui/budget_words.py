"""A budget in words, said the same way by the Budgets page, its details and the header.

A budget is named by what it covers ("agent claude-code", "key ci-bot", "global"), its state
by the status vocabulary (`badge.py`: ok, warning past the soft limit, error once the hard
limit refuses calls), and its spend with the limit and period it is measured against
("$0.0144 of $0.003 today (480%)"), so a percentage is never shown without the budget it
belongs to.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import BudgetStatus, format_amount

__all__ = [
    "KEY_PREFIX",
    "budget_name",
    "counts_words",
    "is_key_budget",
    "spent_words",
    "state_kind",
    "state_words",
]

# A gateway key's principal; its budget is kept with the key (the Keys page), not config.toml.
KEY_PREFIX = "key:"
_STATE_KINDS = {"ok": "ok", "soft": "warning", "exceeded": "error"}
_STATE_WORDS = {"ok": "ok", "soft": "past soft limit", "exceeded": "exceeded: refusing calls"}


def is_key_budget(status: BudgetStatus) -> bool:
    """Whether the budget is a gateway key's own."""
    budget = status.budget
    return budget.kind == "principal" and budget.value.startswith(KEY_PREFIX)


def budget_name(status: BudgetStatus) -> str:
    """`agent claude-code`, `project web`, `key ci-bot`, `global`."""
    budget = status.budget
    if is_key_budget(status):
        return f"key {budget.value.removeprefix(KEY_PREFIX)}"
    return budget.label


def counts_words(status: BudgetStatus) -> str:
    """What calls the budget counts, in words."""
    budget = status.budget
    if is_key_budget(status):
        return f"calls made with the gateway key {budget.value.removeprefix(KEY_PREFIX)}"
    if budget.kind == "global":
        return "every call through this gateway"
    if budget.kind == "project":
        return f"calls in the project {budget.value}"
    if budget.kind == "agent":
        return f"calls by the agent {budget.value}, each caller on its own"
    if budget.per_principal:
        return "each remote caller's calls, each on its own"
    return f"calls by {budget.value}"


def state_kind(status: BudgetStatus) -> str:
    """The status kind (`badge.STATUS_KINDS`) of the budget's state."""
    return _STATE_KINDS[status.state]


def state_words(status: BudgetStatus) -> str:
    """`ok`, `past soft limit`, `exceeded: refusing calls`."""
    return _STATE_WORDS[status.state]


def spent_words(status: BudgetStatus) -> str:
    """`$0.0144 of $0.003 today (480%)`: the spend, the limit it is measured against (the
    hard one, else the soft one) and the period."""
    budget = status.budget
    spent = format_amount(budget.unit, status.spent)
    if not status.limit:
        return f"{spent} {budget.period_word}"
    limit = format_amount(budget.unit, status.limit)
    return f"{spent} of {limit} {budget.period_word} ({status.fraction:.0%})"
