"""Which budgets, and which of their lanes, a caller's calls count on this period: worked out
once per principal, caller and project, and kept until the budgets or the periods change.

Every call asks it twice (the check, then the admission) and every finished call once more;
each answer depends only on the budgets (`[[budgets]]` and the keys' own), the periods' bounds
and who is calling, so the ledger keeps it here and forgets it all (`clear`) whenever it
replaces its budgets or a period rolls. The callers a table remembers are bounded: a caller
names itself, so a table full of names is emptied rather than grown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from llmgw_desktop.config.budgets import Budget, Period
from llmgw_desktop.engine.budgets.admission import Covered
from llmgw_desktop.engine.budgets.lanes import LaneKey

__all__ = ["NO_COVER", "Cover", "CoverTable", "Lane"]

# The most (principal, caller, project) a table keeps; past it, it starts again.
MAX_REMEMBERED = 4096


class Lane(NamedTuple):
    """A budget (soft or hard) a finished call adds to, on its lane this period."""

    budget: Budget
    key: LaneKey
    usd: bool  # counted in dollars (else in tokens)


class Cover(NamedTuple):
    """What a call by one principal, as one caller, in one project, counts on now."""

    covered: tuple[Covered, ...]  # the hard budgets covering it, each with its lane (`key`)
    # Per lane of `covered`: its hard limit, and whether it counts dollars (else tokens).
    limits: Mapping[LaneKey, float]
    usd: tuple[bool, ...]
    counts_tokens: bool  # a hard token budget is among them


NO_COVER = Cover((), {}, (), counts_tokens=False)


class CoverTable:
    """Covers and finished calls' lanes, per who is calling, under one list of budgets."""

    def __init__(self) -> None:
        self._covers: dict[tuple[str, str, str | None], Cover] = {}
        self._lanes: dict[tuple[str, str, str | None], tuple[Lane, ...]] = {}

    def clear(self) -> None:
        """Forget everything (the budgets or the periods changed)."""
        self._covers = {}
        self._lanes = {}

    def cover(
        self,
        budgets: tuple[Budget, ...],
        from_keys: tuple[Budget, ...],
        bounds: Mapping[Period, tuple[float, float]],
        who: tuple[str, str, str | None],
        caller_of: Callable[[str], str],
    ) -> Cover:
        """The hard budgets covering a call by `who` (principal, caller as the request named
        it, project); `caller_of` is the caller as the recorder keeps it, which budgets name."""
        found = self._covers.get(who)
        if found is not None:
            return found
        principal, caller, project = who
        recorded = caller_of(caller)
        hard = []
        for budget in budgets:
            if budget.hard is None:
                continue
            lane = budget.lane(principal, recorded, project)
            if lane is not None:
                hard.append((budget, lane))
        covered = tuple(
            Covered(
                b,
                LaneKey(b.key, lane, bounds[b.period][0]),
                bounds[b.period][1],
                of_key=b in from_keys,
            )
            for b, lane in hard
        )
        found = Cover(
            covered,
            {c.key: c.budget.hard or 0.0 for c in covered},
            tuple(c.budget.unit == "usd" for c in covered),
            any(c.budget.unit != "usd" for c in covered),
        )
        if len(self._covers) >= MAX_REMEMBERED:
            self._covers = {}
        self._covers[who] = found
        return found

    def lanes(
        self,
        budgets: tuple[Budget, ...],
        bounds: Mapping[Period, tuple[float, float]],
        who: tuple[str, str, str | None],
    ) -> tuple[Lane, ...]:
        """Every budget a finished call by `who` (principal, caller as the recorder keeps it,
        project) adds to, with its lane."""
        found = self._lanes.get(who)
        if found is not None:
            return found
        principal, caller, project = who
        lanes = []
        for budget in budgets:
            lane = budget.lane(principal, caller, project)
            if lane is not None:
                key = LaneKey(budget.key, lane, bounds[budget.period][0])
                lanes.append(Lane(budget, key, budget.unit == "usd"))
        found = tuple(lanes)
        if len(self._lanes) >= MAX_REMEMBERED:
            self._lanes = {}
        self._lanes[who] = found
        return found
