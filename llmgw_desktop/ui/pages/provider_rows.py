"""The Providers page's rows: what the engine knows about each CLI and API provider, turned
into the words the page shows (status, why not, version, models, default model, upgrade plan).

Only public engine parts are read: the switches, discovery (installed, version, the
upgrade plan as a dry run), the gateway's provider directory, whose why-not logic, model lists
and stale references are the same as `GET /v1/providers`, and the window's one health verdict
(`attention.provider_verdict`: circuit, lasting trouble, recent calls), which the header, the
tray and Overview read too. The Providers page and Overview's health table both show these
rows, so they never disagree. A status that counts recent calls ("Ready, 5 recent failures",
"Some calls fail: 2 of 16 calls failed in 15 min") counts them as the live figures do, the
count Overview's health table shows beside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shlex
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from llmgw_desktop.engine.api import (
    HUNG_OUTCOME,
    LOCAL_CALLER,
    CliStatus,
    Engine,
    ErrorCode,
    TargetView,
    Totals,
)
from llmgw_desktop.ui.attention import (
    LOGGED_OUT,
    TRAFFIC_WINDOW,
    UNREACHABLE,
    VENDOR_UNAVAILABLE,
    ProviderVerdict,
    provider_verdict,
)
from llmgw_desktop.ui.kit.text import home_short

__all__ = [
    "CHECKING",
    "CLI_DEFAULT_MODEL",
    "ERROR",
    "NOT_FOUND",
    "SWITCHED_OFF",
    "TRAFFIC_WINDOW",
    "WARNING",
    "ProviderRow",
    "api_circuit_text",
    "cannot_answer",
    "circuit_open",
    "circuit_text",
    "load_provider_rows",
    "models_note",
    "ready_words",
    "stale_warnings",
    "status_line",
    "switchable",
    "unusable_reason",
    "unusable_words",
    "usable_row",
]

# The model choice that sends no model, so the CLI uses whatever it is set up to use.
CLI_DEFAULT_MODEL = "(the CLI's own default)"
CHECKING = "checking…"
SWITCHED_OFF = "Switched off"  # the status of a provider its switch turned off
NOT_FOUND = "not found on the CLI path or PATH"
# How loudly a row's status speaks: in the theme's error colour, in amber, or plainly.
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class ProviderRow:
    """One provider as the page shows it."""

    key: str  # "cli:codex" or "api:openai": CLI and API ids overlap ("mistral")
    gateway_id: str  # what a test asks for: "codex-cli", "openai"
    switch_id: str | None  # the engine's switch ("codex", "openai", "mistral-api")
    name: str
    kind: str  # "CLI", "API" or "Local server"
    status: str  # one or two words: Ready, Off, Not installed, No API key ...
    reason: str  # why it cannot serve now, and what would fix it ("" when it can)
    version: str
    models: tuple[str, ...]
    default_model: str
    plan: str  # the install or upgrade command (CLIs)
    notes: tuple[str, ...]
    where: str  # the executable or the base URL
    keys: str  # where its API keys come from (API providers)
    models_note: str = ""  # where the model list came from, and a failed read (API providers)
    # Of `models`, those the provider's own list (read) does not name, and where they come from
    # ("config.toml", "the built-in list"): never shown as listed by the provider.
    not_listed: tuple[str, ...] = ()
    models_from: str = ""
    # Config entries naming a model this provider does not list (none answered since), one line
    # each (`stale_references.py`).
    stale: tuple[str, ...] = ()
    attention: str = ""  # ERROR (failing, circuit open), WARNING (stale config) or ""
    # Its circuit in words: a CLI's breaker, an API provider's models' (`api_circuit_text`);
    # "—" where nothing was tried (closed would claim health).
    circuit: str = "—"
    installed: bool = True  # False: a CLI not found, so nothing can run whatever its switch
    # Calls that failed in the last 15 min of a provider ready all the same (its status says
    # them: `ready_words`); 0 for any other status.
    recent_failures: int = 0
    # The health verdict its status and reason say, when one does: a page showing the live
    # figures beside it says the verdict's count of recent calls from its own read of them
    # (`ProviderVerdict.counted`).
    verdict: ProviderVerdict | None = None

    @property
    def is_cli(self) -> bool:
        return self.kind == "CLI"


async def load_provider_rows(
    engine: Engine, cli_models: Mapping[str, tuple[str, ...]], *, versions: bool = True
) -> list[ProviderRow]:
    """Every CLI, then every API provider. `cli_models` holds the model listings made so far
    (listing may start a CLI, so the page lists one when it is selected).

    Without `versions`, CLIs are only located (instant) and their versions and upgrade plans
    read "checking…": checking runs each CLI, and some take seconds to print a version.
    """
    # The engine's CLIs and ACP agents: those `[providers.acp.NAME]` adds are rows too.
    catalog = engine.providers.catalog()
    if versions:
        statuses = await engine.providers.cli_statuses()
        plans = await asyncio.gather(
            *(engine.providers.upgrade_cli(LOCAL_CALLER, s.provider) for s in statuses)
        )
        plan_texts = [
            (_plan_text(s.installed, p.command, s.install_command), p.notes)
            for s, p in zip(statuses, plans, strict=True)
        ]
    else:
        found = await asyncio.gather(*(engine.providers.locate_cli(p.id) for p in catalog))
        statuses = [CliStatus(p.id, f is not None, f) for p, f in zip(catalog, found, strict=True)]
        plan_texts = [(CHECKING, [])] * len(statuses)
    breakers = engine.providers.breakers()
    rows: list[ProviderRow] = []
    for status, (plan, notes) in zip(statuses, plan_texts, strict=True):
        pid, info = status.provider, catalog.info(status.provider)
        bridge = catalog.bridge_of(pid)
        state, reason, attention = "Ready", "", ""
        verdict: ProviderVerdict | None = None
        why_not = await engine.providers.unavailable_reason(pid)
        breaker = breakers.get(pid, {})
        if not status.installed:
            state, reason = "Not installed", f"Install it with: {info.install_command}"
        elif status.error:
            state, reason = "Broken", f"Its version check failed: {status.error}"
            attention = ERROR
        elif why_not is not None and why_not.code != ErrorCode.GATEWAY_PAUSED:
            state, reason = SWITCHED_OFF, why_not.message
        elif (judged := provider_verdict(engine, pid, info.display_name, breakers)) is not None:
            # Paused or not: a pause calls nothing, so it leaves a failing provider failing.
            verdict = judged
            state, reason, attention = _verdict_words(verdict)
        elif why_not is not None:
            state, reason = "Paused", why_not.message
        version = status.version or (CHECKING if status.installed and not versions else "—")
        rows.append(
            ProviderRow(
                key=f"cli:{pid}",
                gateway_id=bridge.id,
                switch_id=pid,
                name=info.display_name,
                kind="CLI",
                status=state,
                reason=reason,
                version=version,
                models=cli_models.get(pid, bridge.models),
                default_model=_default_model(engine, bridge.id, cli=True),
                plan=plan,
                notes=tuple(notes),
                where=home_short(status.executable) if status.executable else NOT_FOUND,
                keys="",
                attention=attention,
                # A CLI that is not installed and never failed: "closed" would claim health.
                circuit=(
                    circuit_text(breaker)
                    if status.installed or breaker.get("state", "closed") != "closed"
                    else "—"
                ),
                installed=status.installed,
                verdict=verdict,
            )
        )
    resting = engine.providers.cooling()  # read once for every API row's circuit
    for entry in await engine.providers.listing():
        if entry["type"] == "cli":
            continue  # shown above, with more detail
        rows.append(_api_row(engine, entry, resting))
    served = engine.metrics.series(TRAFFIC_WINDOW).by_provider
    return [_with_recent_failures(_counted(row, served), served) for row in rows]


def _counted(row: ProviderRow, served: Mapping[str, Totals]) -> ProviderRow:
    """A row whose verdict counts recent calls, its reason counting them as the live figures
    `served` do: the count its Overview row shows beside it (`ProviderVerdict.counted`)."""
    if row.verdict is None:
        return row
    verdict = row.verdict.counted(served)
    if verdict is row.verdict:
        return row
    return dataclasses.replace(row, reason=verdict.why, verdict=verdict)


def _with_recent_failures(row: ProviderRow, served: Mapping[str, Totals]) -> ProviderRow:
    """A "Ready" row whose calls failed some in the live figures' window, saying how many
    (`ready_words`, in the warning tone), from the counts the Overview's health table, its
    Failing figure and the tray read: a failed-over call fails at a provider still ready, and
    a bare "Ready" beside the Overview's count of it read as "no failure here"."""
    totals = served.get(row.switch_id or "")
    if row.status != "Ready" or row.attention == ERROR or totals is None or not totals.errors:
        return row
    failed, asked = totals.errors, totals.asked
    reason = f"{failed:,} of {asked:,} calls failed in the last 15 min, too few to call it failing"
    return dataclasses.replace(
        row,
        status=ready_words(failed),
        reason=reason,
        attention=WARNING,
        recent_failures=failed,
    )


# Statuses of a provider that cannot answer a call now, whatever is asked.
UNUSABLE_STATUSES = frozenset(
    {
        "Not installed",
        "Broken",
        SWITCHED_OFF,
        "Paused",
        "No API key",
        "Off in config.toml",
        "Not running",
        "Detected, off",
        "Test failed",
        LOGGED_OUT,  # the CLI says so: its models are held back until it is logged in
        VENDOR_UNAVAILABLE,  # a pointed agent whose vendor's provider answers nothing
        UNREACHABLE,  # its host rested: its routes are passed over until the rest ends
    }
)


# Statuses no switch can change: the provider cannot answer whatever its switch says (no CLI,
# no key, no server). Lists show such a provider as unavailable, with why, not as a switch.
NOT_SWITCHABLE = frozenset(
    {
        "Not installed",
        "Broken",
        "No API key",
        "Off in config.toml",
        "Not running",
        "Detected, off",
    }
)


def switchable(row: ProviderRow) -> bool:
    """Whether the provider's switch decides if it answers (it has one, and nothing else in
    the way: installed, a key, a server running)."""
    return row.switch_id is not None and row.status not in NOT_SWITCHABLE


def cannot_answer(rows: Iterable[ProviderRow]) -> list[ProviderRow]:
    """The providers that cannot answer whatever their switch says (a CLI not installed, no
    key, no server): the one list the Providers page folds ("Show N more that cannot
    answer"), the Overview's health table folds and the first-run guide counts."""
    return [row for row in rows if not switchable(row)]


def usable_row(row: ProviderRow) -> bool:
    """Whether the provider could answer a call now (failing calls still count: they reach it)."""
    return row.status not in UNUSABLE_STATUSES


# A few words for why a provider cannot answer now, by its status (the Providers page puts
# them beside the greyed name; the status and its full reason stay in their own cells).
_UNUSABLE_WORDS = {
    "Not installed": "CLI not installed",
    "Broken": "CLI does not run",
    SWITCHED_OFF: "switched off",
    "Paused": "all paused",
    "No API key": "no key",
    "Off in config.toml": "off in config.toml",
    "Not running": "server not running",
    "Detected, off": "detected, not enabled",
    "Test failed": "last test failed",
    LOGGED_OUT: "not logged in",
    VENDOR_UNAVAILABLE: "its vendor answers nothing",
    UNREACHABLE: "unreachable for now",
}


def unusable_words(row: ProviderRow) -> str | None:
    """`no key`, `switched off`, `CLI not installed`, `last test failed`...: why the provider
    cannot answer a call now, in a few words; None when it can (`usable_row`)."""
    if usable_row(row):
        return None
    return _UNUSABLE_WORDS.get(row.status, row.status.lower())


def status_line(status: str, reason: str) -> str:
    """`Not logged in: run ...`: the status, then its reason, the status said once and as it
    is written ("Not logged in: not logged in: run ..." where the reason says it too)."""
    if not reason:
        return status
    if reason.lower().startswith(status.lower()):
        return status + reason[len(status) :]
    return f"{status}: {reason}"


def unusable_reason(row: ProviderRow) -> str:
    """`Not installed: Install it with: ...`: the status and what would fix it."""
    reason = row.reason or {
        SWITCHED_OFF: "its switch is off; switch it on in the list, the details or the tray",
        "No API key": "no API key; store one on the Provider keys page and Test it",
    }.get(row.status, "")
    # The engine's words are for an HTTP client too; a person at the desk has a page for it.
    reason = reason.replace("with POST /v1/credentials", "on the Provider keys page")
    reason = reason.replace(", or POST /v1/credentials)", ")")
    if reason.lower().startswith(row.status.lower()):
        return reason  # the reason says the status already ("no API key: set ...")
    return f"{row.status}: {reason}" if reason else row.status


def stale_warnings(engine: Engine) -> tuple[str, ...]:
    """Every config entry naming a model its provider does not list and no call for which has
    answered since, one line each."""
    return tuple(ref.describe() for ref in engine.providers.stale_references())


def models_note(entry: Mapping[str, object]) -> str:
    """Where a provider's models come from (its `/v1/providers` entry): `Read from the
    provider at 06:13, plus the built-in list`, and why its last read failed."""
    source, fetched, error = (
        entry.get("modelsSource"),
        entry.get("modelsFetchedAt"),
        entry.get("modelsError"),
    )
    when = (
        time.strftime("%Y-%m-%d %H:%M", time.localtime(fetched))
        if isinstance(fetched, int | float)
        else None
    )
    if source == "upstream" and when:
        note = f"Read from the provider at {when}"
        if entry.get("modelsNotListed"):  # said only where it adds a model the list lacks
            note += f", plus {entry.get('modelsFrom') or 'the built-in list'}"
    elif source == "server":
        # A local server, or a provider pointed at another server: its list is all it serves.
        note = f"Read from the server at {when}" if when else "Read from the server"
    else:
        note = "The built-in list"
    return f"{note}. The last read failed: {error}" if error else note


# What a circuit's state means for the calls, said first, the state after it: "closed (ok)"
# beside a red "Failing" read as a contradiction, and "closed" first read as "blocked" to a
# newcomer (review round 2), when closed only means the calls still go through.
CIRCUIT_WORDS = {
    "closed": "calls go through (closed)",
    "half_open": "one call tries (half open)",
}


def circuit_open(circuit: str) -> bool:
    """Whether a circuit said by `circuit_text` is open (its calls refused)."""
    return circuit.endswith("(open)")


def circuit_text(breaker: Mapping[str, object]) -> str:
    """A CLI's circuit breaker in words, saying what it does to the calls, with when an open
    one tries again."""
    state = str(breaker.get("state") or "closed")
    if state == "open":
        wait = breaker.get("retryAfterSeconds")
        # Short: the health table has room for the time, not a sentence (the reason says more).
        at = time.localtime(time.time() + (wait if isinstance(wait, int | float) else 0))
        return f"calls refused until {time.strftime('%H:%M:%S', at)} (open)"
    return CIRCUIT_WORDS.get(state, state)


def api_circuit_text(views: Sequence[TargetView], provider: str) -> str:
    """An API provider's circuit in words, from its models resting for everyone now (`views`:
    the engine's `providers.cooling()`, the longest rest first): the first of them, and how
    many; "—" where none does (its models' circuits are its routes' to show: one resting for
    some callers alone is theirs). A review found "—" here while the routes table above said
    "Circuit open (tried last) until 09:05:15" for the same provider."""
    resting = [view for view in views if view.provider == provider]
    if not resting:
        return "—"
    first = resting[0]
    who = first.model if len(resting) == 1 else f"{len(resting)} models"
    if first.state == HUNG_OUTCOME:
        return f"{who}: no answer to the gateway's probe (hung)"
    if first.state == "half_open":
        return f"{who}: {CIRCUIT_WORDS['half_open']}"
    at = time.localtime(time.time() + (first.cooling_s or 0.0))
    return f"{who} tried last until {time.strftime('%H:%M:%S', at)} ({first.state})"


def ready_words(failed: int) -> str:
    """`Ready, 5 recent failures`: a provider ready by the health verdict (too few failures to
    call it failing) whose calls in the window's figures still failed some (review 41-3,
    finding 4: a bare "Ready" beside "5 (5%)" failed read "all fine"); `Ready` without any."""
    if not failed:
        return "Ready"
    return f"Ready, {failed:,} recent failure{'s' if failed != 1 else ''}"


def _verdict_words(verdict: ProviderVerdict) -> tuple[str, str, str]:
    """A provider's status, reason and attention from the window's one health verdict."""
    return verdict.status, verdict.why, ERROR if verdict.failing else WARNING


def _api_row(
    engine: Engine, entry: dict[str, object], resting: Sequence[TargetView]
) -> ProviderRow:
    pid = str(entry["id"])
    spec = engine.providers.api_provider(pid)
    switch = engine.providers.switch_of(pid)
    local = entry["type"] == "local"
    switched_off = switch is not None and not engine.providers.is_enabled(switch)
    reason, attention = str(entry.get("reason") or ""), ""
    verdict = None
    # Paused, it says "Paused" only where the pause is all that stops it: a provider with no
    # key or no server is said as such (and folded), one failing still says so.
    paused = bool(entry.get("pausedOnly"))
    if entry["available"] or entry.get("heldBack") or paused:
        state = "Paused" if paused else "Ready"
        # Recorder rows name an API provider by its switch (`mistral-api`; Vibe is `mistral`).
        verdict = provider_verdict(engine, switch or pid, str(entry["name"]))
        if verdict is not None:
            state, reason, attention = _verdict_words(verdict)
    elif switched_off:
        state = SWITCHED_OFF
    elif local:
        state = "Detected, off" if entry.get("detected") else "Not running"
    elif spec is not None and not spec.enabled:
        state = "Off in config.toml"
    else:
        state = "No API key"
    stale = tuple(
        ref.describe() for ref in engine.providers.stale_references() if ref.provider == pid
    )
    models = entry.get("models")
    sources = entry.get("keySources")
    not_listed = entry.get("modelsNotListed")
    return ProviderRow(
        key=f"api:{pid}",
        gateway_id=pid,
        switch_id=switch,
        name=str(entry["name"]),
        kind="Local server" if local else "API",
        status=state,
        reason=reason,
        version="—",
        models=tuple(str(m) for m in models) if isinstance(models, list) else (),
        default_model=_default_model(engine, pid, cli=False),
        plan="",
        notes=(),
        where=str(entry.get("baseUrl") or ""),
        keys=", ".join(str(s) for s in sources) if isinstance(sources, list) and sources else "",
        models_note=models_note(entry),
        not_listed=tuple(str(m) for m in not_listed) if isinstance(not_listed, list) else (),
        models_from=str(entry.get("modelsFrom") or ""),
        circuit=api_circuit_text(resting, pid),
        stale=stale,
        attention=attention or (WARNING if stale else ""),
        verdict=verdict,
    )


def _default_model(engine: Engine, gateway_id: str, *, cli: bool) -> str:
    target = engine.providers.default_target()
    if target is not None and target.provider == gateway_id:
        return f"{target.model or CLI_DEFAULT_MODEL} (gateway.default_model)"
    if cli:
        return f"{CLI_DEFAULT_MODEL}: the gateway pins none"
    return "none: callers name the model"


def _plan_text(installed: bool, command: list[str], install_command: str) -> str:
    """The install or upgrade command a CLI row shows; an added ACP agent has no package, so
    the row says where the gateway looks for it instead."""
    if not command:
        return "Upgrade: as you installed it" if installed else f"Install: {install_command}"
    return f"{'Upgrade' if installed else 'Install'}: {shlex.join(command)}"
