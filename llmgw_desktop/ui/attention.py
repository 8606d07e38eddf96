"""What needs the person now, read from the engine's public surface: failing providers, stuck
jobs, the budget nearest its limit, what today has cost. No Qt: the window's header and the
system notifications read the same figures, so they never disagree with each other or with
the pages they open.

One verdict on a provider's health (`provider_verdict`), read by the header chip, Overview,
the Providers page (`provider_rows.py`) and the tray, so none says "OK" while another says
"some calls fail". A provider is failing when its circuit is open, it has lasting trouble (a
failed Test, calls refused for its credentials) or its recent calls fail (`provider_health`:
failures in a row, or most calls failing); when only some of its recent calls fail, every
place says just that, "some calls fail" (the header said "needs a look" for the state the
tables called "Some calls fail": one state, two names, review 41-3). An API provider whose host
no connection could be made to is rested (its routes passed over for a while): it is failing,
"Unreachable", with when it is tried again, until the rest ends. One whose host took no
connection when its model list was read, before any call, needs a look: "Could not connect",
amber, until a call answers or a list is read. A provider switched off has no verdict: it is
not called. While every provider is paused each keeps the verdict its calls gave it: a provider
known to fail still fails, and the pause (`gateway_state`) says so beside it.

Above every verdict, whether anything can answer a call at all (`no_provider`, the engine's
one fact `engine.answering`): with no key, local server or coding CLI the header, the
Overview's first card and the Playground say "No provider can answer" in amber, and where to
add a key, rather than "Providers OK" over an empty model list. When something can answer but
every provider that can is failing (`all_failing`), nothing gets through either: the header's
gateway chip and the Overview's Gateway card say "Not working" (`gateway_state`, their one
rule).

Where recent calls decided a verdict, its words count them ("2 of 14 calls failed in 15 min").
The pages show the same calls' count from the live figures beside it ("Calls 15 min", "Failed
15 min", the Providers line); the engine's count of them is read at another moment and keeps
at most its last 500, so said from both, a row would read "Some calls fail: 2 of 14" beside its
own 16 calls. A verdict's words say the live figures' count (`ProviderVerdict.counted`), the
one every page shows; the engine's decides the level.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmgw_desktop.engine.api import (
    KEY_REFUSED_CODES,
    RESTING_SOURCE,
    UNREACHED_SOURCE,
    VENDOR_SOURCE,
    Answering,
    AttemptFailedOver,
    Engine,
    HealthState,
    ProviderHealth,
    RequestFinished,
    Totals,
)

__all__ = [
    "ADD_A_KEY_PLACE",
    "FAILING",
    "KEY_REFUSED",
    "LOGGED_OUT",
    "NOT_CONNECTED",
    "NO_PROVIDER",
    "SET_UP_WANTED",
    "SOME_CALLS_FAIL",
    "TRAFFIC_WINDOW",
    "UNREACHABLE",
    "VENDOR_UNAVAILABLE",
    "NoProvider",
    "ProviderVerdict",
    "SpendToday",
    "all_failing",
    "answering_switches",
    "no_provider",
    "provider_verdict",
    "provider_verdicts",
    "seconds_since_midnight",
    "spend_today",
]


# A verdict's level: red, or amber (in the words of the Providers page's status for it).
FAILING, SOME_CALLS_FAIL = "failing", "some calls fail"
# The live figures' window the pages count a provider's calls in (the health table's "Calls
# 15 min", "recent failures"), and a verdict's words count them in (`ProviderVerdict.counted`).
TRAFFIC_WINDOW = "15m"
# The status of a provider whose host is rested: no connection could be made to it.
UNREACHABLE = "Unreachable"
# The status of an API provider whose host took no connection when its model list was read,
# before any call said more: amber, never "Ready" (a person's pass saw green everywhere beside
# its own "cannot connect").
NOT_CONNECTED = "Could not connect"
# What every place says when nothing can answer a call, and the page where a key is added.
NO_PROVIDER = "No provider can answer"
ADD_A_KEY_PLACE = "credentials"  # Provider keys


# The status of a CLI that says it is not logged in (`cli_login.py`).
LOGGED_OUT = "Not logged in"
# ... and of an agent pointed at the gateway whose vendor's provider answers nothing: it has no
# login of its own to make, so "Not logged in" would send the person to the wrong place.
VENDOR_UNAVAILABLE = "Vendor unavailable"
# The statuses that say a provider is waiting to be set up, not failing (as "No API key").
SET_UP_WANTED = frozenset({LOGGED_OUT, VENDOR_UNAVAILABLE})
# The status of an API provider whose lasting trouble is its key refused (401 or 403), however
# that was found (a call, a Test, its model list): "Failing" said less than its words did.
KEY_REFUSED = "Key refused"
# A failing provider's status by where its trouble came from (`trouble.py`'s sources).
_FAILING_STATUS = {"test": "Test failed", "login": LOGGED_OUT, "vendor": VENDOR_UNAVAILABLE}


@dataclass(frozen=True)
class NoProvider:
    """Nothing can answer a call: why, and what to do, in the window's words."""

    fix: str  # "add an API key on Provider keys, or install a coding CLI"
    tip: str  # the whole of it, for a tooltip
    # A few words of it where there is no room for `fix` (Overview's card at a small width).
    brief: str = ""
    # Where a press on it goes: Provider keys, or the Providers page on a logged-out CLI
    # (`focus`, its switch id) when a login is all that is missing; `place_name` names it.
    place: str = ADD_A_KEY_PLACE
    focus: str = ""
    place_name: str = "Provider keys"
    # Whether a key set up was refused: an outage (red), not a gateway yet to be set up (amber),
    # which a review saw said alike.
    refused: bool = False

    @property
    def words(self) -> str:
        return NO_PROVIDER

    @property
    def tone(self) -> str:
        """Its colour wherever it is said: red for a refused key, amber while only set-up is
        missing."""
        return "error" if self.refused else "warning"


def no_provider(engine: Engine, answering: Answering | None = None) -> NoProvider | None:
    """Why nothing can answer a call, or None when something can, when it is not known yet
    (the first look at the providers is under way) or when every provider is paused (the
    pause says it). `answering`: the engine's fact (read now when not given)."""
    fact = engine.answering.now() if answering is None else answering
    if not fact.none or engine.providers.paused:
        return None
    names = {state.id: state.display_name for state in engine.providers.states()}
    refused = [names.get(provider, provider) for provider in fact.refused]
    # An agent pointed at the gateway waits for its vendor's key, which the key's own fix
    # covers (a key added, a refused one replaced): it is named, not given a fix of its own,
    # and a press goes where keys are added, not to the agent (it has nothing to set up).
    logins: list[tuple[str, str]] = []
    pointed: list[str] = []
    for provider, said in fact.to_set_up:
        if _for_its_vendor(engine, provider):
            pointed.append(names.get(provider, provider))
        else:
            logins.append((provider, said))
    fixes = []
    if refused:
        keys = "its key" if len(refused) == 1 else "their keys"
        fixes.append(f"{' and '.join(refused)} refused {keys}: replace it on Provider keys")
    fixes += [said for _provider, said in logins]
    # Installing a coding CLI is no fix where the ones installed wait for a key (a review read
    # "or install a coding CLI" beside two installed).
    fix = "; ".join(fixes) or (
        "add an API key on Provider keys"
        if pointed
        else "add an API key on Provider keys, or install a coding CLI"
    )
    if pointed:
        verb = "calls its models" if len(pointed) == 1 else "call their models"
        fix += f" ({' and '.join(pointed)} {verb} with the gateway's keys)"
    tip = (
        f"{NO_PROVIDER} a call: {fix}. A key stored on Provider keys answers at once; one set "
        "in an environment variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ...) "
        "needs the gateway started again. A coding CLI you are logged in to answers too."
    )
    # The first thing to fix, up to what to do ("Anthropic refused its key"): the whole of it
    # did not fit Overview's card at 1024 px and was cut mid-sentence.
    brief = fixes[0].split(":")[0] if fixes else fix.split(",")[0].split(" (")[0]
    if logins and not refused:  # a login is all that is missing: where it is said
        [(first, said), *_rest] = logins
        brief = said.split(":")[0]  # "Claude Code is not logged in"
        return NoProvider(fix, tip, brief, "providers", first, "Providers")
    return NoProvider(fix, tip, brief, refused=bool(refused))


def _for_its_vendor(engine: Engine, switch_id: str) -> bool:
    """Whether `switch_id` is an agent pointed at the gateway held for its vendor's key."""
    trouble = engine.providers.trouble(switch_id)
    return trouble is not None and trouble.source == VENDOR_SOURCE


@dataclass(frozen=True)
class ProviderVerdict:
    """What is wrong with one provider now, as every place that shows health says it."""

    provider: str  # the switch id (`mistral-api`, `claude`): the recorder's provider
    name: str  # as every page names it ("Mistral API")
    level: str  # FAILING or SOME_CALLS_FAIL
    # The Providers page's words: Circuit open, Unreachable, Test failed, Failing, Some calls fail
    status: str
    why: str  # one line: "8 calls failed in a row (upstream_500, last at 21:04:10); ..."
    brief: str = ""  # a few words for a menu line, where `why` would be cut ("" : `why`)
    # The engine's health it was read from, where recent calls decided it: their count in `why`
    # is said again as the live figures have it (`counted`).
    health: ProviderHealth | None = field(default=None, compare=False, repr=False)

    @property
    def failing(self) -> bool:
        return self.level == FAILING

    @property
    def counts_calls(self) -> bool:
        """Whether its words count recent calls (its own, or its vendor's)."""
        return self.health is not None and self.health.counted is not None

    def counted(self, by_provider: Mapping[str, Totals]) -> ProviderVerdict:
        """This verdict, the recent calls its words count being counted as `by_provider` (the
        live figures' window, `series(TRAFFIC_WINDOW).by_provider`) counts them: the count the
        pages show beside it. Itself where its words count no calls, or where the live figures
        have no count of that provider (past their cap of providers): the engine's count then."""
        health = self.health
        counted = None if health is None else health.counted
        totals = None if counted is None else by_provider.get(counted.provider)
        if health is None or totals is None:
            return self
        why = health.reason_counting(totals.asked, totals.errors)
        return self if why == self.why else dataclasses.replace(self, why=why)

    @property
    def said(self) -> str:
        """Its state in a few words wherever a page names it beside the provider: "key
        refused" for a refused key (the Providers page's status; "OpenAI (failing)" and
        "Anthropic failing" beside it read as something else), "could not connect" for a host
        that took no connection, else its level."""
        return self.status.lower() if self.status in (KEY_REFUSED, NOT_CONNECTED) else self.level


@dataclass(frozen=True)
class SpendToday:
    """What the requests started since local midnight (`since`) and finished before `cut`
    cost, and how many requests clients sent (`recorder/attempts.py`: an attempt that failed
    over is not one); a reader adds those finishing from `cut` on as their `RequestFinished`
    arrive, and takes out the attempts failing over from then on (`AttemptFailedOver`)."""

    usd: float
    requests: int
    unpriced: int  # requests that used tokens and could not be priced
    since: float = 0.0  # local midnight, as a timestamp
    cut: float = 0.0  # when it was read

    def counts(self, event: RequestFinished | AttemptFailedOver) -> bool:
        """Whether `event` is today's and came after this read (so the read left it out)."""
        at = event.at if isinstance(event, AttemptFailedOver) else event.finished_at
        return at >= self.cut and event.started_at >= self.since

    def plus(self, event: RequestFinished | AttemptFailedOver) -> SpendToday:
        """This spend with `event`'s request added (a request that finished since the read),
        or an attempt counted as one taken out (it failed over since: its cost stays)."""
        if isinstance(event, AttemptFailedOver):
            return dataclasses.replace(self, requests=max(0, self.requests - 1))
        tokens = event.input_tokens + event.output_tokens + event.cache_read_tokens
        unpriced = event.cost_usd is None and tokens + event.cache_write_tokens > 0
        return SpendToday(
            self.usd + (event.cost_usd or 0.0),
            self.requests + 1,
            self.unpriced + int(unpriced),
            self.since,
            self.cut,
        )


def provider_verdict(
    engine: Engine,
    switch_id: str,
    name: str = "",
    breakers: Mapping[str, Mapping[str, Any]] | None = None,
    by_provider: Mapping[str, Totals] | None = None,
) -> ProviderVerdict | None:
    """The health verdict of one provider by its switch id, in the window's words: the
    engine's one decision (`engine.providers.health`: its circuit, its lasting trouble, its
    recent calls), which `/health` and `/v1/providers` show too; None when nothing is wrong
    (or nothing is known yet). With `by_provider` (the live figures' window), its count of
    recent calls is theirs (`ProviderVerdict.counted`)."""
    health = engine.providers.health(switch_id)
    name = name or switch_id
    if health.state == HealthState.FAILING and health.source == "circuit":
        breaker = (engine.providers.breakers() if breakers is None else breakers).get(switch_id, {})
        wait = breaker.get("retryAfterSeconds")
        seconds = float(wait) if isinstance(wait, int | float) else 0.0
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + seconds))
        why = (
            f"{breaker.get('consecutiveFailures', 0)} failures in a row; calls are refused "
            f"until {at} (in {seconds:.0f} s)"
        )
        return ProviderVerdict(switch_id, name, FAILING, "Circuit open", why)
    if health.rest is not None and health.source == RESTING_SOURCE:
        rest = health.rest
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + rest.seconds_left))
        last = f" ({rest.last_error})" if rest.last_error else ""
        until = f"until {at} (in {rest.seconds_left:.0f} s)"
        why = (
            f"no connection could be made {rest.failures} times in a row{last}; its routes are "
            f"passed over {until}, then it is tried again"
        )
        brief = f"unreachable, passed over {until}"
        return ProviderVerdict(switch_id, name, FAILING, UNREACHABLE, why, brief)
    if health.state == HealthState.FAILING:
        status = (
            KEY_REFUSED
            if health.code in KEY_REFUSED_CODES
            else _FAILING_STATUS.get(health.source, "Failing")
        )
        verdict = ProviderVerdict(switch_id, name, FAILING, status, health.reason, health=health)
    elif health.state == HealthState.DEGRADED and health.source == UNREACHED_SOURCE:
        verdict = ProviderVerdict(switch_id, name, SOME_CALLS_FAIL, NOT_CONNECTED, health.reason)
    elif health.state == HealthState.DEGRADED:
        status = SOME_CALLS_FAIL.capitalize()
        verdict = ProviderVerdict(
            switch_id, name, SOME_CALLS_FAIL, status, health.reason, health=health
        )
    else:
        return None
    return verdict if by_provider is None else verdict.counted(by_provider)


def provider_verdicts(
    engine: Engine, by_provider: Mapping[str, Totals] | None = None
) -> list[ProviderVerdict]:
    """Every provider that is failing or where some calls fail now, the failing first, each group in
    the order the switches list them; paused or not (a pause calls nothing, so it changes no
    provider's health: "Providers OK" beside a provider known to fail would hide it). A CLI
    that says it is not logged in is not failing, as a provider with no key is not: the
    Providers page says it, and "No provider can answer" when nothing else answers
    (`no_provider`). Their counts of recent calls are the live figures' (`by_provider`, the
    caller's read of the window shown beside them, else one read here)."""
    breakers = engine.providers.breakers()
    found = [
        verdict
        for state in engine.providers.states()
        if engine.providers.is_enabled(state.id)
        and (verdict := provider_verdict(engine, state.id, state.display_name, breakers))
        and verdict.status not in SET_UP_WANTED
    ]
    if by_provider is None and any(verdict.counts_calls for verdict in found):
        # Read only while some verdict counts calls: the header and the tray ask every few s.
        by_provider = engine.metrics.series(TRAFFIC_WINDOW).by_provider
    if by_provider is not None:
        found = [verdict.counted(by_provider) for verdict in found]
    return sorted(found, key=lambda v: not v.failing)  # stable: switch order within a group


def answering_switches(engine: Engine) -> set[str]:
    """The switch ids of the providers the engine's one fact says answer now (what
    `GET /v1/models` lists)."""
    return {
        engine.providers.switch_of(gateway_id) or gateway_id
        for gateway_id, _models in engine.answering.now().by_provider
    }


def all_failing(engine: Engine, verdicts: Sequence[ProviderVerdict]) -> bool:
    """Every provider that can answer a call now is failing (`verdicts`, the engine's now):
    nothing gets through. False while nothing is known to answer (`no_provider` says that)."""
    answering = answering_switches(engine)
    failing = {verdict.provider for verdict in verdicts if verdict.failing}
    return bool(answering) and answering <= failing


def seconds_since_midnight(now: float | None = None) -> float:
    """Seconds from the last local midnight to `now` (the user's calendar day, as budgets)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment - midnight).total_seconds()


async def spend_today(engine: Engine, now: float | None = None) -> SpendToday:
    """What today has cost until now (one summing read on the read lane, never the loop): the
    requests started since local midnight that finished before now; those finishing later are
    the reader's to add (`SpendToday.plus`), as the live figures add them."""
    at = time.time() if now is None else now
    window = max(1.0, seconds_since_midnight(at))
    breakdown = await engine.recorder_query.costs("provider", window, now=at, finished_before=at)
    total = breakdown.total
    return SpendToday(total.cost_usd, total.requests, total.unpriced, at - window, at)
