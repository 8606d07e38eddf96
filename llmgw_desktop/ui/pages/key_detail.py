"""The Access keys page's words and details: a key's state as a badge, what it spent against its
budget as a bar, when it was last used, what it may reach, and its actions (its requests in
the Flight recorder, Rotate, Revoke).

A key with a budget shows the spend its budget counts (`engine.budgets.key_status`: the
running total the gateway refuses calls by, this day or month); a key without one shows what
its requests cost this month (`recorder_query.costs` by principal). Either way the words say
which period, so the figure is never read as something else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from llmgw_desktop.engine.api import BudgetStatus, KeyRecord, format_usd
from llmgw_desktop.ui.kit.master_detail import DetailCard, value_label
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.kit.spend_bar import SpendBar, spend_tone
from llmgw_desktop.ui.qt import QFontDatabase, QVBoxLayout, QWidget
from llmgw_desktop.ui.terms import who_words
from llmgw_desktop.ui.theme import set_tone

__all__ = ["KeyDetail", "KeySpend", "ago", "reach_words", "shown_state", "state_kind", "when"]

# A key's state -> the badge kind (badge.py's vocabulary).
_STATE_KINDS = {"live": "ok", "retiring": "warning", "revoked": "off", "expired": "off"}


def state_kind(state: str) -> str:
    """The badge kind of a key's state."""
    return _STATE_KINDS.get(state, "unknown")


def shown_state(state: str, spend: KeySpend | None) -> tuple[str, str]:
    """A key's state as the list and its badge show it, and the badge kind: a key whose
    budget refuses its calls (used up, or too little left for one) is no green "live"."""
    if state in ("live", "retiring") and spend is not None and spend.exceeded:
        return "error", "budget refuses calls"
    return state_kind(state), state


def when(timestamp: float | None, never: str = "never") -> str:
    """A date and time as a person reads it, or `never`."""
    if timestamp is None:
        return never
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def ago(timestamp: float | None, now: float, never: str = "never") -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 days ago`: how long since, or `never`."""
    if timestamp is None:
        return never
    seconds = max(0.0, now - timestamp)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    days = seconds // 86400
    return f"{days:.0f} day{'s' if days != 1 else ''} ago"


def reach_words(record: KeyRecord) -> str:
    """What the key may reach: models and providers, projects, MCP tools; and the caller
    name its route pins follow."""
    reach = record.scope.describe_targets()
    if record.scope.projects:
        reach += f"; projects {', '.join(sorted(record.scope.projects))}"
    if record.scope.tools:
        reach += f"; tools {', '.join(sorted(record.scope.tools))}"
    if record.scope.caller:
        reach += f"; as caller {record.scope.caller}"
    return reach


@dataclass(frozen=True)
class KeySpend:
    """What a key spent, and against what."""

    spent: float
    limit: float | None  # the key's budget, None without one
    period: str  # "today" or "this month"
    exceeded: bool = False

    @classmethod
    def of(cls, record: KeyRecord, status: BudgetStatus | None, month: float) -> KeySpend:
        """From the budget's status when the key has one, else this month's cost."""
        if status is not None:
            period = "today" if status.budget.period == "daily" else "this month"
            return cls(status.spent, status.limit, period, status.state == "exceeded")
        return cls(month, None, "this month")

    @property
    def cell(self) -> str:
        """`$0.07 / $5.00`, or `$0.07`: the list's Spent cell."""
        spent = format_usd(self.spent)
        return f"{spent} / {format_usd(self.limit)}" if self.limit else spent

    @property
    def words(self) -> str:
        """`$0.07 of $5.00 this month (1%)`, or `$0.07 this month · no budget`."""
        spent = format_usd(self.spent)
        if not self.limit:
            return f"{spent} {self.period} · no budget"
        share = self.spent / self.limit
        words = f"{spent} of {format_usd(self.limit)} {self.period} ({share:.0%})"
        return words + (": used up, calls are refused" if self.exceeded else "")


class KeyDetail(DetailCard):
    """The chosen key's facts and actions; the page wires the buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("keyDetail", parent)
        self.key_label = value_label("keyShown")
        self.key_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.spend_bar = SpendBar()
        self.spend_label = value_label("keySpend")
        spend = QVBoxLayout()
        spend.setSpacing(2)
        spend.addWidget(self.spend_bar)
        spend.addWidget(self.spend_label)
        self.used_label = value_label("keyLastUsed")
        self.reach_label = value_label("keyReach")
        self.rate_label = value_label("keyRate")
        self.expires_label = value_label("keyExpires")
        self.made_label = value_label("keyMade")
        self.requests_button = action_button(
            "Its requests",
            "keyRequests",
            icon="recorder",
            tip="Open the Flight recorder with this key's requests only",
        )
        self.rotate_button = action_button(
            "Rotate",
            "rotateKey",
            icon="refresh",
            tip="A new secret under the same name; the old one stops now",
        )
        self.revoke_button = action_button(
            "Revoke…", "revokeKey", icon="remove", tip="Stop this key everywhere, at once"
        )
        self.add_row("Spent", spend)
        self.add_row("Last used", self.used_label)
        self.add_row("Key", self.key_label)
        self.add_row("May reach", self.reach_label)
        self.add_row("Rate limit", self.rate_label)
        self.add_row("Expires", self.expires_label)
        self.add_row("Made", self.made_label)
        self.action_row.addWidget(self.requests_button)
        self.action_row.addStretch(1)
        self.action_row.addWidget(self.rotate_button)
        self.action_row.addWidget(self.revoke_button)
        self.spend_label.setAccessibleName("Spent")
        self.rotate_button.setEnabled(False)  # until a live key is chosen
        self.revoke_button.setEnabled(False)

    def show_key(self, record: KeyRecord, spend: KeySpend | None, now: float) -> None:
        """Lay out `record`'s facts; `spend` None while it is being read."""
        state = record.state(now)
        self.heading.setText(record.name)  # as the list names it; the principal below
        self.heading.setToolTip(f"Its principal: {record.principal}")
        self.badge.set_status(*shown_state(state, spend))
        self.key_label.setText(record.shown)
        if spend is None:
            self.spend_bar.set_spend(0.0, None)
            self.spend_label.setText("reading…")
            set_tone(self.spend_label, "")
        else:
            self.spend_bar.set_spend(spend.spent, spend.limit)
            self.spend_label.setText(spend.words)
            set_tone(self.spend_label, spend_tone(spend.spent, spend.limit))
        self.spend_bar.setVisible(spend is not None and bool(spend.limit))
        self.spend_bar.setAccessibleName(self.spend_label.text())
        used = record.last_used_at
        self.used_label.setText("never" if used is None else f"{ago(used, now)} ({when(used)})")
        self.reach_label.setText(reach_words(record))
        self.rate_label.setText(
            f"{record.per_minute} requests a minute"
            if record.per_minute
            else "the gateway's default for remote callers"
        )
        self.expires_label.setText(when(record.expires_at))
        self.made_label.setText(f"{when(record.created_at)} by {who_words(record.created_by)}")
        live = state in ("live", "retiring")
        self.rotate_button.setEnabled(live)
        self.revoke_button.setEnabled(live)
