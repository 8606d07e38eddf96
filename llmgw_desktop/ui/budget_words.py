"""A budget in words, said the same way by the Budgets page, its details and the header.

A budget is named by what it covers, its period and its unit ("agent claude-code daily
dollars", "key ci-bot monthly dollars", "global daily tokens": one scope may have a budget of
each period and unit, and two rows named "global" were told apart only by a click), as the
engine's notices name it; a list row beside its Limits column says its period and unit only
when another row covers the same (`row_name`). Its limits by one wording on every page ("hard
$5.00 per month", "soft 24.2k · hard 36.6k tokens per day": the Keys list said "$5 monthly" for
the budget Budgets called "hard $5.00"), its state by the status vocabulary (`badge.py`: ok,
warning past the soft limit, error once the hard limit refuses calls), and its spend with the
limit and period it is measured against ("$0.0144 of $0.003 today (480%)"), so a percentage is
never shown without the budget it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmgw_desktop.config.budgets import Unit
from llmgw_desktop.engine.api import BudgetStatus, CacheParts, format_amount, format_share
from llmgw_desktop.ui.kit.spend_bar import NEAR, spend_tone

PER_PERIOD = {"daily": "per day", "monthly": "per month"}

__all__ = [
    "KEY_PREFIX",
    "SpendChip",
    "budget_name",
    "budgets_to_tell",
    "cache_words",
    "counts_words",
    "is_key_budget",
    "limits_words",
    "refusing_words",
    "row_name",
    "scope_name",
    "spend_chip",
    "spent_note",
    "spent_words",
    "state_kind",
    "state_words",
    "whole_budget",
]

# A gateway key's principal; its budget is kept with the key (the Access keys page), not
# config.toml.
KEY_PREFIX = "key:"
_STATE_KINDS = {"ok": "ok", "soft": "warning", "exceeded": "error"}
_STATE_WORDS = {"ok": "ok", "soft": "past soft limit", "exceeded": "exceeded: refusing calls"}


def is_key_budget(status: BudgetStatus) -> bool:
    """Whether the budget is a gateway key's own."""
    budget = status.budget
    return budget.kind == "principal" and budget.value.startswith(KEY_PREFIX)


def budget_name(status: BudgetStatus) -> str:
    """`agent claude-code daily dollars`, `project web monthly tokens`, `key ci-bot daily
    dollars`, `global daily tokens`: its scope, period and unit (`Budget.name`, as the engine's
    notices say it), so two budgets of one scope are told apart wherever they are named."""
    return f"{scope_name(status)} {status.budget.measure}"


def scope_name(status: BudgetStatus) -> str:
    """`agent claude-code`, `key ci-bot`, `global`: what the budget covers."""
    budget = status.budget
    if is_key_budget(status):
        return f"key {budget.value.removeprefix(KEY_PREFIX)}"
    return budget.label


def row_name(status: BudgetStatus, listed: Sequence[BudgetStatus]) -> str:
    """A list row's name among the budgets `listed`: what it covers (`scope_name`), with its
    period and unit (`budget_name`) when another listed budget covers the same: the row's
    Limits column says those, and the list's width goes to its figures (at 1024 px a long
    agent's name took the room of every optional column); two rows named "global" were told
    apart only by a click once Limits had folded away."""
    scope = status.budget.scope
    shared = sum(other.budget.scope == scope for other in listed) > 1
    return budget_name(status) if shared else scope_name(status)


def lane_words(status: BudgetStatus) -> str:
    """` (OAuth client ci-bot)`: whose lane of a per-caller budget this is, in the words the
    engine's notices use (`BudgetStatus.lane_words`); nothing for a budget of one total."""
    return status.lane_words


def limits_words(unit: Unit, soft: float | None, hard: float | None, period: str) -> str:
    """A budget's limits and period in the one wording every page uses: `hard $5.00 per
    month`, `soft 24.2k · hard 36.6k tokens per day` (the unit said once, so the list keeps
    room for it)."""
    parts = [
        f"{name} {format_amount(unit, limit)}"
        for name, limit in (("soft", soft), ("hard", hard))
        if limit is not None
    ]
    if unit == "tokens":
        parts = [part.removesuffix(" tokens") for part in parts[:-1]] + parts[-1:]
    return f"{' · '.join(parts)} {PER_PERIOD.get(period, period)}".strip()


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
    return "warning" if _near_its_limit(status) else _STATE_KINDS[status.state]


def _near_its_limit(status: BudgetStatus) -> bool:
    """Under its soft limit but at `NEAR` of its hard one: its bar is amber (`spend_tone`), so
    its state says why (a review read "ok" beside an amber bar at 81 %)."""
    hard = status.budget.hard
    return status.state == "ok" and bool(hard) and status.spent >= NEAR * (hard or 0.0)


def state_words(status: BudgetStatus) -> str:
    """`ok`, `past soft limit`, `exceeded: refusing calls`; `refusing calls` for a hard budget
    whose room left is too little for the next call (calls are held at what they may cost),
    which is not past its limit: "exceeded" beside its 0 % would say two things."""
    if status.state == "exceeded" and _refusing_before_its_limit(status):
        return "refusing calls"
    return "near its limit" if _near_its_limit(status) else _STATE_WORDS[status.state]


def _refusing_before_its_limit(status: BudgetStatus) -> bool:
    return bool(status.limit) and status.fraction < 1


def spent_words(status: BudgetStatus) -> str:
    """`$0.0144 of $0.003 today (480%)`: the spend, the limit it is measured against (the
    hard one, else the soft one) and the period."""
    budget = status.budget
    spent = format_amount(budget.unit, status.spent)
    if not status.limit:
        return f"{spent} {budget.period_word}"
    limit = format_amount(budget.unit, status.limit)
    return f"{spent} of {limit} {budget.period_word} ({format_share(status.fraction)})"


def spent_note(status: BudgetStatus, cache: CacheParts | None = None) -> str:
    """The line under a token budget's spend: `incl. 5,000 cache reads` (it counts every
    token; the Agents page lists input and output only, so the cache's share is said; the
    details add the cache writes, kept off the list for its width); "" for a dollar budget
    or no cache reads."""
    if status.budget.unit != "tokens" or cache is None or not cache.read:
        return ""
    return f"incl. {cache_words(CacheParts(read=cache.read))}"


def cache_words(cache: CacheParts) -> str:
    """`5,000 cache reads and 120 cache writes`, either left out when none; "" for none."""
    parts = [
        f"{count:,} cache {kind}{'s' if count != 1 else ''}"
        for count, kind in ((cache.read, "read"), (cache.write, "write"))
        if count
    ]
    return " and ".join(parts)


@dataclass(frozen=True)
class SpendChip:
    """What the header's spend chip says: its words, its short words for a narrow window, its
    tone and its tooltip's lines about the budgets."""

    words: str
    short: str
    tone: str
    budget_lines: tuple[str, ...]
    # The tone of today's spend itself: its whole budget's state ("" without one). Another
    # budget past its limit (an agent's) colours the chip, never the spend's own figure.
    spend_tone: str = ""


def spend_chip(today: str, statuses: Sequence[BudgetStatus]) -> SpendChip:
    """The header's chip from today's spend (`$0.0681`) and every budget: the spend against
    the dollar budget all of it counts against, when there is one (`whole_budget`: "$0.0681
    of $5.00 today"; a monthly one after the day's spend: "$0.0681 today · $1.20 of $50.00
    this month"), then the budgets past their soft limit, by name when one ("agent
    claude-code $0.0144 / $0.003 (480%)"), else counted ("2 budgets exceeded · 1 past soft
    limit"): a percentage or a limit is never shown beside a figure it is not of. The short
    words (a narrow window) say less but the same way: "today" after the spend, and a count
    with its noun ("2 budgets exceeded"), never a bare "2 exceeded". The tooltip lists each
    budget past its soft limit, or the one nearest its limit when none is."""
    past = [s for s in statuses if s.state != "ok"]
    exceeded = [s for s in past if s.state == "exceeded"]
    soft = len(past) - len(exceeded)
    whole = whole_budget(statuses)
    if whole is None:
        words = f"{today} today"
    elif whole.budget.period == "daily":
        words = f"{today} of {format_amount('usd', whole.limit)} today"
    else:
        spent, limit = (format_amount("usd", v) for v in (whole.spent, whole.limit))
        words = f"{today} today · {spent} of {limit} this month"
    short = words
    if len(past) == 1 and past[0] is not whole:
        (status,) = past
        words += f" · {budget_name(status)} {_spent_of_limit(status)}"
        if status.state == "exceeded" and _refusing_before_its_limit(status):
            # Its percentage is under 100: the words say why it is red.
            words += ", refusing calls"
            short += f" · {budget_name(status)} refusing calls"
        else:
            short += f" · {budget_name(status)} {format_share(status.fraction)}"
    elif past:
        counts = []
        if exceeded:
            counts.append(_count(len(exceeded), "budget", "exceeded"))
        if soft:
            counts.append(_count(soft, "budget" if not exceeded else "", "past soft limit"))
        words += " · " + " · ".join(counts)
        # A narrow window counts them all at once, with its noun ("3 budgets past a limit",
        # or "2 budgets exceeded" when that is all): whole, never cut to its worst part.
        short += " · " + (
            counts[0] if len(counts) == 1 else _count(len(past), "budget", "past a limit")
        )
    spend_tone = "" if whole is None else _figure_tone(whole)
    # The chip is coloured by the figure it shows: against the whole budget when it names one
    # (1 % of the day's budget is not red because an agent's budget is: its words count those),
    # else by the budgets it names or counts.
    counted = "error" if exceeded else ("warning" if past else "")
    tone = spend_tone if whole is not None else counted
    if past:
        lines = ["Budgets past their soft limit:"] + [
            f"• {budget_name(s)}{lane_words(s)}: {spent_words(s)}, {state_words(s)}" for s in past
        ]
    elif statuses:
        nearest = max(statuses, key=lambda s: s.fraction)
        lines = [
            f"Nearest budget: {budget_name(nearest)}{lane_words(nearest)}, {spent_words(nearest)}"
        ]
    else:
        lines = ["No budget is set."]
    return SpendChip(words, short, tone, tuple(lines), spend_tone)


def _figure_tone(status: BudgetStatus) -> str:
    """The tone of a budget's spend by the thresholds its bar uses (`spend_tone`: amber past
    the soft limit or near the hard one, red at it); red too when it refuses calls for too
    little room left."""
    if status.state == "exceeded":
        return "error"
    budget = status.budget
    return spend_tone(status.spent, budget.hard, budget.soft)


def refusing_words(status: BudgetStatus) -> str:
    """`Every call is refused by the global daily dollars budget ($0.0717 of $0.07 today
    (102%)) until it resets at 00:00 local time; raise it on the Budgets page.` Short of its
    limit (a call refused for too little room left), a smaller call may still fit: said so."""
    b = status.budget
    used_up = b.hard is not None and status.spent >= b.hard
    who = "Every call is" if used_up else "Calls that may cost more than is left are"
    return (
        f"{who} refused by the {budget_name(status)} budget ({spent_words(status)}) "
        f"until it resets at {status.reset_text()} local time; raise it on the Budgets page."
    )


def whole_budget(statuses: Sequence[BudgetStatus]) -> BudgetStatus | None:
    """The dollar budget every call's spend counts against (the global one, daily before
    monthly), which today's spend can be said against; None without one. An agent's or a
    key's budget is not: "$0.0682 of $0.003" would set the whole day's spend against one
    agent's limit."""
    whole = [
        s
        for s in statuses
        if s.budget.kind == "global" and s.budget.unit == "usd" and s.limit and not s.lane
    ]
    return min(whole, key=lambda s: s.budget.period != "daily", default=None)


def _spent_of_limit(status: BudgetStatus) -> str:
    """`$0.0144 / $0.003 (480%)`."""
    unit = status.budget.unit
    spent = format_amount(unit, status.spent)
    if not status.limit:
        return spent
    return f"{spent} / {format_amount(unit, status.limit)} ({format_share(status.fraction)})"


def _count(count: int, noun: str, state: str) -> str:
    """`1 budget exceeded`, `2 budgets exceeded`, `1 past soft limit`."""
    if not noun:
        return f"{count} {state}"
    return f"{count} {noun}{'s' if count != 1 else ''} {state}"


def budgets_to_tell(statuses: Sequence[BudgetStatus]) -> list[BudgetStatus]:
    """Every budget past its soft limit, the furthest past first; else the nearest its limit
    (none without budgets)."""
    past = sorted((s for s in statuses if s.state != "ok"), key=lambda s: -s.fraction)
    if past:
        return past
    return [max(statuses, key=lambda s: s.fraction)] if statuses else []
