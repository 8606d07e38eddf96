"""BudgetNotices: which lane of a budget the desk shows, and whether it is refusing calls."""

from __future__ import annotations

from llmgw_desktop.config.budgets import parse_budget
from llmgw_desktop.engine.budgets.notices import BudgetNotices
from llmgw_desktop.engine.budgets.refusals import BudgetStatus
from llmgw_desktop.engine.events import EventBus

START = 1_800_000_000.0
TINY = {"scope": "agent=budgeted", "unit": "usd", "period": "daily", "hard": 0.0001}


def test_the_lane_refusing_calls_is_shown_before_a_fuller_one_and_is_not_ok() -> None:
    """Window review 2026-11-25: a per-caller dollar budget refused the gateway-bearer's
    calls for too little left, with nothing spent; the desk showed its fullest lane (none:
    "") and read "ok". The lane told "used up" is the one shown, and its state says so."""
    budget = parse_budget(TINY)
    notices = BudgetNotices(EventBus())
    spent = {"key:other": 0.00005}
    assert notices.shown_lane(budget, START, spent) == "key:other"
    # What `refused` remembers once it has told the person (the notice's own memo).
    notices._told.add((budget.key, "exceeded", START, "gateway-bearer"))
    lane = notices.shown_lane(budget, START, spent)
    assert lane == "gateway-bearer" and notices.refusing(budget, START, lane)
    status = BudgetStatus(budget, 0.0, START + 86400, lane, START, refusing=True)
    assert status.state == "exceeded"
    assert BudgetStatus(budget, 0.0, START + 86400, lane, START).state == "ok"
    # Another period: nothing refused there yet.
    assert notices.shown_lane(budget, START + 86400, {}) == ""
