"""Each provider's health, decided once for every view: the window, `/health`, `/v1/providers`.

A provider is failing when its circuit is open, when its host is rested because no connection
could be made to it (`gateway/http_client/unreachable.py`: its routes are passed over until
the rest ends),
when it has lasting trouble (a failed Test, calls refused for its credentials: `trouble.py`),
or when its recent calls fail (`CallHealth`: failures in a row, or most calls failing);
degraded when some of its calls fail, or when its host took no connection when its model list
was read and no call has said more since (`UNREACHED_SOURCE`). The window
turned red on these while `/health` and `GET /v1/providers` said `available: true` and nothing
more: now all of them read `provider_health` (through `ProvidersService.health`), so a script
or a monitoring check sees what a person sees.

Where recent calls decided it (its own, or its vendor's for an agent pointed at the gateway),
its reason counts them ("2 of 14 calls failed in 15 min"); the desk shows the same calls'
count from its live figures beside it, read at another moment and past `MAX_SAMPLES`, and says
the reason with that count (`reason_counting`), so a row never reads 16 calls beside "of 14".

What is shown to whom: the state words are safe for anyone who may read `/health` (it is public:
the words and the provider ids, never an error's text, a base URL, counts or times); the whole
record (`to_dict`, with the window's reason line, which may quote a Test's error) is for callers
the edge let read `/v1/providers` (docs/SECURITY.md, finding 57).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.gateway.http_client.unreachable import RestedHost
from llmgw_desktop.engine.metrics.health import HealthState, ProviderCallHealth
from llmgw_desktop.engine.providers.answering import Answering
from llmgw_desktop.engine.providers.trouble import (
    LOGIN_SOURCE,
    SET_UP_SOURCES,
    UNREACHED_SOURCE,
    VENDOR_SOURCE,
    Trouble,
)

__all__ = [
    "NO_PROVIDER",
    "RESTING_SOURCE",
    "VENDOR_CALLS_SOURCE",
    "ProviderHealth",
    "provider_health",
    "public_summary",
    "through_vendor",
]

# The `source` of a provider failing because its host is rested (no connection could be made).
RESTING_SOURCE = "resting"
# The `source` of a pointed agent failing because its vendor's provider is failing now.
VENDOR_CALLS_SOURCE = "vendor calls"
# `/health`'s providers state when nothing can answer a call (no key, local server or CLI).
NO_PROVIDER = "none"

# How bad each state is, for the worst of several.
_RANK = {HealthState.UNKNOWN: 0, HealthState.OK: 1, HealthState.DEGRADED: 2, HealthState.FAILING: 3}


@dataclass(frozen=True)
class ProviderHealth:
    """One provider's health: its state, why (the window's words), and its recent calls."""

    provider: str  # the switch id the recorder names it by (`claude`, `openai`, `mistral-api`)
    state: str  # `HealthState`: failing, degraded, ok or unknown (no call yet)
    reason: str  # "" when nothing is wrong
    source: str  # what decided it: "circuit", "resting", "test", "calls", "models" or ""
    calls: ProviderCallHealth
    rest: RestedHost | None = None  # its host rested now (no connection could be made)
    code: str = ""  # its lasting trouble's error code (`upstream_401`), when that decided it
    # The recent calls its reason counts, when they decided it: its own, or its vendor's for an
    # agent pointed at the gateway (`through_vendor`); and the words before their count there.
    counted: ProviderCallHealth | None = None
    lead: str = ""

    @property
    def failing(self) -> bool:
        return self.state == HealthState.FAILING

    def reason_counting(self, calls: int, errors: int) -> str:
        """Its reason, with `calls` of which `errors` failed as the window's count of the calls
        it counts (`counted`): the same calls as another count has them (the desk's live
        figures, shown beside it); its own reason where no count of calls is in it."""
        if self.counted is None:
            return self.reason
        said = dataclasses.replace(self.counted, calls=calls, errors=errors).describe()
        return ": ".join(words for words in (self.lead, said) if words)

    def to_dict(self) -> dict[str, Any]:
        """The whole record, as `GET /v1/providers` gives it (an authenticated caller)."""
        calls = self.calls
        return {
            "state": self.state,
            "reason": self.reason or None,
            "source": self.source or None,
            "consecutiveFailures": calls.consecutive_failures,
            "lastError": (
                None
                if calls.last_error_code is None
                else {"code": calls.last_error_code, "at": calls.last_error_at}
            ),
            "errorRate": None if calls.error_rate is None else round(calls.error_rate, 4),
            "calls": calls.calls,
            "errors": calls.errors,
            "windowSeconds": calls.window_s,
            # Its routes are passed over for this long yet: no connection could be made.
            "restingSeconds": None if self.rest is None else round(self.rest.seconds_left, 1),
        }


def provider_health(
    provider: str,
    *,
    breaker: Mapping[str, Any] | None,
    trouble: Trouble | None,
    calls: ProviderCallHealth,
    rest: RestedHost | None = None,
) -> ProviderHealth:
    """`provider`'s health from its circuit breaker (CLIs), its host's rest (API providers),
    its lasting trouble and its recent calls, in that order: the first that is wrong decides
    (the window's own rule)."""
    if breaker is not None and breaker.get("state") == "open":
        reason = (
            f"circuit open: {breaker.get('consecutiveFailures', 0)} failures in a row; calls "
            f"are refused for {breaker.get('retryAfterSeconds', 0)} s"
        )
        return ProviderHealth(provider, HealthState.FAILING, reason, "circuit", calls)
    if rest is not None:
        # Before its trouble: nothing reaches it now, and the rest says when it is tried again.
        reason = (
            f"unreachable: no connection could be made {rest.failures} times in a row; its "
            f"routes are passed over for {rest.seconds_left:.0f} s more, then it is tried again"
        )
        return ProviderHealth(
            provider, HealthState.FAILING, reason, RESTING_SOURCE, calls, rest=rest
        )
    state = calls.state
    decided = state in (HealthState.FAILING, HealthState.DEGRADED)
    if trouble is not None and trouble.source == UNREACHED_SOURCE and not decided:
        # Its host took no connection when its list was read: no call has failed yet, so it
        # needs a look (amber), not "failing"; its calls decide once they fail.
        return ProviderHealth(
            provider,
            HealthState.DEGRADED,
            trouble.describe(),
            UNREACHED_SOURCE,
            calls,
            code=trouble.code,
        )
    if (
        trouble is not None
        and trouble.code != ErrorCode.NOT_INSTALLED
        and trouble.source != UNREACHED_SOURCE
    ):
        return ProviderHealth(
            provider,
            HealthState.FAILING,
            trouble.describe(),
            trouble.source,
            calls,
            code=trouble.code,
        )
    # A CLI a call found not installed is a set-up wanted, as a provider with no key is: not
    # failing (its row says "Not installed"; its models are held back, `Trouble.holds_back`).
    return ProviderHealth(
        provider,
        state,
        calls.describe(),
        "calls" if decided else "",
        calls,
        counted=calls if decided else None,
    )


def through_vendor(agent: ProviderHealth, vendor: ProviderHealth, name: str) -> ProviderHealth:
    """The health of an agent pointed at the gateway (its model calls go out on the gateway's
    `name` provider, whose health is `vendor`): its vendor's failing or failing calls show
    through while the agent has no word of its own (it read Ready beside a vendor whose every
    call failed: a helper's review). Its own circuit, trouble or failing calls stand."""
    if agent.source or vendor.state not in (HealthState.FAILING, HealthState.DEGRADED):
        return agent
    how = "is failing" if vendor.failing else "fails some calls"
    lead = f"its model calls go through the gateway's {name} provider, which {how}"
    reason = f"{lead}: {vendor.reason}" if vendor.reason else lead
    return ProviderHealth(
        agent.provider,
        vendor.state,
        reason,
        VENDOR_CALLS_SOURCE,
        agent.calls,
        agent.rest,
        # The vendor's calls its reason counts: the desk says their count as the vendor's row does.
        counted=vendor.counted,
        lead=lead if vendor.counted is not None else "",
    )


def public_summary(
    healths: Iterable[ProviderHealth], *, answering: Answering | None = None
) -> dict[str, Any]:
    """What `/health` (public) says of the providers: the worst state (`none` when nothing
    can answer a call at all, `answering.py`), and which providers are failing or degraded,
    and which of the failing are resting (their host takes no connection: passed over for
    now), by id; the CLIs that say they are not logged in (`loggedOut`), and the agents
    pointed at the gateway whose vendor's provider answers nothing (`vendorUnavailable`: no
    login of their own is missing): neither failing, as a provider with no key is not (they
    answer nothing until set up, and make no state worse); whether the first look at the
    providers has ended (`settled`); no counts, times, base URLs or
    error text."""
    every = list(healths)
    logged_out = sorted(h.provider for h in every if h.source == LOGIN_SOURCE)
    vendor_unavailable = sorted(h.provider for h in every if h.source == VENDOR_SOURCE)
    known = [h for h in every if h.source not in SET_UP_SOURCES]
    failing = sorted(h.provider for h in known if h.state == HealthState.FAILING)
    degraded = sorted(h.provider for h in known if h.state == HealthState.DEGRADED)
    resting = sorted(h.provider for h in known if h.rest is not None)
    worst = max((h.state for h in known), key=_RANK.__getitem__, default=HealthState.OK)
    state = HealthState.OK if worst == HealthState.UNKNOWN else worst
    return {
        "state": NO_PROVIDER if answering is not None and answering.none else state,
        # The start's first look at the providers has ended (local servers probed, model
        # lists read): what `/v1/models` lists is each provider's own list from here on
        # (`llmgw-desktop run` waits for it before it chooses a tool's model).
        "settled": answering is not None and answering.settled,
        "failing": failing,
        "degraded": degraded,
        "resting": resting,
        "loggedOut": logged_out,
        "vendorUnavailable": vendor_unavailable,
    }
