"""What the guard found since the gateway started, per provider, key (the caller's principal)
and kind, and what it did with each: the Overview's guard line and the recorder's filter read
it; `/metrics` counts the same events itself (`metrics/prometheus.py`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

__all__ = ["GuardCount", "GuardStats"]

# Distinct callers counted apart; the rest are counted as one (a flood of made-up keys cannot
# grow the table).
MAX_KEYS = 200
OTHER_KEYS = "_other"


@dataclass(frozen=True)
class GuardCount:
    """How many secrets of `kind` the guard found in requests from `key` to `provider`, and
    did `action` with."""

    provider: str
    key: str
    kind: str
    action: str
    count: int


class GuardStats:
    """Counts since start; one per guard."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self._keys: set[str] = set()
        self.requests = 0  # requests with at least one finding
        self.read = 0  # requests read (once each, whatever their targets)
        self.unscanned = 0  # requests not read whole
        # Requests sent unread to a provider on this machine (`guard.exempt_local`): "nothing
        # found" must not be read as "read, and clean" for them.
        self.exempt = 0

    def add(
        self, provider: str, key: str, kinds: Counter[str], action: str, *, new_request: bool = True
    ) -> None:
        """Count one request's findings (`new_request`: the first part of its findings counted;
        a request's secrets and its rules' matches may be counted apart, as one request)."""
        if key not in self._keys:
            if len(self._keys) >= MAX_KEYS:
                key = OTHER_KEYS
            else:
                self._keys.add(key)
        self.requests += new_request
        for kind, count in kinds.items():
            self._counts[(provider, key, kind, action)] += count

    def counts(self) -> list[GuardCount]:
        """Every count, largest first (then as first counted)."""
        return [
            GuardCount(provider, key, kind, action, count)
            for (provider, key, kind, action), count in self._counts.most_common()
        ]

    def by_action(self) -> dict[str, int]:
        """Secrets found per action taken (warned, redacted, blocked, sent)."""
        totals: Counter[str] = Counter()
        for (_p, _k, _kind, action), count in self._counts.items():
            totals[action] += count
        return dict(totals)
