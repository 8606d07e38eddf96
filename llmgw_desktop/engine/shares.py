"""Fair shares: how much of a limit everyone needs one principal may hold (SECURITY.md 29).

The connections to one upstream host, the CLI jobs running at once (in all, and on one
provider) and the jobs running or queued are shared by every caller; one caller filling any of
them made everyone else's calls time out or be refused. Each remote principal may now hold at
most a share of each, a percentage of the limit (at least one). The local user is not held to
a share: it is the machine's owner, who sets the limits, and its agents' bursts are not an
attack on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.engine.auth.principals import LOCAL

__all__ = ["FULL", "FairShare"]

# A share of 100% is no share at all: the limit itself is the only cap.
FULL = 100


@dataclass(frozen=True)
class FairShare:
    """A share of `percent` of each shared limit for every principal but the local user.

    `setting` names where the percentage is set, for the refusal a principal over its share
    gets.
    """

    percent: int = FULL
    setting: str = ""

    def holds(self, principal: str) -> bool:
        """Whether `principal` is held to a share (everyone but the local user, unless 100%)."""
        return self.percent < FULL and principal != LOCAL

    def of(self, limit: int) -> int:
        """One principal's share of `limit`: at least one, at most the limit."""
        return max(1, min(limit, limit * self.percent // FULL))
