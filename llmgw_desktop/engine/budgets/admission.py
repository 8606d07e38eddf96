"""The rule a call is admitted by, on the lanes of the hard budgets that cover it.

Pure: it reads each lane as the store had it inside the admission's transaction (`lanes.py`)
and says what to hold, with what output limit, or why not (`holds.py` says the rule in words):

1. a lane whose spend reached its limit refuses (`limit_reached`);
2. a call whose whole hold fits beside what running calls hold on every lane is admitted as
   it asked (an API call naming no limit is sent the limit it was held for);
3. one that would fit once those calls end is refused for now (`held_by_running_calls`,
   retryable; a caller that cannot retry waits and is decided again: `BudgetLedger.reserve`);
4. else the budget itself has too little left: an API call is sent the lower limit the room
   pays for, if that is at least `MIN_OUTPUT_TOKENS` (or its own smaller limit); otherwise,
   or for a CLI job (which cannot be told a limit), it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from llmgw_desktop.config.budgets import Budget
from llmgw_desktop.engine.budgets.definition import format_amount
from llmgw_desktop.engine.budgets.holds import MIN_OUTPUT_TOKENS, CallAsk
from llmgw_desktop.engine.budgets.lanes import LaneKey, LaneState
from llmgw_desktop.engine.budgets.refusals import (
    BudgetExceeded,
    BudgetStatus,
    held_refusal,
    limit_refusal,
)

__all__ = ["Covered", "Decision", "decide"]

# Float sums of many small costs: a call that fits to the last billionth of a dollar fits.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Covered:
    """One hard budget covering the call, the lane it counts on, and how to word it."""

    budget: Budget
    key: LaneKey
    resets_at: float
    of_key: bool  # a gateway key's own budget (its refusal says where to raise it)

    def status(self, spent: float) -> BudgetStatus:
        return BudgetStatus(self.budget, spent, self.resets_at, self.key.lane)

    def need(self, ask: CallAsk, output: int) -> float:
        """What the call holds on this budget with `output` tokens of output."""
        estimate = ask.cost(output)
        return estimate.usd if self.budget.unit == "usd" else estimate.tokens


@dataclass(frozen=True)
class Decision:
    """Admitted (`holds` per lane, the output limit held) or refused (`refusal`); or the
    budget's period not counted in yet (`uncounted`: count it, then ask again)."""

    holds: Mapping[LaneKey, float] = field(default_factory=dict)
    output: int = 0
    lowered: bool = False
    refusal: BudgetExceeded | None = None
    uncounted: bool = False
    # Refused because the lane refuses calls (used up, or too little left for the smallest): the
    # lane and the hard limit it was refused under, which the store keeps so the lane reads
    # refusing everywhere, after a restart too (`lanes.admit`), and the person is told once.
    refused_under: tuple[LaneKey, float] | None = None


def decide(covered: list[Covered], states: Mapping[LaneKey, LaneState], ask: CallAsk) -> Decision:
    """The call's decision on the lanes as `states` has them (see the module docstring)."""
    if any(not states[c.key].counted for c in covered):
        return Decision(uncounted=True)
    for c in covered:
        if states[c.key].spent >= (c.budget.hard or 0.0):
            return Decision(
                refusal=limit_refusal(c.status(states[c.key].spent), of_key=c.of_key),
                refused_under=(c.key, c.budget.hard or 0.0),
            )
    wanted = ask.wanted_output

    def room(c: Covered, *, with_held: bool) -> float:
        state = states[c.key]
        return (c.budget.hard or 0.0) - state.spent - (state.held if with_held else 0.0)

    def fits(output: int, *, with_held: bool) -> list[Covered]:
        """The budgets `output` does not fit in."""
        return [c for c in covered if c.need(ask, output) > room(c, with_held=with_held) + _EPSILON]

    tight = fits(wanted, with_held=True)
    if not tight:
        return _admitted(covered, ask, wanted, lowered=False)
    if not fits(wanted, with_held=False):
        c = tight[0]
        return Decision(refusal=held_refusal(c.status(states[c.key].spent), states[c.key].held))
    floor = min(MIN_OUTPUT_TOKENS, wanted)
    if ask.can_limit:
        output = min(ask.most_output(c.budget.unit, room(c, with_held=True)) for c in covered)
        if output >= floor:
            return _admitted(covered, ask, min(output, wanted), lowered=True)
        spent_only = min(ask.most_output(c.budget.unit, room(c, with_held=False)) for c in covered)
        if spent_only >= floor:
            c = max(covered, key=lambda c: states[c.key].held)
            return Decision(refusal=held_refusal(c.status(states[c.key].spent), states[c.key].held))
    needed = floor if ask.can_limit else wanted
    short = fits(needed, with_held=False) or [min(covered, key=lambda c: room(c, with_held=False))]
    c = short[0]
    state = states[c.key]
    unit = c.budget.unit
    left = (
        f"{format_amount(unit, max(0.0, room(c, with_held=False)))} left, and it could cost up "
        f"to {format_amount(unit, c.need(ask, needed))}"
    )
    # The lane refuses calls, not only this one, when even the smallest call at this price (no
    # input, the least output a call is sent) would not fit: a prompt too large for the room
    # left is refused alone, and the budget does not read "refusing calls" for it.
    smallest = c.need(ask._replace(input_tokens=0), MIN_OUTPUT_TOKENS)
    refusing = room(c, with_held=False) + _EPSILON < smallest
    return Decision(
        refusal=limit_refusal(c.status(state.spent), of_key=c.of_key, left=left),
        refused_under=(c.key, c.budget.hard or 0.0) if refusing else None,
    )


def _admitted(covered: list[Covered], ask: CallAsk, output: int, *, lowered: bool) -> Decision:
    return Decision(
        holds={c.key: c.need(ask, output) for c in covered}, output=output, lowered=lowered
    )
