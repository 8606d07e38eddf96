"""Which budgets cover a call, and on which lane: worked out once per caller and period.

Every call asks it twice (the check before routing, the hold before sending) and every
finished request once more (its spend counted on each lane), and the answer depends only on
the budgets, the period and who is calling: a client sends the same principal, caller and
project request after request. So each answer is remembered, with the lane's key in the store
and its limit, until the ledger's budgets change or a period rolls over (`Coverings.forget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmgw_desktop.config.budgets import Budget, Period
from llmgw_desktop.engine.budgets.lanes import LaneKey

__all__ = ["CoveredLane", "Coverings"]

# Distinct (principal, caller, project) remembered at most; past it, worked out afresh.
MAX_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class CoveredLane:
    """One budget covering a call, the lane it counts on this period, and its limit."""

    budget: Budget
    lane: str
    key: LaneKey  # the lane in the store, this period
    resets_at: float  # the period's end
    of_key: bool  # a gateway key's own budget (its refusal says where to raise it)
    limit: float  # the hard limit (0 where there is none: only `every` gives such lanes)
    usd: bool  # counted in dollars (else in tokens)


class Coverings:
    """The lanes covering each (principal, caller, project), remembered until `forget`."""

    def __init__(self) -> None:
        self._hard: dict[tuple[str, str, str | None], tuple[CoveredLane, ...]] = {}
        self._every: dict[tuple[str, str, str | None], tuple[CoveredLane, ...]] = {}

    def forget(self) -> None:
        """The budgets or the periods changed: nothing remembered holds."""
        self._hard.clear()
        self._every.clear()

    def hard(
        self,
        budgets: Sequence[Budget],
        bounds: Mapping[Period, tuple[float, float]],
        from_keys: Sequence[Budget],
        who: tuple[str, str, str | None],
    ) -> tuple[CoveredLane, ...]:
        """The hard budgets covering `who` (principal, caller as recorded, project)."""
        found = self._hard.get(who)
        if found is None:
            found = _lanes(budgets, bounds, from_keys, who, hard_only=True)
            _remember(self._hard, who, found)
        return found

    def every(
        self,
        budgets: Sequence[Budget],
        bounds: Mapping[Period, tuple[float, float]],
        from_keys: Sequence[Budget],
        who: tuple[str, str, str | None],
    ) -> tuple[CoveredLane, ...]:
        """Every budget covering `who`, soft or hard (where its spend is counted)."""
        found = self._every.get(who)
        if found is None:
            found = _lanes(budgets, bounds, from_keys, who, hard_only=False)
            _remember(self._every, who, found)
        return found


def _lanes(
    budgets: Sequence[Budget],
    bounds: Mapping[Period, tuple[float, float]],
    from_keys: Sequence[Budget],
    who: tuple[str, str, str | None],
    *,
    hard_only: bool,
) -> tuple[CoveredLane, ...]:
    principal, caller, project = who
    found = []
    for budget in budgets:
        if hard_only and budget.hard is None:
            continue
        lane = budget.lane(principal, caller, project)
        if lane is None:
            continue
        start, end = bounds[budget.period]
        found.append(
            CoveredLane(
                budget,
                lane,
                LaneKey(budget.key, lane, start),
                end,
                budget in from_keys,
                budget.hard or 0.0,
                budget.unit == "usd",
            )
        )
    return tuple(found)


def _remember(
    known: dict[tuple[str, str, str | None], tuple[CoveredLane, ...]],
    who: tuple[str, str, str | None],
    lanes: tuple[CoveredLane, ...],
) -> None:
    if len(known) >= MAX_REMEMBERED:
        known.clear()
    known[who] = lanes
