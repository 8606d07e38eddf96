"""A budget's calendar and its amounts in words; what a budget is lives in `config/budgets.py`.

Periods follow one calendar: a day starts at midnight, a month at midnight on the 1st, in the
zone `budget_zone` names (DST-aware). A period's start is the key its spend is counted under in
the store, so every process sharing a store must count in the same zone: on a PostgreSQL store
(gateways in several time zones may share it) that is UTC unless `store.budget_timezone` names
one; on SQLite (one computer) the local calendar (`datetime.timestamp()` reads a naive time as
local).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from llmgw_desktop.config.budgets import Period, Unit
from llmgw_desktop.engine.tokens.money import format_usd

__all__ = ["budget_zone", "format_amount", "format_share", "period_bounds"]


def budget_zone(name: str, *, shared_store: bool) -> tzinfo | None:
    """The zone budgets count their periods in: `name` (`store.budget_timezone`, checked when
    the settings were read), else UTC on a store several gateways may share, else None (this
    computer's local calendar)."""
    if name and name.upper() != "UTC":
        from zoneinfo import ZoneInfo  # only for a named zone: a start without one skips it

        return ZoneInfo(name)
    return UTC if name or shared_store else None


def period_bounds(period: Period, now: float, zone: tzinfo | None = None) -> tuple[float, float]:
    """The period holding `now` in `zone`'s calendar (None: local): its start and the start of
    the next one."""
    here = datetime.fromtimestamp(now, zone)
    if period == "daily":
        start = datetime(here.year, here.month, here.day, tzinfo=zone)
        day = start.date() + timedelta(days=1)
        nxt = datetime(day.year, day.month, day.day, tzinfo=zone)
    else:
        start = datetime(here.year, here.month, 1, tzinfo=zone)
        nxt = datetime(here.year + here.month // 12, here.month % 12 + 1, 1, tzinfo=zone)
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


def format_share(fraction: float, *, short: bool = False) -> str:
    """`82%` of a budget used, as every face says it: `under 1%` for a little spent (`<1%`
    where `short`: a cell as wide as `100%`; a bare `0%` read as nothing spent, beside another
    budget's figure), and `99%` until the limit is reached (never a rounded `100%` for a budget
    that still admits calls)."""
    if 0 < fraction < 0.005:
        return "<1%" if short else "under 1%"
    if 0.99 <= fraction < 1:
        return "99%"
    return f"{fraction:.0%}"
