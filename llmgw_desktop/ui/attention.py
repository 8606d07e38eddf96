"""What needs the person now, read from the engine's public surface: failing providers, stuck
jobs, the budget nearest its limit, what today has cost. No Qt: the window's header and the
system notifications read the same figures, so they never disagree with each other or with
the pages they open.

A provider is failing by the Providers page's own rules (`provider_rows.py`): its circuit is
open, it has lasting trouble (a failed Test, calls refused for its credentials), or its recent
calls fail (`provider_health`: failures in a row, or most calls failing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from llmgw_desktop.engine.api import BudgetStatus, Engine, HealthState

__all__ = [
    "FailingProvider",
    "SpendToday",
    "failing_providers",
    "nearest_budget",
    "seconds_since_midnight",
    "spend_today",
]


@dataclass(frozen=True)
class FailingProvider:
    """A provider that fails now, as the header and the notifications name it."""

    provider: str  # the switch id (`mistral-api`, `claude`): the recorder's provider
    name: str  # as every page names it ("Mistral API")
    why: str  # a few words: "circuit open", "3 failures in a row, upstream_500"


@dataclass(frozen=True)
class SpendToday:
    """What the requests started since local midnight cost."""

    usd: float
    requests: int
    unpriced: int  # requests that used tokens and could not be priced


def failing_providers(engine: Engine) -> list[FailingProvider]:
    """Every provider failing now, in the order the switches list them: the engine's one
    decision (`engine.providers.health`), which `/health` and `/v1/providers` show too."""
    names = {state.id: state.display_name for state in engine.providers.states()}
    return [
        FailingProvider(
            health.provider,
            names.get(health.provider, health.provider),
            "circuit open" if health.source == "circuit" else health.reason,
        )
        for health in engine.providers.health_all()
        if health.state == HealthState.FAILING
    ]


def nearest_budget(engine: Engine) -> BudgetStatus | None:
    """The budget closest to (or furthest past) its limit, or None without budgets."""
    return engine.budgets.nearest()


def seconds_since_midnight(now: float | None = None) -> float:
    """Seconds from the last local midnight to `now` (the user's calendar day, as budgets)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment - midnight).total_seconds()


async def spend_today(engine: Engine, now: float | None = None) -> SpendToday:
    """What today has cost so far (one summing read on the read lane, never the loop)."""
    at = time.time() if now is None else now
    breakdown = await engine.recorder_query.costs(
        "provider", max(1.0, seconds_since_midnight(at)), now=at
    )
    total = breakdown.total
    return SpendToday(total.cost_usd, total.requests, total.unpriced)
