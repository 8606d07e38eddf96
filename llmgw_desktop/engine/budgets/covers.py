"""Which budgets, and which of their lanes, a caller's calls count on this period: worked out
once per principal, caller and project, and kept until the budgets or the periods change.

Every call asks it twice (the check, then the admission) and every finished call once more;
each answer depends only on the budgets (`[[budgets]]` and the keys' own), the periods' bounds
and who is calling, so the ledger keeps it here and forgets it all (`clear`) whenever it
replaces its budgets or a period rolls. The callers a table remembers are bounded: a caller
names itself, so a table full of names is emptied rather than grown.
"""

from __future__ import annotations

import math
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
    # The spend at which the lane has a notice to tell: the lower of its soft and hard limits
    # (infinite: neither), so a call under both builds no status.
    notice_at: float
    # The spend at which a hard budget counting on this lane's total (its budget key: two
    # budgets may share one) is used up: the lowest such hard limit (infinite: none).
    used_up_at: float


class Cover(NamedTuple):
    """What a call by one principal, as one caller, in one project, counts on now."""

    covered: tuple[Covered, ...]  # the hard budgets covering it, each with its lane (`key`)
    # Per lane of `covered`: its hard limit, and whether it counts dollars (else tokens).
    limits: Mapping[LaneKey, float]
    usd: tuple[bool, ...]
    counts_tokens: bool  # a hard token budget is among them
    # Per lane of `covered`: its key, which of a call's `Estimate` (tokens, usd) it holds,
    # and its hard limit, as a call admitted from this process's reserves takes them
    # (`Reserves.hold`).
    held: tuple[tuple[LaneKey, int, float], ...] = ()


NO_COVER = Cover((), {}, (), counts_tokens=False)


class CoverTable:
    """Covers and finished calls' lanes, per who is calling, under one list of budgets."""

    def __init__(self) -> None:
        # Looked up by the ledger itself before it calls `cover` or `lanes` (a call asks for
        # its cover three times, its lanes once).
        self.known: dict[tuple[str, str, str | None], Cover] = {}
        self.known_lanes: dict[tuple[str, str, str | None], tuple[Lane, ...]] = {}

    def clear(self) -> None:
        """Forget everything (the budgets or the periods changed)."""
        self.known = {}
        self.known_lanes = {}

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
        found = self.known.get(who)
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
        limits = {c.key: c.budget.hard or 0.0 for c in covered}
        usd = {c.key: c.budget.unit == "usd" for c in covered}
        found = Cover(
            covered,
            limits,
            tuple(c.budget.unit == "usd" for c in covered),
            any(c.budget.unit != "usd" for c in covered),
            # One per lane, as the ledger's `needs` and `limits` have it (the last budget's).
            tuple((key, int(usd[key]), limit) for key, limit in limits.items()),
        )
        if len(self.known) >= MAX_REMEMBERED:
            self.known = {}
        self.known[who] = found
        return found

    def lanes(
        self,
        budgets: tuple[Budget, ...],
        bounds: Mapping[Period, tuple[float, float]],
        who: tuple[str, str, str | None],
    ) -> tuple[Lane, ...]:
        """Every budget a finished call by `who` (principal, caller as the recorder keeps it,
        project) adds to, with its lane."""
        found = self.known_lanes.get(who)
        if found is not None:
            return found
        principal, caller, project = who
        lanes = []
        for budget in budgets:
            lane = budget.lane(principal, caller, project)
            if lane is not None:
                key = LaneKey(budget.key, lane, bounds[budget.period][0])
                limits = [x for x in (budget.soft, budget.hard) if x is not None]
                hard = [b.hard for b in budgets if b.key == budget.key and b.hard is not None]
                lanes.append(
                    Lane(
                        budget,
                        key,
                        budget.unit == "usd",
                        min(limits, default=math.inf),
                        min(hard, default=math.inf),
                    )
                )
        found = tuple(lanes)
        if len(self.known_lanes) >= MAX_REMEMBERED:
            self.known_lanes = {}
        self.known_lanes[who] = found
        return found
