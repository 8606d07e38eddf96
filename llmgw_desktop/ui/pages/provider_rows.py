"""The Providers page's rows: what the engine knows about each CLI and API provider, turned
into the words the page shows (status, why not, version, models, default model, upgrade plan).

Only public engine parts are read: the CLI switches, discovery (installed, version, the
upgrade plan as a dry run), circuit breakers, and the gateway's provider directory, whose
why-not logic, model lists and stale references are the same as `GET /v1/providers`.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass

from llmgw_desktop.engine.api import (
    CLI_BRIDGES,
    LOCAL_CALLER,
    PROVIDERS,
    CliStatus,
    Engine,
    ErrorCode,
    provider_info,
)

__all__ = [
    "CHECKING",
    "CLI_DEFAULT_MODEL",
    "NOT_FOUND",
    "ProviderRow",
    "load_provider_rows",
    "stale_warnings",
]

# The model choice that sends no model, so the CLI uses whatever it is set up to use.
CLI_DEFAULT_MODEL = "(the CLI's own default)"
CHECKING = "checking…"
NOT_FOUND = "not found on the CLI path or PATH"
_BRIDGE_OF = {b.engine_provider: b for b in CLI_BRIDGES}


@dataclass(frozen=True)
class ProviderRow:
    """One provider as the page shows it."""

    key: str  # "cli:codex" or "api:openai": CLI and API ids overlap ("mistral")
    gateway_id: str  # what a test asks for: "codex-cli", "openai"
    switch_id: str | None  # the engine's switch (CLIs); API providers are set in config.toml
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
    # Config entries naming a model this provider no longer lists, one line each.
    stale: tuple[str, ...] = ()

    @property
    def is_cli(self) -> bool:
        return self.switch_id is not None


async def load_provider_rows(
    engine: Engine, cli_models: Mapping[str, tuple[str, ...]], *, versions: bool = True
) -> list[ProviderRow]:
    """Every CLI, then every API provider. `cli_models` holds the model listings made so far
    (listing may start a CLI, so the page lists one when it is selected).

    Without `versions`, CLIs are only located (instant) and their versions and upgrade plans
    read "checking…": checking runs each CLI, and some take seconds to print a version.
    """
    if versions:
        statuses = await engine.providers.cli_statuses()
        plans = await asyncio.gather(
            *(engine.providers.upgrade_cli(LOCAL_CALLER, s.provider) for s in statuses)
        )
        plan_texts = [
            (f"{'Upgrade' if s.installed else 'Install'}: {shlex.join(p.command)}", p.notes)
            for s, p in zip(statuses, plans, strict=True)
        ]
    else:
        found = await asyncio.gather(*(engine.providers.locate_cli(p.id) for p in PROVIDERS))
        statuses = [
            CliStatus(p.id, f is not None, f) for p, f in zip(PROVIDERS, found, strict=True)
        ]
        plan_texts = [(CHECKING, [])] * len(statuses)
    breakers = engine.providers.breakers()
    rows: list[ProviderRow] = []
    for status, (plan, notes) in zip(statuses, plan_texts, strict=True):
        pid, info = status.provider, provider_info(status.provider)
        bridge = _BRIDGE_OF[pid]
        state, reason = "Ready", ""
        why_not = await engine.providers.unavailable_reason(pid)
        breaker = breakers.get(pid, {})
        if not status.installed:
            state, reason = "Not installed", f"Install it with: {info.install_command}"
        elif status.error:
            state, reason = "Broken", f"Its version check failed: {status.error}"
        elif why_not is not None:
            state = "Paused" if why_not.code == ErrorCode.GATEWAY_PAUSED else "Off"
            reason = why_not.message
        elif breaker.get("state") == "open":
            state = "Circuit open"
            reason = (
                f"{breaker.get('consecutiveFailures', 0)} failures in a row; calls are refused "
                f"for another {breaker.get('retryAfterSeconds', 0)} s"
            )
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
                where=status.executable or NOT_FOUND,
                keys="",
            )
        )
    for entry in await engine.providers.listing():
        if entry["type"] == "cli":
            continue  # shown above, with more detail
        rows.append(_api_row(engine, entry))
    return rows


def stale_warnings(engine: Engine) -> tuple[str, ...]:
    """Every config entry naming a model its provider no longer lists, one line each."""
    return tuple(ref.describe() for ref in engine.providers.stale_references())


def _models_note(entry: Mapping[str, object]) -> str:
    source, fetched, error = (
        entry.get("modelsSource"),
        entry.get("modelsFetchedAt"),
        entry.get("modelsError"),
    )
    if source == "upstream" and isinstance(fetched, int | float):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(fetched))
        note = f"Read from the provider at {when}, plus the built-in list"
    elif source == "server":
        note = "Read from the server"
    else:
        note = "The built-in list"
    return f"{note}. The last read failed: {error}" if error else note


def _api_row(engine: Engine, entry: dict[str, object]) -> ProviderRow:
    pid = str(entry["id"])
    spec = engine.providers.api_provider(pid)
    local = entry["type"] == "local"
    if entry["available"]:
        state = "Ready"
    elif local:
        state = "Detected, off" if entry.get("detected") else "Not running"
    elif spec is not None and not spec.enabled:
        state = "Off"
    else:
        state = "No API key"
    models = entry.get("models")
    sources = entry.get("keySources")
    return ProviderRow(
        key=f"api:{pid}",
        gateway_id=pid,
        switch_id=None,
        name=str(entry["name"]),
        kind="Local server" if local else "API",
        status=state,
        reason=str(entry.get("reason") or ""),
        version="—",
        models=tuple(str(m) for m in models) if isinstance(models, list) else (),
        default_model=_default_model(engine, pid, cli=False),
        plan="",
        notes=(),
        where=str(entry.get("baseUrl") or ""),
        keys=", ".join(str(s) for s in sources) if isinstance(sources, list) and sources else "",
        models_note=_models_note(entry),
        stale=tuple(
            ref.describe() for ref in engine.providers.stale_references() if ref.provider == pid
        ),
    )


def _default_model(engine: Engine, gateway_id: str, *, cli: bool) -> str:
    target = engine.providers.default_target()
    if target is not None and target.provider == gateway_id:
        return f"{target.model or CLI_DEFAULT_MODEL} (gateway.default_model)"
    if cli:
        return f"{CLI_DEFAULT_MODEL}: the gateway pins none"
    return "none: callers name the model"
