"""The budget notices a person gets: once per period and lane, when a budget's spend passes its
soft or hard limit, or when a hard budget first refuses a call for too little left.

Calls are held at what they may cost, so a budget's spend usually stops short of its hard limit:
the first refusal is when the person's tools stop, and it is told as such. Past the hard limit,
the soft limit's notice would only repeat it, so telling the one counts as telling both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from llmgw_desktop.config.budgets import Budget
from llmgw_desktop.engine.budgets.admission import Covered
from llmgw_desktop.engine.budgets.refusals import (
    LIMIT_REACHED,
    BudgetExceeded,
    BudgetStatus,
    crossing_text,
    refused_text,
)
from llmgw_desktop.engine.events import EventBus, Notice

__all__ = ["BudgetNotices"]


class BudgetNotices:
    """What each budget's lanes have been told this period, and the telling."""

    def __init__(self, events: EventBus) -> None:
        self._events = events
        # (budget key, "soft" or "hard", period start, lane) already told to the person.
        self._told: set[tuple[str, str, float, str]] = set()
        # Refusals learned from the store (`refused_elsewhere`), each with the count of
        # learnings when it was learned: one learned while this process's own refusing
        # admission was in the store's thread is that admission's mark (`refused`).
        self._learned: dict[tuple[str, str, float, str], int] = {}
        self.learnings = 0

    def crossed(self, status: BudgetStatus, period_start: float) -> None:
        """A notice the first time in a period a budget's lane passes its soft or hard limit."""
        budget, lane = status.budget, status.lane
        if status.state == "ok":
            return
        if (budget.key, status.state, period_start, lane) in self._told:
            return
        # Past the hard limit, the soft limit's notice would only repeat what this one says.
        self._told.update(
            {
                (budget.key, status.state, period_start, lane),
                (budget.key, "soft", period_start, lane),
            }
        )
        # Calls refused is an error for the person; a soft limit passed, a warning.
        level = "error" if status.state == "exceeded" else "warning"
        self._events.publish(
            Notice(level, crossing_text(status), topic="budget", detail=budget.key)
        )

    def refused(
        self,
        covered: list[Covered],
        refusal: BudgetExceeded,
        status_of: Callable[[Budget, str], BudgetStatus],
        *,
        since: int,
    ) -> None:
        """The "used up" notice the first time in a period a hard budget refuses a call for
        too little left (`status_of` gives the lane's spend as the ledger has it; `since`:
        `learnings` when the refusing admission began, so the store's mark it wrote, read
        back before it came here, is not taken for another process's refusal)."""
        if refusal.details.get("reason") != LIMIT_REACHED:
            return
        for c in covered:
            if c.budget.scope != refusal.details.get("budget"):
                continue
            if (c.key.lane or None) != refusal.details.get("lane"):
                continue
            told = (c.budget.key, "exceeded", c.key.period_start, c.key.lane)
            if told in self._told and self._learned.pop(told, 0) <= since:
                return
            self._told.update({told, (c.budget.key, "soft", c.key.period_start, c.key.lane)})
            status = status_of(c.budget, c.key.lane)
            notice = Notice("error", refused_text(status), topic="budget", detail=c.budget.key)
            self._events.publish(notice)
            return

    def refused_elsewhere(self, budget: Budget, period_start: float, lane: str) -> None:
        """A lane the store says refuses calls that this process did not see refuse (another
        process's refusal, or its own before a restart): refusing, and told there."""
        told = (budget.key, "exceeded", period_start, lane)
        if told in self._told:
            return
        self.learnings += 1
        self._learned[told] = self.learnings
        self._told.update(
            {
                (budget.key, "exceeded", period_start, lane),
                (budget.key, "soft", period_start, lane),
            }
        )

    def refusing(self, budget: Budget, period_start: float, lane: str) -> bool:
        """Whether the lane's hard limit has refused a call this period (told "used up"),
        whatever its spend: a call is held at what it may cost, so a budget refuses with
        spend short of its limit."""
        return (budget.key, "exceeded", period_start, lane) in self._told

    def shown_lane(self, budget: Budget, period_start: float, spent: dict[str, float]) -> str:
        """The lane the desk shows for a budget kept per principal: one refusing calls, else
        the fullest (`spent`: each lane's spend); "" when none has spent or refused."""
        refusing = {t[3] for t in self._told if t[:3] == (budget.key, "exceeded", period_start)}
        lanes = refusing or set(spent)
        return max(lanes, key=lambda lane: (spent.get(lane, 0.0), lane)) if lanes else ""

    def keep_periods(self, starts: Iterable[float]) -> None:
        """Forget what was told in periods that have ended (`starts`: the current ones)."""
        current = set(starts)
        self._told = {told for told in self._told if told[2] in current}
        self._learned = {told: n for told, n in self._learned.items() if told[2] in current}

    def forget_budgets(self, keys: Iterable[str]) -> None:
        """Tell these budgets again when they cross a limit (their limits changed)."""
        changed = set(keys)
        self._told = {told for told in self._told if told[0] not in changed}
        self._learned = {t: n for t, n in self._learned.items() if t[0] not in changed}
