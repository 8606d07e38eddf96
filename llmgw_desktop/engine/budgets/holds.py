"""What a call holds against its budgets while it runs, and the guard the callers talk to.

A call under a hard budget reserves what it may cost before it is sent (`SpendGuard.reserve`),
in the store every gateway process shares (`lanes.py`), so parallel calls (in this process or
another) see each other's holds before any of them has finished. What a call may cost is its
input (a token a byte: `tokens.estimate.tokens_at_most`) plus its output limit, priced by the
model's entry in the price table. The output limit is the client's (`max_tokens` or its
dialect's spelling, times the answers asked for); a call naming none is held at the model's
maximum output where the table knows it (`PriceBook.max_output_of`), else at
`ESTIMATED_OUTPUT_TOKENS`. An API call
under a hard budget is always sent the limit it was held for (`Hold.send_limit`,
`gateway/output_limit.py`): the vendor can never produce more than was held.

A budget admits a call only while its spend plus what running calls hold leaves room for the
call's whole hold. Where the budget itself has less room left than a call's output limit, an
API call is sent a lower limit, the one the room pays for (`Hold.lowered`; the answer says so
in `x-gateway-max-tokens`), if that is at least `MIN_OUTPUT_TOKENS`; otherwise it is refused.
A CLI job cannot be told a limit: it is admitted only with room for its whole hold.

The hold is released when the call's row has been counted (or the call failed); the real cost
is what stays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple, Protocol

from llmgw_desktop.engine.tokens.pricing import CostBasis, Price

__all__ = [
    "ESTIMATED_OUTPUT_TOKENS",
    "MIN_OUTPUT_TOKENS",
    "NO_BUDGETS",
    "CallAsk",
    "Estimate",
    "Hold",
    "SpendGuard",
]

# A call that names no output limit, on a model whose maximum output the table does not
# know, is held (and, under a hard budget, sent) at this many output tokens.
ESTIMATED_OUTPUT_TOKENS = 4096
# A budget with less room than this many output tokens (or than the call's own smaller
# limit) refuses the call rather than send it a limit too small to answer in.
MIN_OUTPUT_TOKENS = 256
_PER = 1_000_000  # prices are per million tokens


class Estimate(NamedTuple):
    """What a call may spend: tokens, and dollars where its model has a price (a named tuple:
    every call under a hard budget makes one)."""

    tokens: float = 0.0
    usd: float = 0.0


_new_estimate = tuple.__new__


@functools.lru_cache(maxsize=4096)
def _dollars(tokens: int, per_million: float) -> float:
    """`tokens` at `per_million`, rounded as `Price.cost` rounds. Remembered: `round` to 8
    places converts through decimal digits (about 6,000 instructions), and the calls to one
    model ask for one output limit (and often one input size) again and again."""
    return round(tokens * per_million / _PER, 8)


class CallAsk(NamedTuple):
    """What a call asks of its budgets: its input, its output limit, its price (a named
    tuple: every call under a hard budget makes one, and a frozen dataclass's `__init__`
    costs a Python `object.__setattr__` a field)."""

    model: str | None
    input_tokens: int
    # The client's output limit across every answer it asks for; None: not said.
    output_limit: int | None
    # What a call naming no limit is held at: the model's maximum output where known.
    default_output: int = ESTIMATED_OUTPUT_TOKENS
    price: Price | None = None
    # Whether a limit can be sent with the call (an upstream API), which a CLI job cannot.
    can_limit: bool = True

    @property
    def wanted_output(self) -> int:
        """The output tokens the call is held for when the budget has room for them all."""
        return self.output_limit if self.output_limit is not None else self.default_output

    def cost(self, output: int) -> Estimate:
        """The call's input plus `output` tokens: tokens, and dollars at its price (its input
        at the dearer of the input and cache-write prices: a prompt written to the cache is
        billed at the latter, 1.25 times the input price at Anthropic)."""
        # `max(0, x)` and `max(a, b)` spelled as the comparisons they make: a builtin call
        # each cost more than the rest of the sum (every call under a hard budget asks).
        tokens = self.input_tokens if self.input_tokens > 0 else 0
        output = output if output > 0 else 0
        usd = 0.0
        price = self.price
        if price is not None:
            dearest = price.cache_write if price.cache_write > price.input else price.input
            # `price.cost(Usage(output_tokens=output))`, to the bit (its other kinds are 0),
            # without a frozen `Usage` made for every call.
            usd = _dollars(output, price.output) + _dollars(tokens, dearest)
        # The named tuple made as its own `__new__` makes it, without that Python frame.
        return _new_estimate(Estimate, (float(tokens + output), float(usd)))

    def most_output(self, unit: str, room: float) -> int:
        """The most output tokens `room` (dollars or tokens) pays for beside the input."""
        if unit != "usd":
            return max(0, int(room) - max(0, self.input_tokens))
        left = room - self.cost(0).usd
        if left <= 0:
            return 0
        if self.price is None or self.price.output <= 0:
            return self.wanted_output  # output costs nothing here: the room covers any
        # Prices are per million tokens; the small margin keeps 9999.999... from losing a token
        # to binary fractions (the admission checks the priced total again).
        return math.floor(left * 1_000_000 / self.price.output + 1e-6)


class Hold:
    """One call's reservation; `release` (idempotent) gives it back.

    `send_limit` is the output limit the call must be sent with (all answers together), or
    None when no hard budget covers it (it goes as the client asked); `lowered` says it is
    lower than what the client asked for (or would have been held for), because that is all
    the budget had room for.
    """

    # Slots: every call under a hard budget makes one, and an instance dict cost more than
    # the six fields set in it.
    __slots__ = ("_release", "bound", "counts_tokens", "lowered", "output_tokens", "send_limit")

    def __init__(
        self,
        release: Callable[[], None] | None = None,
        *,
        send_limit: int | None = None,
        lowered: bool = False,
        output_tokens: int = 0,
        counts_tokens: bool = False,
    ) -> None:
        self._release = release
        # A hard budget holds the call (a hold without one, `Hold()`, gives nothing back).
        self.bound = release is not None
        self.send_limit = send_limit
        self.lowered = lowered
        # The output tokens this hold paid for: what a call that ends without the vendor's
        # usage is counted at, at least (`gateway/records/recording.py`). 0: nothing was held.
        self.output_tokens = output_tokens
        # A hard token budget is among those holding it: a CLI stopped at dollars is stopped
        # where its tokens cannot yet have passed the hold (`CliSpend.cap_usd`).
        self.counts_tokens = counts_tokens

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def moved(self) -> Hold:
        """A hold that gives this one back from now on, when it is released (this one gives
        nothing back any more): for an answer that keeps its call's hold until it ends."""
        moved = Hold(
            self._release,
            send_limit=self.send_limit,
            lowered=self.lowered,
            output_tokens=self.output_tokens,
            counts_tokens=self.counts_tokens,
        )
        self._release = None
        return moved


class SpendGuard(Protocol):
    """The budgets as a call sees them (`BudgetLedger`)."""

    def check(
        self, principal: str, caller: str, project: str | None, cost: CostBasis | None = None
    ) -> None: ...

    async def reserve(
        self,
        principal: str,
        caller: str,
        project: str | None,
        ask: CallAsk,
        *,
        waits: Callable[[bool], None] | None = None,
    ) -> Hold: ...

    def expected_limit(
        self, principal: str, caller: str, project: str | None, ask: CallAsk
    ) -> int | None: ...

    def refuse_uncounted(
        self, principal: str, caller: str, project: str | None, feature: str
    ) -> None: ...

    def refuse_unmetered(
        self, principal: str, caller: str, project: str | None, provider: str, why: str
    ) -> None: ...

    def covers(self, principal: str, caller: str, project: str | None) -> bool: ...


class _NoBudgets:
    """No budgets: every call may run and nothing is held."""

    def check(
        self, principal: str, caller: str, project: str | None, cost: CostBasis | None = None
    ) -> None:
        return None

    async def reserve(
        self,
        principal: str,
        caller: str,
        project: str | None,
        ask: CallAsk,
        *,
        waits: Callable[[bool], None] | None = None,
    ) -> Hold:
        return Hold()

    def expected_limit(
        self, principal: str, caller: str, project: str | None, ask: CallAsk
    ) -> int | None:
        return None

    def refuse_uncounted(
        self, principal: str, caller: str, project: str | None, feature: str
    ) -> None:
        return None

    def refuse_unmetered(
        self, principal: str, caller: str, project: str | None, provider: str, why: str
    ) -> None:
        return None

    def covers(self, principal: str, caller: str, project: str | None) -> bool:
        return False


NO_BUDGETS: SpendGuard = _NoBudgets()
