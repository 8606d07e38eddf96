"""What a new gateway key is (`KeySpec`), and the bounds a person typing one cannot pass.

A key's name is its principal (`key:<name>`): the recorder, budgets, the response cache,
sessions, jobs and config.toml's principal lists all know it by that name. So the name is
tight (ASCII letters, digits and `. _ @ + -`: no look-alike letters, no separators, no
spaces), and `GatewayKeys.create` refuses a name an earlier key held unless the spec says it
continues that identity.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from llmgw_desktop.config.budgets import PERIODS
from llmgw_desktop.engine.auth.key_scope import SCOPE_FIELDS, KeyScope
from llmgw_desktop.engine.errors import InvalidRequest

__all__ = ["MAX_GRACE_S", "KeySpec"]

# A key's name becomes its principal, log lines and database rows: kept tight.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
# Bounds a person typing in a dialog or a flag cannot get past.
MAX_SCOPE_ENTRIES = 200
MAX_PER_MINUTE = 1_000_000
MAX_BUDGET_USD = 1e9
MAX_GRACE_S = 30 * 86400.0


@dataclass(frozen=True)
class KeySpec:
    """What a new key is: its name, scope and limits (None: no limit)."""

    name: str
    scope: KeyScope = field(default_factory=KeyScope)
    budget_usd: float | None = None
    budget_period: str = "monthly"
    per_minute: int | None = None
    expires_at: float | None = None
    # The name was an earlier, revoked key's and this key is its holder again (a lost laptop,
    # a leaked secret): it takes that principal's sessions, jobs, history, cached answers and
    # budget spend. Without it such a name is refused (`GatewayKeys.create`): a name handed
    # to someone else must not hand them what the old holder left.
    continues_identity: bool = False

    def checked(self, now: float) -> KeySpec:
        """This spec, or the refusal naming the field that is wrong.

        Raises:
            InvalidRequest: a field is out of bounds (`param` names it).
        """
        name = self.name.strip()
        if not _NAME.fullmatch(name):
            raise InvalidRequest(
                "name: 1 to 64 letters, digits and . _ @ + -, starting with a letter or digit",
                param="name",
            )
        for field_name in SCOPE_FIELDS:
            if len(getattr(self.scope, field_name)) > MAX_SCOPE_ENTRIES:
                raise InvalidRequest(
                    f"{field_name}: at most {MAX_SCOPE_ENTRIES} entries", param=field_name
                )
        if self.scope.caller and not _NAME.fullmatch(self.scope.caller):
            raise InvalidRequest(
                "caller: 1 to 64 letters, digits and . _ @ + -, starting with a letter or "
                "digit (the name the routes' `pin` tables use, such as codex)",
                param="caller",
            )
        if self.budget_usd is not None and not (
            math.isfinite(self.budget_usd) and 0 < self.budget_usd <= MAX_BUDGET_USD
        ):
            raise InvalidRequest("budget: a positive number of dollars", param="budget_usd")
        if self.budget_period not in PERIODS:
            raise InvalidRequest(
                f"budget period: one of {', '.join(PERIODS)}", param="budget_period"
            )
        if self.per_minute is not None and not 0 < self.per_minute <= MAX_PER_MINUTE:
            raise InvalidRequest(
                f"rate limit: 1 to {MAX_PER_MINUTE} requests a minute", param="per_minute"
            )
        if self.expires_at is not None and self.expires_at <= now:
            raise InvalidRequest("expiry: a time in the future", param="expires_at")
        return replace(self, name=name)
