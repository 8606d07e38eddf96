"""The header's spend chip in words (review 41, finding 2): it read "$0.0682 today · 480% of
budget" where 480% belonged to one agent's $0.003 budget, not to the $0.0682; nothing on the
screen was 480% of $0.0682. The chip names the budget it means, or counts them, and its
tooltip lists every budget past its soft limit."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.api import BudgetStatus, parse_budgets, refusing_every_call
from llmgw_desktop.ui.budget_words import (
    refusing_words,
    spend_chip,
    state_kind,
    state_words,
)
from llmgw_desktop.ui.kit.spend_bar import spend_tone

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
    assert chip.words == ("$0.0682 today · agent claude-code daily dollars $0.0144 / $0.003 (480%)")
    assert chip.short == "$0.0682 today · agent claude-code daily dollars 480%"
    assert chip.tone == "error"
    assert chip.budget_lines == (
        "Budgets past their soft limit:",
        "• agent claude-code daily dollars: $0.0144 of $0.003 today (480%), exceeded: refusing "
        "calls",
    )


def test_several_budgets_past_their_limits_are_counted_and_each_listed() -> None:
    chip = spend_chip(
        "$0.0682", statuses((WEB, 32500), (CURSOR, 8025), (AIDER, 7975), (CLAUDE, 0.0144))
    )
    assert chip.words == "$0.0682 today · 2 budgets exceeded · 1 past soft limit"
    # Gallery review, finding 10: short, every budget past a limit counted at once, whole.
    assert chip.short == "$0.0682 today · 3 budgets past a limit"
    assert chip.tone == "error"
    assert chip.budget_lines[1:] == (
        "• project web daily tokens: 32.5k tokens of 36.6k tokens today (89%), past soft limit",
        "• agent aider daily tokens: 7,975 tokens of 7,975 tokens today (100%), exceeded: "
        "refusing calls",
        "• agent claude-code daily dollars: $0.0144 of $0.003 today (480%), exceeded: refusing "
        "calls",
    )
    assert "cursor" not in "\n".join(chip.budget_lines)  # under its limits: not listed


def test_a_soft_limit_passed_is_a_warning_and_no_percentage_is_shown_without_its_budget() -> None:
    soft = spend_chip("$0.0682", statuses((WEB, 30000)))
    assert soft.tone == "warning"
    assert soft.words == "$0.0682 today · project web daily tokens 30k tokens / 36.6k tokens (82%)"
    fine = spend_chip("$0.0682", statuses((CURSOR, 8025)))
    assert fine.short == "$0.0682 today"
    assert fine.words == "$0.0682 today" and "%" not in fine.words
    assert fine.tone == ""
    assert fine.budget_lines == (
        "Nearest budget: agent cursor monthly tokens, 8,025 tokens of 32.1k tokens this month "
        "(25%)",
    )
    assert spend_chip("$0.00", []).budget_lines == ("No budget is set.",)


def test_the_short_words_keep_today_and_the_noun_of_what_is_counted() -> None:
    # Review 41-2, finding 2: at 1024 px the chip read "$0.0673 · 2 exceeded": 2 what, and
    # is the figure today's? The narrow words say less, never differently.
    several = spend_chip("$0.0682", statuses((AIDER, 7975), (CLAUDE, 0.0144)))
    assert several.short == "$0.0682 today · 2 budgets exceeded"
    api = WEB | {"scope": "project=api"}
    soft_only = spend_chip("$0.0682", statuses((WEB, 30000), (api, 30000)))
    assert soft_only.short == "$0.0682 today · 2 budgets past soft limit"
    for chip in (several, soft_only):
        assert chip.short.startswith("$0.0682 today · ")
        assert chip.words.startswith(chip.short.split(" · ")[0])


def test_a_budgets_limits_have_one_wording() -> None:
    """Review 41-2, finding 8: Keys said "$5 monthly" where Budgets said "hard $5.00"."""
    from llmgw_desktop.ui.budget_words import limits_words

    assert limits_words("usd", None, 5.0, "monthly") == "hard $5.00 per month"
    assert limits_words("usd", 4.0, 5.0, "daily") == "soft $4.00 · hard $5.00 per day"
    assert limits_words("tokens", 24200, 36600, "daily") == "soft 24.2k · hard 36.6k tokens per day"
    assert limits_words("tokens", None, 7975, "daily") == "hard 7,975 tokens per day"


GLOBAL_DAY = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
GLOBAL_MONTH = {"scope": "global", "unit": "usd", "period": "monthly", "soft": 40.0, "hard": 50.0}


def test_todays_spend_is_said_against_the_global_dollar_budget_daily_first() -> None:
    """Review 41-3, finding 8 (issue 41 point 3): spend today against the budget."""
    day = spend_chip("$0.0682", statuses((GLOBAL_MONTH, 1.2), (GLOBAL_DAY, 0.0682)))
    assert day.words == day.short == "$0.0682 of $5.00 today"
    month = spend_chip("$0.0682", statuses((GLOBAL_MONTH, 1.2)))
    assert month.words == "$0.0682 today · $1.20 of $50.00 this month"
    # With budgets past their limits, the counts follow, counted at once when narrow.
    several = spend_chip(
        "$0.0682", statuses((GLOBAL_DAY, 0.0682), (WEB, 32500), (AIDER, 7975), (CLAUDE, 0.0144))
    )
    assert several.words == "$0.0682 of $5.00 today · 2 budgets exceeded · 1 past soft limit"
    assert several.short == "$0.0682 of $5.00 today · 3 budgets past a limit"


def test_only_a_budget_every_call_counts_against_holds_the_days_spend() -> None:
    # One agent's $0.003 is not the whole day's budget: "$0.0682 of $0.003" would be false.
    agent = spend_chip("$0.0682", statuses((CLAUDE | {"hard": 5.0}, 0.0144)))
    assert agent.words == "$0.0682 today"
    tokens = spend_chip("$0.0682", statuses((WEB | {"scope": "global"}, 100)))
    assert tokens.words == "$0.0682 today"
    # The global budget itself past its limit: counted, not named twice beside its own figure.
    over = spend_chip("$5.20", statuses((GLOBAL_DAY, 5.2)))
    assert over.words == "$5.20 of $5.00 today · 1 budget exceeded"
    assert over.tone == "error"


def test_a_budget_refusing_before_its_limit_says_so_not_its_percentage() -> None:
    # Window review 2026-11-25: a $0.0001 budget refused every call (each is held at what it
    # may cost) while the narrow chip read "agent budgeted 0%" in red.
    tiny = {"scope": "agent=budgeted", "unit": "usd", "period": "daily", "hard": 0.0001}
    (budget,) = parse_budgets([tiny])
    chip = spend_chip("$0.0025", [BudgetStatus(budget, 0.0, RESETS, refusing=True)])
    assert chip.tone == "error"
    assert chip.short == "$0.0025 today · agent budgeted daily dollars refusing calls"
    assert chip.words == (
        "$0.0025 today · agent budgeted daily dollars $0.00 / $0.0001 (0%), refusing calls"
    )
    assert chip.budget_lines[1] == (
        "• agent budgeted daily dollars: $0.00 of $0.0001 today (0%), refusing calls"
    )


def test_todays_spend_is_toned_by_the_budget_it_is_said_against() -> None:
    """Gallery review, finding 9: Overview's "Spent today $0.0682" was alarm-red while the
    day's budget was 1 % used, because an agent's own budget was exceeded. The spend's own
    figure takes its day budget's state; so does the chip, which shows that figure (issue 64's
    review, finding 3: the chip at 1 % was red too)."""
    day = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}
    chip = spend_chip("$0.0682", statuses((day, 0.0682), (CLAUDE, 0.0144), (AIDER, 7975)))
    assert chip.tone == "" and chip.spend_tone == ""
    near = {"scope": "global", "unit": "usd", "period": "daily", "soft": 0.05, "hard": 5.0}
    assert spend_chip("$0.0682", statuses((near, 0.0682))).spend_tone == "warning"
    spent = spend_chip("$5.10", statuses((day, 5.1)))
    assert spent.spend_tone == "error"
    assert spend_chip("$0.0682", statuses((CLAUDE, 0.0144))).spend_tone == ""  # no day budget


DAY = {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}


def test_the_chip_is_coloured_by_the_figure_it_shows_not_by_another_budget() -> None:
    # Gallery review (issue 64), finding 3: "$0.0687 of $5.00 today" was red at 1 % of its
    # budget because an agent's budget was exceeded. The colour follows the figure the chip
    # shows against the thresholds the budget bars use (the soft limit, 80 % of the hard
    # one); the agents' budgets are counted in its words and listed in its tooltip.
    one_percent = spend_chip("$0.0687", statuses((DAY, 0.0687), (CLAUDE, 0.0144), (AIDER, 7975)))
    assert one_percent.words == "$0.0687 of $5.00 today · 2 budgets exceeded"
    assert one_percent.tone == ""
    assert len(one_percent.budget_lines) == 3  # the exceeded ones are still listed
    near = spend_chip("$4.20", statuses((DAY, 4.2), (CLAUDE, 0.0144)))
    assert near.tone == "warning"  # 84 %: near the limit, amber
    passed = spend_chip("$5.00", statuses((DAY, 5.0)))
    assert passed.tone == "error"
    soft = spend_chip("$2.00", statuses((DAY | {"soft": 1.5}, 2.0)))
    assert soft.tone == "warning"


def test_a_budget_whose_bar_is_amber_near_its_hard_limit_says_so_in_its_state() -> None:
    """A review read "ok" beside an amber bar at 81 % of a hard limit, under its soft one
    (the bar turns amber at `NEAR` of the hard limit too)."""
    table = {"scope": "global", "unit": "usd", "period": "daily", "soft": 0.065, "hard": 0.07}
    (near,) = statuses((table, 0.0567))
    assert near.state == "ok" and spend_tone(near.spent, 0.07, 0.065) == "warning"
    assert (state_words(near), state_kind(near)) == ("near its limit", "warning")
    (far,) = statuses((table, 0.01))
    assert (state_words(far), state_kind(far)) == ("ok", "ok")


def test_only_a_global_budget_refuses_every_call_and_its_words_say_how_much() -> None:
    table = {"scope": "global", "unit": "usd", "period": "daily", "hard": 0.07}
    (used_up,) = statuses((table, 0.0717))
    assert refusing_every_call([used_up]) is used_up
    assert refusing_words(used_up).startswith(
        "Every call is refused by the global daily dollars budget"
    )
    (room,) = statuses((table, 0.01))
    assert refusing_every_call([room]) is None
    # One agent's budget used up refuses that agent's calls, not everyone's.
    (agent,) = statuses((CLAUDE, 0.0144))
    assert agent.state == "exceeded" and refusing_every_call([agent]) is None
