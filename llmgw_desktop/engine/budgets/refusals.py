"""A budget as the desk and a refused caller read it: its state now, and the refusals.

`BudgetStatus` is one budget's (or lane's) spend against its limits; the functions below build
the `BudgetExceeded` a call gets, each naming the budget, its limit, the spend and what to do,
with a `reason` a program can act on (`ledger.py` says when each is given).

A refusal is `BudgetExceeded` (`budget_exceeded`, HTTP 402), not 429: the official SDKs retry
429 (twice, backing off) and a budget does not clear in seconds; no SDK retries 402, "Payment
Required", which gateways with credit limits (OpenRouter) answer too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from llmgw_desktop.config.budgets import Budget
from llmgw_desktop.config.principals import principal_words
from llmgw_desktop.engine.budgets.definition import format_amount, format_share
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.tokens.pricing import CostBasis

__all__ = [
    "HELD_BY_RUNNING_CALLS",
    "LIMIT_REACHED",
    "UNCOUNTED",
    "UNMETERED_CLI",
    "UNPRICED_MODEL",
    "BudgetExceeded",
    "BudgetState",
    "BudgetStatus",
    "crossing_text",
    "held_refusal",
    "limit_refusal",
    "refused_text",
    "refusing_every_call",
    "uncounted_refusal",
    "unmetered_refusal",
    "unpriced_refusal",
]

BudgetState = Literal["ok", "soft", "exceeded"]
RESET_FORMAT = "%Y-%m-%d %H:%M"
# A refusal's `reason`: the budget is used up, or the call could not be counted against it.
LIMIT_REACHED = "limit_reached"
UNPRICED_MODEL = "unpriced_model"
HELD_BY_RUNNING_CALLS = "held_by_running_calls"
UNCOUNTED = "uncounted"
UNMETERED_CLI = "unmetered_cli"


class BudgetExceeded(EngineError):
    """A hard budget is used up: new calls it covers are refused until its period resets."""

    code = ErrorCode.BUDGET_EXCEEDED
    http_status = 402
    retryable = False


@dataclass(frozen=True)
class BudgetStatus:
    """One budget now: what its period spent and when the period ends."""

    budget: Budget
    spent: float
    resets_at: float
    # The principal whose lane this is, for a budget kept per principal ("" otherwise).
    lane: str = ""
    starts_at: float = 0.0  # when its period began
    # Its hard limit refused a call this period for too little left (`notices.refusing`):
    # refusing with spend short of the limit, so "ok" would be false.
    refusing: bool = False

    @property
    def state(self) -> BudgetState:
        b = self.budget
        if b.hard is not None and (self.refusing or self.spent >= b.hard):
            return "exceeded"
        if b.soft is not None and self.spent >= b.soft:
            return "soft"
        return "ok"

    @property
    def limit(self) -> float:
        """The limit the burn-down is measured against: the hard one, else the soft one."""
        limit = self.budget.hard if self.budget.hard is not None else self.budget.soft
        return limit or 0.0

    @property
    def fraction(self) -> float:
        return self.spent / self.limit if self.limit else 0.0

    def burn_down(self) -> str:
        """`Budget: project shop daily dollars 82% of $5.00 today` (the tray's line)."""
        b = self.budget
        return (
            f"Budget: {b.name}{self.lane_words} {format_share(self.fraction)} of "
            f"{format_amount(b.unit, self.limit)} {b.period_word}"
        )

    @property
    def lane_text(self) -> str:
        """` (oauth:ci-bot)` for a per-principal budget's lane, else nothing: the id, as the
        refusal a caller's program reads names it."""
        return f" ({self.lane})" if self.lane else ""

    @property
    def lane_words(self) -> str:
        """` (OAuth client ci-bot)`: the lane in words, for what a person reads (the tray, the
        notices; they said ` (oauth:ci-bot)`)."""
        return f" ({principal_words(self.lane)})" if self.lane else ""

    def reset_text(self) -> str:
        return datetime.fromtimestamp(self.resets_at).strftime(RESET_FORMAT)


def crossing_text(status: BudgetStatus) -> str:
    """The notice of a lane passing its soft or hard limit (the tray, once per period)."""
    budget = status.budget
    spent = format_amount(budget.unit, status.spent)
    label = f"{budget.name}{status.lane_words}"
    if status.state == "exceeded":
        return (
            f"Budget {label} is used up: {spent} of "
            f"{format_amount(budget.unit, status.limit)} {budget.period_word}. "
            f"New calls are refused until {status.reset_text()}."
        )
    return (
        f"Budget {label} passed its soft limit: {spent} of "
        f"{format_amount(budget.unit, budget.soft or 0.0)} {budget.period_word}."
    )


def refused_text(status: BudgetStatus) -> str:
    """The notice of a hard budget's first refusal in its period: what is left pays for less
    than the calls its tools make."""
    budget = status.budget
    return (
        f"Budget {budget.name}{status.lane_words} is used up: "
        f"{format_amount(budget.unit, status.spent)} of "
        f"{format_amount(budget.unit, status.limit)} {budget.period_word}, too little left "
        f"for the next call. New calls are refused until {status.reset_text()}."
    )


def how_to_raise(budget: Budget, *, of_key: bool) -> str:
    """Where a budget's limit is raised: a gateway key's is the key's own, kept in the store
    (config.toml and the Budgets page do not hold it, so pointing its holder there would
    mislead)."""
    if of_key:
        return (
            "It is this gateway key's own budget: ask the operator for a key with a larger "
            "one (the Access keys page, or `llmgw-desktop keys create ... --budget`)."
        )
    return "Raise it in config.toml ([[budgets]]) or on the dashboard's Budgets page."


def limit_refusal(status: BudgetStatus, *, of_key: bool, left: str = "") -> BudgetExceeded:
    """The budget is used up (`left`: or what is left pays for less than the call needs)."""
    b = status.budget
    limit = format_amount(b.unit, b.hard or 0.0)
    why = "is used up" if not left else f"has too little left for this call ({left})"
    return BudgetExceeded(
        f"budget exceeded: the {b.period} budget of {b.label}{status.lane_text} {why} "
        f"({format_amount(b.unit, status.spent)} spent of its {limit} hard limit "
        f"{b.period_word}); new calls are refused until it resets at "
        f"{status.reset_text()} local time. {how_to_raise(b, of_key=of_key)}",
        reason=LIMIT_REACHED,
        budget=b.scope,
        lane=status.lane or None,
        unit=b.unit,
        period=b.period,
        limit=b.hard,
        spent=round(status.spent, 6),
        resets_at=status.resets_at,
    )


def held_refusal(status: BudgetStatus, held: float) -> BudgetExceeded:
    """Calls still running hold what is left of the budget (or room reserved for calls by a
    gateway process sharing the store, `reserves.py`, given back near the limit)."""
    b = status.budget
    return BudgetExceeded(
        f"budget busy: the {b.period} budget of {b.label}{status.lane_text} has "
        f"{format_amount(b.unit, status.spent)} spent and "
        f"{format_amount(b.unit, held)} held by calls still running (or reserved for them "
        f"by a gateway on this store), of its "
        f"{format_amount(b.unit, b.hard or 0.0)} hard limit {b.period_word}; this call "
        "could take it past the limit. Retry when those calls finish, or send fewer at once.",
        retryable=True,
        reason=HELD_BY_RUNNING_CALLS,
        budget=b.scope,
        lane=status.lane or None,
        unit=b.unit,
        period=b.period,
        limit=b.hard,
        spent=round(status.spent, 6),
        held=round(held, 6),
    )


def unpriced_refusal(budget: Budget, cost: CostBasis) -> BudgetExceeded:
    """A hard dollar budget cannot count a call whose model has no price."""
    how = "name a model" if cost.model is None else "choose a model"
    return BudgetExceeded(
        f"budget cannot count this call: {cost.unpriced_reason()}, and the "
        f"{format_amount(budget.unit, budget.hard or 0.0)} {budget.period} hard budget of "
        f"{budget.label} only refuses what it can count, so the call was not started. To "
        f"proceed, {how} the gateway's price table knows, or limit this scope with a token "
        'budget instead (unit = "tokens" in [[budgets]]).',
        reason=UNPRICED_MODEL,
        model=cost.model,
        provider=cost.provider,
        **_details_of(budget),
    )


def uncounted_refusal(budget: Budget, feature: str) -> BudgetExceeded:
    """Work the gateway cannot count at all (`feature` says what) under a hard budget."""
    return BudgetExceeded(
        f"budget cannot count this call: {feature} runs after the answer comes back, so "
        f"its tokens and cost never reach the gateway, and the "
        f"{format_amount(budget.unit, budget.hard or 0.0)} {budget.period} hard budget of "
        f"{budget.label} only admits what it can count. Send the request without it, or "
        "ask the operator to lift the hard budget covering this caller.",
        reason=UNCOUNTED,
        feature=feature,
        **_details_of(budget),
    )


def unmetered_refusal(budget: Budget, provider: str, why: str) -> BudgetExceeded:
    """A coding CLI's job whose spending the gateway could not count as it runs under `budget`
    (`why` says so, naming the CLI; `provider` is its id)."""
    return BudgetExceeded(
        f"budget cannot count this job: the {format_amount(budget.unit, budget.hard or 0.0)} "
        f"{budget.period} hard budget of {budget.label} covers it, and {why}; it was not "
        "started. To proceed, use a CLI whose model calls the gateway can count as they are "
        "made (Claude Code, Codex, Gemini CLI, Grok or OpenCode, where the gateway holds a key for "
        "its vendor), ask an API model through the gateway, or ask the operator to accept that "
        f"{provider} may pass a hard budget by what one run costs "
        f'(providers.unmetered_clis = ["{provider}"] in config.toml).',
        reason=UNMETERED_CLI,
        provider=provider,
        **_details_of(budget),
    )


def _details_of(budget: Budget) -> dict[str, Any]:
    """What a refusal's details say of the budget that refused: its scope, unit, period and
    hard limit."""
    return {
        "budget": budget.scope,
        "unit": budget.unit,
        "period": budget.period,
        "limit": budget.hard,
    }


def refusing_every_call(statuses: Sequence[BudgetStatus]) -> BudgetStatus | None:
    """The global budget that refuses every call now (used up, or too little left for a call):
    nothing is served until it resets or is raised, so no face may say the gateway works: the
    header, Overview, the tray and `/health` read it. None when there is none."""
    for status in statuses:
        if status.budget.kind == "global" and not status.lane and status.state == "exceeded":
            return status
    return None
