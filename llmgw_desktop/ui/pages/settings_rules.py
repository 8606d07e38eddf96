"""Which settings the Settings page may change, how it shows them, and what each is called.

Security settings (the bind address, authentication, OAuth, workspaces, approval) are shown but
changed only in config.toml: a click in the window must never open the gateway to the network.
A setting is listed by a label a person reads ("Max concurrent") under its group's heading
("Jobs"), its dotted key kept in the details and the tooltip.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from llmgw_desktop.config.settings import ConfigError, Declared
from llmgw_desktop.engine.api import CAPTURE_KEYS, redacted_url

__all__ = [
    "CHANGED_LIVE",
    "EDITABLE_KEYS",
    "ENGINE_LIVE_KEYS",
    "LIVE_KEYS",
    "MASK",
    "WINDOW_LIVE_KEYS",
    "group_of",
    "group_rows",
    "is_live",
    "label_of",
    "names_typed",
    "read_only_reason",
    "shown_value",
    "source_text",
]

MASK = "***"
# Keys inside table settings (API provider tables) whose values are credentials.
SECRET_FIELDS = frozenset({"api_key", "api_keys"})

# Settings that change how the gateway works but not who may reach it or what it may touch.
EDITABLE_KEYS = frozenset(
    {
        "jobs.sync_deadline_ms",
        "jobs.retention_days",
        "jobs.dedup_window_ms",
        "jobs.max_concurrent",
        "jobs.max_concurrent_per_provider",
        "jobs.max_queued",
        "providers.timeout_ms",
        "providers.idle_timeout_ms",
        "providers.max_output_bytes",
        "providers.kill_grace_ms",
        "providers.stop_grace_ms",
        "providers.retry_attempts",
        "providers.retry_base_delay_ms",
        "providers.breaker_threshold",
        "providers.breaker_cooldown_ms",
        "providers.version_cache_ms",
        "cache_awareness.warn_on_ttl_expiry",
        "cache_awareness.anthropic_ttl_seconds",
        "recorder.retention_days",
        "recorder.max_rows",
        "recorder.max_pending",
        "log.level",
        "log.max_bytes",
        "log.backups",
        "ui.start_hidden",
        "ui.quiet_hours",
        "gateway.default_model",
        "gateway.small_request_model",
        "gateway.small_request_max_tokens",
        "gateway.detect_local",
        "gateway.models_refresh_s",
        "gateway.connect_timeout_ms",
        "gateway.upstream_timeout_ms",
        "gateway.first_byte_timeout_ms",
    }
)
SECURITY_PREFIXES = (
    "http.",
    "approval.",
    "workspaces.",
    "providers.isolate_env",
    "providers.pass_env",
)


def _apply_log_level(value: Any) -> None:
    logging.getLogger().setLevel(str(value).upper())


# Settings the running gateway takes on when saved here; every other one waits for a restart.
LIVE_KEYS: dict[str, Callable[[Any], None]] = {"log.level": _apply_log_level}
# Settings the engine takes on when saved here (`recorder.capture.*`: the body capture policy).
ENGINE_LIVE_KEYS = frozenset(CAPTURE_KEYS)
# Settings the window takes on when saved here (through `saved`: the tray's quiet hours).
WINDOW_LIVE_KEYS = frozenset({"ui.quiet_hours"})
# Settings other parts of the window change while the gateway runs (the switches, the Budgets
# page, the Prices box): shown as config.toml holds them now, never as "restart needed".
CHANGED_LIVE = frozenset({"providers.disabled", "budgets", "gateway.prices"})


def names_typed(decl: Declared, typed: str | bool) -> list[str]:
    """A list of names typed comma-separated (the body capture lists), checked.

    Raises:
        ConfigError: the setting's own check refused it.
    """
    text = typed if isinstance(typed, str) else ""
    value = [part.strip() for part in text.split(",") if part.strip()]
    problem = decl.check(value) if decl.check is not None else None
    if problem is not None:
        raise ConfigError(decl.key, "the Settings page", problem)
    return value


def is_live(key: str) -> bool:
    return key in LIVE_KEYS or key in ENGINE_LIVE_KEYS or key in WINDOW_LIVE_KEYS


def shown_value(decl: Declared, value: Any) -> str:
    """A value as the page shows it: secrets masked, anything else as in config.toml."""
    if decl.secret:
        return MASK if value else ""
    if decl.key == "store.url" and isinstance(value, str):
        return json.dumps(redacted_url(value), ensure_ascii=False)
    return json.dumps(_masked(value), ensure_ascii=False)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS else _masked(v) for k, v in value.items()}
    return value


def read_only_reason(decl: Declared, source: str) -> str | None:
    """Why a setting cannot be changed on this page, or None when it can."""
    if decl.key.startswith(SECURITY_PREFIXES):
        return "A security setting: change it in config.toml, then restart."
    if decl.key == "providers.disabled":
        return "Switch providers on and off with their switches (tray or Overview)."
    if decl.key == "budgets":
        return "Set budgets on the Budgets page; they apply at once."
    if decl.key == "gateway.prices":
        return "Set prices in the Prices box below; they apply from the next request."
    if decl.type not in (bool, int, str) and decl.key not in ENGINE_LIVE_KEYS:
        return "A list or table: edit it in config.toml, then restart."
    if decl.key not in EDITABLE_KEYS and decl.key not in ENGINE_LIVE_KEYS:
        return "Where the gateway keeps its files: change it in config.toml, then restart."
    if source.startswith("env "):
        return f"Set by the environment variable {decl.env}, which overrides config.toml."
    return None


def source_text(source: str) -> str:
    """Where a value came from, short enough to keep its column at 1024 px: `config.toml`,
    `default`, `environment` (the variable in the tooltip and the details)."""
    if source.startswith("file "):
        return "config.toml"
    if source.startswith("env "):
        return "environment"
    return source


# A setting's group as a person reads it (its key's first part).
GROUPS = {
    "http": "Network and access",
    "jobs": "Jobs",
    "providers": "Providers",
    "gateway": "Gateway",
    "recorder": "Flight recorder",
    "cache_awareness": "Prompt cache",
    "log": "Log",
    "ui": "Window",
    "store": "Storage",
    "approval": "Approvals",
    "workspaces": "Workspaces",
    "budgets": "Budgets",
    "projects": "Projects",
    "upstream_mcp": "MCP servers",
    "vault": "Vault",
}
# Word endings that are units, said as units.
_UNITS = {"ms": "(ms)", "s": "(s)", "bytes": "(bytes)", "days": "(days)", "seconds": "(s)"}


def group_of(key: str) -> str:
    """The group a setting is listed under: `Jobs`, `Network and access`."""
    first = key.partition(".")[0]
    return GROUPS.get(first, first.replace("_", " ").capitalize())


def label_of(key: str) -> str:
    """A setting's name in its group: `Max concurrent per provider`, `Max body (bytes)`."""
    first, _, rest = key.partition(".")
    words = (rest or first).replace(".", " ").split("_")
    if len(words) > 1 and words[-1] in _UNITS:
        words = [*words[:-1], _UNITS[words[-1]]]
    name = " ".join(words)
    return name[:1].upper() + name[1:]


def group_rows(decls: Sequence[Declared]) -> dict[int, Declared | None]:
    """The Settings table's rows in order: None for a group's heading, then its settings (in
    the order they are declared, which keeps each group together)."""
    rows: dict[int, Declared | None] = {}
    group = None
    for decl in decls:
        if group_of(decl.key) != group:
            group = group_of(decl.key)
            rows[len(rows)] = None
        rows[len(rows)] = decl
    return rows
