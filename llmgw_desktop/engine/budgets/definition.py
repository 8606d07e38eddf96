"""A budget's calendar and its amounts in words; what a budget is lives in `config/budgets.py`.

Periods follow the user's local calendar: a day starts at local midnight, a month at local
midnight on the 1st (DST-aware: `datetime.timestamp()` reads a naive time as local).
"""

from __future__ import annotations

from datetime import datetime

from llmgw_desktop.config.budgets import Period, Unit
from llmgw_desktop.engine.tokens.money import format_usd

__all__ = ["format_amount", "period_bounds"]


def period_bounds(period: Period, now: float) -> tuple[float, float]:
    """The local-calendar period holding `now`: its start and the start of the next one."""
    local = datetime.fromtimestamp(now)
    if period == "daily":
        start = datetime(local.year, local.month, local.day)
        nxt = datetime.fromordinal(start.toordinal() + 1)
    else:
        start = datetime(local.year, local.month, 1)
        nxt = datetime(local.year + local.month // 12, local.month % 12 + 1, 1)
    return start.timestamp(), nxt.timestamp()


def format_amount(unit: Unit, amount: float) -> str:
    """`$4.20`, `$0.003` or `12.3k tokens`, as the page, the tray, the notification and the
    refusal say it (dollars at the precision `format_usd` keeps)."""
    if unit == "usd":
        return format_usd(amount)
    if amount >= 1_000_000:
        return f"{amount / 1_000_000:.1f}M tokens".replace(".0M", "M")
    if amount >= 10_000:
        return f"{amount / 1_000:.1f}k tokens".replace(".0k", "k")
    return f"{int(amount):,} tokens"
