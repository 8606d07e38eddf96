"""Every setting, declared once: key, type, default, environment variable and a one-line doc.

Values come from three layers, each overriding the one before: the declared default, the
`config.toml` file, then the environment. A bad value stops start-up with a `ConfigError`
naming the key and where the value came from; nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from llmgw_desktop.config import paths
from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.settings_budgets import BudgetSettings
from llmgw_desktop.config.settings_fields import setting
from llmgw_desktop.config.settings_gateway import GatewaySettings
from llmgw_desktop.config.settings_observability import ObservabilitySettings
from llmgw_desktop.config.settings_security import SecuritySettings
from llmgw_desktop.config.text import NotUtf8, config_text
from llmgw_desktop.config.upstream_mcp import check_servers

__all__ = [
    "FILE_KEY",
    "ConfigError",
    "LoadedSettings",
    "Settings",
    "declared_settings",
    "load_settings",
]

# Read by the parts that need them, never kept in settings (they are secrets, and a setting's
# value is printed by `config --show`): the vault's master key.
SECRET_ENV_VARS = ("LLM_GATEWAY_MASTER_KEY",)
# Opt-ins that must come from the environment of the process itself, never from a file
# someone else may be able to edit.
ENV_ONLY_OPT_INS = ("LLM_GATEWAY_OAUTH_ALLOW_OPEN_REGISTRATION", "LLM_GATEWAY_WORKSPACE_ADMIN")


# The key of a ConfigError about the settings file as a whole rather than one setting.
FILE_KEY = "(file)"


class ConfigError(Exception):
    """A setting has a bad value; the message names the key and its source.

    `load_settings` checks every setting before it raises: `errors` holds each problem found
    (this one first), so a user fixes them all in one go rather than one per start.
    """

    def __init__(self, key: str, source: str, problem: str) -> None:
        self.key = key
        self.source = source
        self.problem = problem
        self.errors: tuple[ConfigError, ...] = (self,)
        super().__init__(f"{key}: {problem} (from {source})")


@dataclass(frozen=True)
class _CoreSettings:
    """The front door, jobs, providers, approval, recorder, paths, logging and the UI."""

    http_host: str = setting(
        "http.host",
        "127.0.0.1",
        env="LLM_GATEWAY_HTTP_HOST",
        doc="Address the HTTP front door binds to; anything but loopback needs authentication.",
        check=checks.bind_host,
    )
    http_port: int = setting(
        "http.port",
        3333,
        env="LLM_GATEWAY_HTTP_PORT",
        doc="TCP port of the HTTP front door (MCP, gateway APIs, /health); 0 picks a free one.",
        check=checks.port,
    )
    http_path: str = setting(
        "http.path",
        "/mcp",
        env="LLM_GATEWAY_HTTP_PATH",
        doc="URL path of the MCP Streamable HTTP endpoint.",
        check=checks.url_path,
    )
    mcp_stateless: bool = setting(
        "mcp.stateless",
        False,
        env="LLM_GATEWAY_MCP_STATELESS",
        doc="Serve 2025-era MCP over HTTP without sessions, so any gateway process behind a "
        "load balancer answers any request (no server-to-client event stream). Off, a session "
        "lives in the process that opened it: balance sticky on the Mcp-Session-Id header.",
    )
    mcp_max_sessions: int = setting(
        "mcp.max_sessions",
        2_000,
        env="LLM_GATEWAY_MCP_MAX_SESSIONS",
        doc="MCP sessions open at once in this process (each holds about 48 KiB until it is "
        "closed or idle for mcp.session_idle_timeout_s); a new one beyond gets 429.",
        check=checks.positive,
    )
    mcp_max_sessions_per_principal: int = setting(
        "mcp.max_sessions_per_principal",
        32,
        env="LLM_GATEWAY_MCP_MAX_SESSIONS_PER_PRINCIPAL",
        doc="MCP sessions one remote principal may have open at once (the local user is held "
        "to mcp.max_sessions only); a new one beyond gets 429 until it closes one or one "
        "expires.",
        check=checks.positive,
    )
    mcp_session_idle_timeout_s: int = setting(
        "mcp.session_idle_timeout_s",
        1800,
        env="LLM_GATEWAY_MCP_SESSION_IDLE_TIMEOUT_S",
        doc="An MCP session with no request in flight for this long is closed.",
        check=checks.positive,
    )
    mcp_servers: dict[str, Any] = setting(
        "mcp.servers",
        {},
        env="LLM_GATEWAY_MCP_SERVERS",
        doc="Your own MCP servers, offered on /mcp as NAME__tool: [mcp.servers.NAME] with "
        "command/args/env/cwd (stdio) or url/headers (Streamable HTTP), and remote, allow, "
        "deny, approval (a JSON object in the env).",
        check=check_servers,
    )
    mcp_record_arguments: bool = setting(
        "mcp.record_arguments",
        False,
        env="LLM_GATEWAY_MCP_RECORD_ARGUMENTS",
        doc="Keep the (redacted, shortened) arguments and result of each relayed MCP tool call "
        "in its recorder row; off, a row keeps only their sizes.",
    )
    http_max_body_bytes: int = setting(
        "http.max_body_bytes",
        16 * 1024 * 1024,
        env="LLM_GATEWAY_HTTP_MAX_BODY_BYTES",
        doc="Largest request body accepted; larger requests get 413.",
        check=checks.positive,
    )
    http_header_timeout_ms: int = setting(
        "http.header_timeout_ms",
        30_000,
        env="LLM_GATEWAY_HTTP_HEADER_TIMEOUT_MS",
        doc="Time a client has to send a request's headers (from connecting, or its first byte).",
        check=checks.positive,
    )
    http_body_timeout_ms: int = setting(
        "http.body_timeout_ms",
        300_000,
        env="LLM_GATEWAY_HTTP_BODY_TIMEOUT_MS",
        doc="Time a client has to send a request's body; answers may stream for longer.",
        check=checks.positive,
    )
    http_max_connections_per_address: int = setting(
        "http.max_connections_per_address",
        256,
        env="LLM_GATEWAY_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        doc="Connections one client address may hold open at once (trusted proxies exempt).",
        check=checks.positive,
    )
    http_allowed_origins: list[str] = setting(
        "http.allowed_origins",
        [],
        env="LLM_GATEWAY_HTTP_ALLOWED_ORIGINS",
        doc="Extra browser origins allowed besides loopback ones (comma-separated in the env).",
        check=checks.origins,
    )
    sync_deadline_ms: int = setting(
        "jobs.sync_deadline_ms",
        45_000,
        env="SYNC_DEADLINE_MS",
        doc="How long a synchronous call waits before answering with a job id to poll.",
        check=checks.positive,
    )
    job_retention_days: int = setting(
        "jobs.retention_days",
        30,
        env="LLM_GATEWAY_JOB_RETENTION_DAYS",
        doc="Days finished jobs and their results are kept before pruning.",
        check=checks.positive,
    )
    dedup_window_ms: int = setting(
        "jobs.dedup_window_ms",
        3_600_000,
        env="LLM_GATEWAY_DEDUP_WINDOW_MS",
        doc="An identical call inside this window attaches to the existing job (0 disables).",
        check=checks.not_negative,
    )
    job_lease_ms: int = setting(
        "jobs.lease_ms",
        30_000,
        env="LLM_GATEWAY_JOB_LEASE_MS",
        doc=(
            "On a shared store, a gateway process that stops renewing its lease for this long "
            "is taken for dead: another marks its unfinished jobs interrupted."
        ),
        check=checks.lease_ms,
    )
    max_concurrent_jobs: int = setting(
        "jobs.max_concurrent",
        8,
        env="LLM_GATEWAY_MAX_CONCURRENT_JOBS",
        doc="Provider calls running at once, across all providers.",
        check=checks.positive,
    )
    max_concurrent_per_provider: int = setting(
        "jobs.max_concurrent_per_provider",
        4,
        env="LLM_GATEWAY_MAX_CONCURRENT_PER_PROVIDER",
        doc="Provider calls running at once for any one provider.",
        check=checks.positive,
    )
    stuck_after_ms: int = setting(
        "jobs.stuck_after_ms",
        120_000,
        env="LLM_GATEWAY_STUCK_AFTER_MS",
        doc=(
            "A running job with no output for this long is shown as stuck (Jobs, Overview, "
            "tray); providers.idle_timeout_ms is what stops it."
        ),
        check=checks.positive,
    )
    max_queued_jobs: int = setting(
        "jobs.max_queued",
        64,
        env="LLM_GATEWAY_MAX_QUEUED_JOBS",
        doc="Calls waiting for a slot; beyond this a call is refused as saturated.",
        check=checks.not_negative,
    )
    jobs_principal_share_percent: int = setting(
        "jobs.principal_share_percent",
        50,
        env="LLM_GATEWAY_JOBS_PRINCIPAL_SHARE_PERCENT",
        doc="The share one remote principal may hold of max_concurrent, of "
        "max_concurrent_per_provider (each at least one) and of the jobs running or queued "
        "(max_concurrent + max_queued): its further jobs wait for its own to end, or beyond "
        "its queue share are refused as saturated. The local user is not held to it; 100 "
        "turns it off.",
        check=checks.percent,
    )
    provider_timeout_ms: int = setting(
        "providers.timeout_ms",
        1_800_000,
        env="LLM_GATEWAY_PROVIDER_TIMEOUT_MS",
        doc="Longest one CLI run may take before it is stopped (a call can ask for less).",
        check=checks.positive,
    )
    idle_timeout_ms: int = setting(
        "providers.idle_timeout_ms",
        600_000,
        env="LLM_GATEWAY_IDLE_TIMEOUT_MS",
        doc="A CLI silent for this long is stopped (0: never).",
        check=checks.not_negative,
    )
    max_output_bytes: int = setting(
        "providers.max_output_bytes",
        32 * 1024 * 1024,
        env="LLM_GATEWAY_MAX_OUTPUT_BYTES",
        doc="A CLI printing more than this is stopped.",
        check=checks.positive,
    )
    kill_grace_ms: int = setting(
        "providers.kill_grace_ms",
        3000,
        env="LLM_GATEWAY_KILL_GRACE_MS",
        doc="After asking a CLI to stop, how long before its process group is killed.",
        check=checks.not_negative,
    )
    stop_grace_ms: int = setting(
        "providers.stop_grace_ms",
        300,
        env="LLM_GATEWAY_STOP_GRACE_MS",
        doc="When the gateway stops (or dies), how long its running CLIs get after SIGTERM "
        "before their process groups are killed; keeps a stop within about a second.",
        check=checks.not_negative,
    )
    isolate_env: bool = setting(
        "providers.isolate_env",
        False,
        env="LLM_GATEWAY_ISOLATE_ENV",
        doc="Do not pass *_BASE_URL-style variables from this environment to the CLIs.",
    )
    pass_env: dict[str, Any] = setting(
        "providers.pass_env",
        {},
        env="LLM_GATEWAY_PASS_ENV",
        doc="More of this environment for one CLI: provider id -> variable names (NAME or "
        "PREFIX_*), beyond its own family's; a JSON object in the env.",
        check=checks.pass_env,
    )
    cli_path: list[str] = setting(
        "providers.cli_path",
        [],
        env="LLM_GATEWAY_CLI_PATH",
        doc="Folders searched for the CLIs before PATH (comma-separated in the env).",
    )
    retry_attempts: int = setting(
        "providers.retry_attempts",
        3,
        env="LLM_GATEWAY_RETRY_ATTEMPTS",
        doc="Tries per call for transient failures (rate limits, overload), with backoff.",
        check=checks.positive,
    )
    retry_base_delay_ms: int = setting(
        "providers.retry_base_delay_ms",
        1000,
        env="LLM_GATEWAY_RETRY_BASE_DELAY_MS",
        doc="First backoff wait; it doubles on each retry.",
        check=checks.not_negative,
    )
    breaker_threshold: int = setting(
        "providers.breaker_threshold",
        5,
        env="LLM_GATEWAY_BREAKER_THRESHOLD",
        doc="Consecutive failures after which a provider is rested (circuit open).",
        check=checks.positive,
    )
    breaker_cooldown_ms: int = setting(
        "providers.breaker_cooldown_ms",
        60_000,
        env="LLM_GATEWAY_BREAKER_COOLDOWN_MS",
        doc="How long an open circuit rests a provider before one trial call.",
        check=checks.not_negative,
    )
    version_cache_ms: int = setting(
        "providers.version_cache_ms",
        300_000,
        env="LLM_GATEWAY_VERSION_CACHE_MS",
        doc="How long detected CLI versions are reused before checking again.",
        check=checks.not_negative,
    )
    allow_bypass: bool = setting(
        "approval.allow_bypass",
        False,
        env="LLM_GATEWAY_APPROVAL_ALLOW_BYPASS",
        doc="Let calls ask for bypassPermissions (full auto-approve); refused otherwise.",
    )
    approval_threshold: int = setting(
        "approval.threshold",
        60,
        env="LLM_GATEWAY_APPROVAL_THRESHOLD",
        doc="Risk score at which an mcp_managed call is denied (or put to the person at the desk).",
        check=checks.not_negative,
    )
    approval_ask_at_desk: bool = setting(
        "approval.ask_at_desk",
        True,
        env="LLM_GATEWAY_APPROVAL_ASK_AT_DESK",
        doc="With the desktop open, ask instead of denying a call over the threshold.",
    )
    approval_desk_timeout_ms: int = setting(
        "approval.desk_timeout_ms",
        120_000,
        env="LLM_GATEWAY_APPROVAL_DESK_TIMEOUT_MS",
        doc="How long a call waits for the person at the desk; no answer denies it.",
        check=checks.positive,
    )
    cache_warn_on_ttl_expiry: bool = setting(
        "cache_awareness.warn_on_ttl_expiry",
        False,
        env="LLM_GATEWAY_CACHE_WARN_ON_TTL_EXPIRY",
        doc="Warn on resumed Claude calls made within 30 s of the prompt cache expiring.",
    )
    anthropic_ttl_seconds: int = setting(
        "cache_awareness.anthropic_ttl_seconds",
        300,
        env="LLM_GATEWAY_ANTHROPIC_TTL_SECONDS",
        doc="Anthropic prompt-cache lifetime: 300 (default) or 3600 (the 1 h cache).",
        check=lambda v: None if v in (300, 3600) else f"{v} must be 300 or 3600",
    )
    recorder_retention_days: int = setting(
        "recorder.retention_days",
        30,
        env="LLM_GATEWAY_RECORDER_RETENTION_DAYS",
        doc="Days the flight recorder keeps request records.",
        check=checks.positive,
    )
    recorder_max_rows: int = setting(
        "recorder.max_rows",
        200_000,
        env="LLM_GATEWAY_RECORDER_MAX_ROWS",
        doc="Most request records kept (200,000 by default), pruned in batches at start-up and "
        "hourly: each principal has a fair share, and the oldest rows of those over theirs go "
        "first.",
        check=checks.positive,
    )
    recorder_max_pending: int = setting(
        "recorder.max_pending",
        50_000,
        env="LLM_GATEWAY_RECORDER_MAX_PENDING",
        doc="Most request records held in memory while the store cannot take them (they go to "
        "a spill file in the data dir first; only past this, with that file unwritable too, "
        "are any dropped, and counted in /health).",
        check=checks.positive,
    )
    capture_providers: list[str] = setting(
        "recorder.capture.providers",
        [],
        env="LLM_GATEWAY_RECORDER_CAPTURE_PROVIDERS",
        doc="Keep the (redacted, size-capped) request and response bodies of gateway requests "
        'answered by these providers (`anthropic`, `codex` ...; "*": every provider). Empty, '
        "with the two lists below empty too: no body is kept (the default). Applied live.",
    )
    capture_agents: list[str] = setting(
        "recorder.capture.agents",
        [],
        env="LLM_GATEWAY_RECORDER_CAPTURE_AGENTS",
        doc="Keep the bodies of requests from these agents (the recorder's caller, e.g. "
        '`claude-code`; a name matches the caller it starts; "*": every agent). Applied live.',
    )
    capture_projects: list[str] = setting(
        "recorder.capture.projects",
        [],
        env="LLM_GATEWAY_RECORDER_CAPTURE_PROJECTS",
        doc='Keep the bodies of requests in these projects ("*": every project). Applied live.',
    )
    capture_retention_hours: int = setting(
        "recorder.capture.retention_hours",
        24,
        env="LLM_GATEWAY_RECORDER_CAPTURE_RETENTION_HOURS",
        doc="Hours a kept body stays before the recorder's prune deletes it. Applied live.",
        check=checks.positive,
    )
    capture_max_body_bytes: int = setting(
        "recorder.capture.max_body_bytes",
        256 * 1024,
        env="LLM_GATEWAY_RECORDER_CAPTURE_MAX_BODY_BYTES",
        doc="Most characters kept of each body (request, response); a longer one is cut and "
        "marked as cut. Applied live.",
        check=checks.positive,
    )
    disabled_providers: list[str] = setting(
        "providers.disabled",
        [],
        env="LLM_GATEWAY_DISABLED_PROVIDERS",
        doc="Providers switched off: CLIs (`codex`), API providers and local servers (`openai`, "
        "`ollama`; `mistral-api` for Mistral's API). The tray and dashboard switches edit it.",
        # Checked after the loop: it may name a server a [gateway.providers] table adds.
    )
    data_dir: str = setting(
        "paths.data_dir",
        "",
        env="LLM_GATEWAY_DATA_DIR",
        doc="Where the database and instance files live (empty: the platform data dir).",
    )
    log_dir: str = setting(
        "paths.log_dir",
        "",
        env="LLM_GATEWAY_LOG_DIR",
        doc="Where the rotating log files go (empty: the platform log dir).",
    )
    db_path: str = setting(
        "store.db_path",
        "",
        env="LLM_GATEWAY_DB_PATH",
        doc="SQLite database file (empty: llmgw.db in the data dir).",
    )
    store_url: str = setting(
        "store.url",
        "",
        env="LLM_GATEWAY_DB_URL",
        doc="PostgreSQL database for a team gateway, postgresql://user@host:port/db (empty: "
        "the SQLite file of store.db_path). Its password is never shown or logged.",
        check=checks.store_url,
    )
    log_level: str = setting(
        "log.level",
        "INFO",
        env="LLM_GATEWAY_LOG_LEVEL",
        doc="Lowest level written to the log file: DEBUG, INFO, WARNING or ERROR.",
        check=checks.log_level,
    )
    log_max_bytes: int = setting(
        "log.max_bytes",
        5 * 1024 * 1024,
        env="LLM_GATEWAY_LOG_MAX_BYTES",
        doc="Size at which the log file rotates.",
        check=checks.positive,
    )
    log_backups: int = setting(
        "log.backups",
        5,
        env="LLM_GATEWAY_LOG_BACKUPS",
        doc="How many rotated log files are kept.",
        check=checks.not_negative,
    )
    ui_start_hidden: bool = setting(
        "ui.start_hidden",
        False,
        env="LLM_GATEWAY_UI_START_HIDDEN",
        doc="Start in the tray without showing the window (ignored where there is no tray).",
    )


@dataclass(frozen=True)
class Settings(
    ObservabilitySettings, BudgetSettings, SecuritySettings, GatewaySettings, _CoreSettings
):
    """The effective settings; attribute names are the keys with dots turned to underscores.

    Declared in parts, one per area, each a base class; `declared_settings()` lists them all.
    """

    # Derived paths: computed from the settings above, never stored.
    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser() if self.data_dir else paths.default_data_dir()

    @property
    def log_path(self) -> Path:
        return Path(self.log_dir).expanduser() if self.log_dir else paths.default_log_dir()

    @property
    def database_file(self) -> Path:
        return Path(self.db_path).expanduser() if self.db_path else self.data_path / "llmgw.db"


@dataclass(frozen=True)
class Declared:
    """One declared setting, as read from the `Settings` dataclass."""

    attr: str
    key: str
    type: type
    default: Any
    env: str
    doc: str
    check: Callable[[Any], str | None] | None
    secret: bool = False
    # A table whose values are strings or, for some names, tables (`workspaces.registry`).
    entry_tables: bool = False
    # A list whose items are tables (`[[budgets]]`), not strings.
    table_list: bool = False


def declared_settings() -> list[Declared]:
    """Every declared setting, in declaration order."""
    hints = get_type_hints(Settings)
    out = []
    for f in dataclasses.fields(Settings):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        base = {
            list[str]: list,
            list[dict[str, Any]]: list,
            dict[str, str]: dict,
            checks.WorkspaceEntries: dict,
            dict[str, Any]: Mapping,
        }.get(hints[f.name], hints[f.name])
        out.append(
            Declared(
                f.name,
                f.metadata["key"],
                base,
                default,
                f.metadata["env"],
                f.metadata["doc"],
                f.metadata["check"],
                f.metadata.get("secret", False),
                hints[f.name] == checks.WorkspaceEntries,
                hints[f.name] == list[dict[str, Any]],
            )
        )
    return out


@dataclass(frozen=True)
class LoadedSettings:
    """The settings together with where each value came from and which file was read."""

    settings: Settings
    sources: Mapping[str, str]
    config_file: Path
    unknown_env: tuple[str, ...] = ()


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _from_env(decl: Declared, raw: str, source: str) -> Any:
    text = raw.strip()
    if decl.type is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(decl.key, source, f"{raw!r} is not a boolean (use true or false)")
    if decl.type is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise ConfigError(decl.key, source, f"{raw!r} is not a whole number") from None
    if decl.type is list and decl.table_list:
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(decl.key, source, f"is not a JSON array: {exc}") from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ConfigError(decl.key, source, "must be a JSON array of objects")
        return items
    if decl.type is list:
        return [item.strip() for item in text.split(",") if item.strip()]
    if decl.type is dict:
        pairs = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(decl.key, source, f"{item!r} is not name=value")
            pairs[name.strip()] = value.strip()
        return pairs
    if decl.type is Mapping:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(decl.key, source, f"is not a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ConfigError(decl.key, source, "must be a JSON object")
        return value
    return text


def _from_file(decl: Declared, value: Any, source: str) -> Any:
    # TOML is typed already; bool is an int subclass in Python, so check it first.
    if decl.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(decl.key, source, f"{value!r} is not a whole number")
    if decl.type is bool and not isinstance(value, bool):
        raise ConfigError(decl.key, source, f"{value!r} is not a boolean (true or false)")
    if decl.type is str and not isinstance(value, str):
        raise ConfigError(decl.key, source, f"{value!r} is not a string")
    if decl.type is list and decl.table_list:
        if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            raise ConfigError(decl.key, source, f"{value!r} is not an array of tables")
    elif decl.type is list and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise ConfigError(decl.key, source, f"{value!r} is not a list of strings")
    if decl.type is dict and not (
        isinstance(value, dict)
        and all(
            isinstance(v, str) or (decl.entry_tables and isinstance(v, dict))
            for v in value.values()
        )
    ):
        raise ConfigError(decl.key, source, f"{value!r} is not a table of strings")
    if decl.type is Mapping and not isinstance(value, dict):
        raise ConfigError(decl.key, source, "is not a table")
    return value


def _flatten(
    table: Mapping[str, Any], prefix: str = "", keep: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Dotted keys for nested tables, except tables that are themselves a setting's value."""
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key not in keep:
            flat.update(_flatten(value, key + ".", keep))
        else:
            flat[key] = value
    return flat


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse `config.toml` into flat dotted keys; a missing file is an empty config.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 text, or is not valid TOML.
    """
    try:
        text = config_text(path.read_bytes())
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(FILE_KEY, str(path), f"cannot be read: {exc.strerror}") from None
    except NotUtf8 as exc:
        raise ConfigError(FILE_KEY, str(path), str(exc)) from None
    try:
        tables = frozenset(d.key for d in declared_settings() if d.type in (dict, Mapping))
        return _flatten(tomllib.loads(text), keep=tables)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(FILE_KEY, str(path), f"is not valid TOML: {exc}") from None


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> LoadedSettings:
    """Build the effective settings: defaults, then `config.toml`, then the environment.

    Raises:
        ConfigError: a value has the wrong type or is out of range, or the file has an unknown
            key; its `errors` lists every such problem, not only the first.
    """
    environ = os.environ if environ is None else environ
    if config_file is None:
        config_file = paths.config_file(environ)
    decls = declared_settings()
    by_key = {d.key: d for d in decls}
    file_values = read_config_file(config_file)

    errors: list[ConfigError] = []
    for key in file_values:
        if key not in by_key:
            close = difflib.get_close_matches(key, by_key, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(ConfigError(key, str(config_file), f"is not a known setting{hint}"))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for decl in decls:
        value, source = decl.default, "default"
        try:
            if decl.key in file_values:
                source = f"file {config_file}"
                value = _from_file(decl, file_values[decl.key], source)
            if decl.env in environ:
                source = f"env {decl.env}"
                value = _from_env(decl, environ[decl.env], source)
            if decl.check is not None and (problem := decl.check(value)):
                raise ConfigError(decl.key, source, problem)
        except ConfigError as exc:
            errors.append(exc)
            value = decl.default  # so the checks across settings below still have a value
        values[decl.attr] = value
        sources[decl.key] = source
    problem = checks.known_providers(values["disabled_providers"], values["gateway_providers"])
    if problem:
        errors.append(ConfigError("providers.disabled", sources["providers.disabled"], problem))
    if errors:
        errors[0].errors = tuple(errors)
        raise errors[0]

    known_env = (
        {d.env for d in decls}
        | set(paths.PATH_ENV_VARS)
        | set(SECRET_ENV_VARS)
        | set(ENV_ONLY_OPT_INS)
    )
    unknown = tuple(
        sorted(
            name for name in environ if name.startswith("LLM_GATEWAY_") and name not in known_env
        )
    )
    return LoadedSettings(Settings(**values), sources, config_file, unknown)
