"""Which settings the Settings page may change, how it shows them, and what each is called.

Security settings (the bind address, authentication, OAuth, workspaces, approval) are shown but
changed only in config.toml: a click in the window must never open the gateway to the network.
A setting is listed by a label a person reads ("Max concurrent", "OAuth enabled") under its
group's heading ("Jobs"), its dotted key kept in the details and the tooltip, and its value in
words (`shown_value`: "on"/"off", a string without its quotes, "none" for an empty list or
text, a table's entries by name, figures with their thousands), never as raw TOML or JSON
("\"127.0.0.1\"", "[]", a cut JSON blob).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llmgw_desktop.config.settings import ConfigError, Declared
from llmgw_desktop.engine.api import LIVE_SETTINGS, redacted_url

__all__ = [
    "CHANGED_LIVE",
    "EDITABLE_KEYS",
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
    "written_value",
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
        "jobs.stuck_after_ms",
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
# Settings that say where the gateway keeps its files (its folders, its database).
FILE_PLACES = ("paths.", "store.db_path", "store.url", "cache.path")
SECURITY_PREFIXES = (
    "http.",
    "approval.",
    "workspaces.",
    "providers.isolate_env",
    "providers.pass_env",
)


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
    """Whether a setting saved here takes effect at once (by the engine or the window)."""
    return key in LIVE_SETTINGS or key in WINDOW_LIVE_KEYS


NONE = "none"  # an empty value: no list entries, no text


def shown_value(decl: Declared, value: Any) -> str:
    """A value as the page shows it, in words: secrets masked, `on`/`off`, text without its
    quotes, `none` for nothing, a list's items, a table's entries by name."""
    if decl.secret:
        return MASK if value else NONE
    if decl.key == "store.url" and isinstance(value, str):
        return redacted_url(value) or NONE
    if decl.key.endswith("port") and isinstance(value, int):
        return str(value)  # a port is a number, not an amount: no thousands' comma
    return _words(_masked(value))


def written_value(decl: Declared, value: Any) -> str:
    """A value as config.toml writes it, to say what the file holds where the setting refuses
    it: text in its quotes (`"lots"` where a number belongs, which `lots` would hide), the
    rest in words as `shown_value` says them, what it masks masked."""
    words = shown_value(decl, value)
    if isinstance(value, str) and words in (value, NONE):  # shown whole: nothing to hide
        return json.dumps(value, ensure_ascii=False)
    return words


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return f"{value:,}"
    if value is None:
        return "default"  # unset: the built-in choice (a folder, a file) applies
    if value == "" or value == [] or value == {}:
        return NONE
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        entries = "entry" if len(value) == 1 else "entries"
        return f"{len(value)} {entries}: " + ", ".join(str(key) for key in value)
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value)
    if isinstance(value, list):
        entries = "entry" if len(value) == 1 else "entries"
        return f"{len(value)} {entries}"  # tables (budgets, routes): each in config.toml
    return json.dumps(value, ensure_ascii=False)


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
    if decl.type not in (bool, int, str) and decl.key not in LIVE_SETTINGS:
        return "A list or table: edit it in config.toml, then restart."
    if decl.key not in EDITABLE_KEYS and decl.key not in LIVE_SETTINGS:
        if decl.key.startswith(FILE_PLACES):
            return "Where the gateway keeps its files: change it in config.toml, then restart."
        return "Read when the gateway starts: change it in config.toml, then restart."
    if source.startswith("env "):
        # Its own variable, or an older name it is read from (`http.port`'s LLM_GATEWAY_PORT).
        variable = source.removeprefix("env ")
        return f"Set by the environment variable {variable}, which overrides config.toml."
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
    "guard": "Secrets guard",
}
# Words that are acronyms, written as such.
_ACRONYMS = {
    "oauth": "OAuth",
    "pkce": "PKCE",
    "url": "URL",
    "urls": "URLs",
    "mcp": "MCP",
    "http": "HTTP",
    "api": "API",
    "acp": "ACP",
    "cli": "CLI",
    "ttl": "TTL",
    "tls": "TLS",
    "ca": "CA",
    "id": "ID",
    "ids": "IDs",
    "db": "DB",
    "sse": "SSE",
    "mb": "MB",
}
# Word endings that are units, said as units.
_UNITS = {"ms": "(ms)", "s": "(s)", "bytes": "(bytes)", "days": "(days)", "seconds": "(s)"}


def group_of(key: str) -> str:
    """The group a setting is listed under: `Jobs`, `Network and access`."""
    first = key.partition(".")[0]
    return GROUPS.get(first, first.replace("_", " ").capitalize())


def label_of(key: str) -> str:
    """A setting's name in its group: `Max concurrent per provider`, `Max body (bytes)`,
    `OAuth enabled` (a name's acronyms as they are written: not "Oauth")."""
    first, _, rest = key.partition(".")
    words = (rest or first).replace(".", " ").split("_")
    words = [word for part in words for word in part.split(" ")]
    if len(words) > 1 and words[-1] in _UNITS:
        words = [*words[:-1], _UNITS[words[-1]]]
    words = [_ACRONYMS.get(word, word) for word in words]
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
