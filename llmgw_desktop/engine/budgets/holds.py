"""What a call holds against its budgets while it runs, and the guard the callers talk to.

A call under a hard budget reserves its estimate before it is sent (`SpendGuard.reserve`), so
parallel calls see each other's spend before any of them has finished: a budget admits a call
while its spend plus what running calls hold stays below the limit, so N calls at once end at
most one estimate above it. The hold is released when the call's row has been counted (or the
call failed); the real cost is what stays.

The estimate is the request's input (about four bytes a token) plus its maximum output (the
client's `max_tokens` or the dialect's spelling of it, else `ESTIMATED_OUTPUT_TOKENS`), priced
by the model's entry in the price table; a call asking for no limit can cost more than that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import CostBasis
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "ESTIMATED_OUTPUT_TOKENS",
    "NO_BUDGETS",
    "Estimate",
    "Hold",
    "SpendGuard",
    "estimate_call",
]

# A call that names no output limit is held for this many output tokens (a long answer; the
# model's own ceiling is often far higher, and holding that would refuse parallel calls a
# budget has room for).
ESTIMATED_OUTPUT_TOKENS = 4096


@dataclass(frozen=True)
class Estimate:
    """What a call may spend: tokens, and dollars where its model has a price."""

    tokens: float = 0.0
    usd: float = 0.0


def estimate_call(
    model: str | None, input_tokens: int, max_output: int | None, prices: PriceBook
) -> Estimate:
    """A call's estimate from its input size, its output limit and its model's price."""
    output = max_output if max_output is not None and max_output > 0 else ESTIMATED_OUTPUT_TOKENS
    usage = Usage(input_tokens=max(0, input_tokens), output_tokens=output)
    usd = prices.cost_of(model, usage) if model else None
    return Estimate(float(usage.input_tokens + output), float(usd or 0.0))


class Hold:
    """One call's reservation; `release` (idempotent) gives it back."""

    def __init__(self, release: Callable[[], None] | None = None) -> None:
        self._release = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class SpendGuard(Protocol):
    """The budgets as a call sees them (`BudgetLedger`)."""

    def check(
        self, principal: str, caller: str, project: str | None, cost: CostBasis | None = None
    ) -> None: ...

    def reserve(
        self, principal: str, caller: str, project: str | None, estimate: Estimate
    ) -> Hold: ...

    def refuse_uncounted(
        self, principal: str, caller: str, project: str | None, feature: str
    ) -> None: ...


class _NoBudgets:
    """No budgets: every call may run and nothing is held."""

    def check(
        self, principal: str, caller: str, project: str | None, cost: CostBasis | None = None
    ) -> None:
        return None

    def reserve(self, principal: str, caller: str, project: str | None, estimate: Estimate) -> Hold:
        return Hold()

    def refuse_uncounted(
        self, principal: str, caller: str, project: str | None, feature: str
    ) -> None:
        return None


NO_BUDGETS: SpendGuard = _NoBudgets()
