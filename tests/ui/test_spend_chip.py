"""The header's spend chip in words (review 41, finding 2): it read "$0.0682 today · 480% of
budget" where 480% belonged to one agent's $0.003 budget, not to the $0.0682; nothing on the
screen was 480% of $0.0682. The chip names the budget it means, or counts them, and its
tooltip lists every budget past its soft limit."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.api import BudgetStatus, parse_budgets
from llmgw_desktop.ui.budget_words import spend_chip

RESETS = 1_800_000_000.0


def statuses(*rows: tuple[dict[str, Any], float]) -> list[BudgetStatus]:
    budgets = parse_budgets([table for table, _spent in rows])
    return [
        BudgetStatus(budget, spent, RESETS)
        for budget, (_table, spent) in zip(budgets, rows, strict=True)
    ]


CLAUDE = {"scope": "agent=claude-code", "unit": "usd", "period": "daily", "hard": 0.003}
AIDER = {"scope": "agent=aider", "unit": "tokens", "period": "daily", "hard": 7975}
WEB = {"scope": "project=web", "unit": "tokens", "period": "daily", "soft": 24200, "hard": 36600}
CURSOR = {"scope": "agent=cursor", "unit": "tokens", "period": "monthly", "hard": 32100}


def test_one_budget_past_its_limit_is_named_with_its_own_figures() -> None:
    chip = spend_chip("$0.0682", statuses((CURSOR, 8025), (CLAUDE, 0.0144)))
    assert chip.words == "$0.0682 today · agent claude-code $0.0144 / $0.003 (480%)"
    assert chip.short == "$0.0682 · agent claude-code 480%"
    assert chip.tone == "error"
    assert chip.budget_lines == (
        "Budgets past their soft limit:",
        "• agent claude-code: $0.0144 of $0.003 today (480%), exceeded: refusing calls",
    )


def test_several_budgets_past_their_limits_are_counted_and_each_listed() -> None:
    chip = spend_chip(
        "$0.0682", statuses((WEB, 32500), (CURSOR, 8025), (AIDER, 7975), (CLAUDE, 0.0144))
    )
    assert chip.words == "$0.0682 today · 2 budgets exceeded · 1 past soft limit"
    assert chip.short == "$0.0682 · 2 exceeded"
    assert chip.tone == "error"
    assert chip.budget_lines[1:] == (
        "• project web: 32.5k tokens of 36.6k tokens today (89%), past soft limit",
        "• agent aider: 7,975 tokens of 7,975 tokens today (100%), exceeded: refusing calls",
        "• agent claude-code: $0.0144 of $0.003 today (480%), exceeded: refusing calls",
    )
    assert "cursor" not in "\n".join(chip.budget_lines)  # under its limits: not listed


def test_a_soft_limit_passed_is_a_warning_and_no_percentage_is_shown_without_its_budget() -> None:
    soft = spend_chip("$0.0682", statuses((WEB, 30000)))
    assert soft.tone == "warning"
    assert soft.words == "$0.0682 today · project web 30k tokens / 36.6k tokens (82%)"
    fine = spend_chip("$0.0682", statuses((CURSOR, 8025)))
    assert fine.short == "$0.0682 today"
    assert fine.words == "$0.0682 today" and "%" not in fine.words
    assert fine.tone == ""
    assert fine.budget_lines == (
        "Nearest budget: agent cursor, 8,025 tokens of 32.1k tokens this month (25%)",
    )
    assert spend_chip("$0.00", []).budget_lines == ("No budget is set.",)
