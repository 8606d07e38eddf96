"""Every setting, declared once: key, type, default, environment variable and a one-line doc.

Values come from three layers, each overriding the one before: the declared default, the
`config.toml` file, then the environment. A bad value stops start-up with a `ConfigError`
naming the key and where the value came from; nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from llmgw_desktop.config import paths
from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.acp_agents import acp_names_clash
from llmgw_desktop.config.budgets import check_budget_tables
from llmgw_desktop.config.quiet_hours import check_quiet_hours
from llmgw_desktop.config.settings_cache import ResponseCacheSettings
from llmgw_desktop.config.settings_fields import section, setting
from llmgw_desktop.config.settings_gateway import GatewaySettings
from llmgw_desktop.config.settings_guard import GuardSettings
from llmgw_desktop.config.settings_http import HttpSettings, McpSettings
from llmgw_desktop.config.settings_jobs import (
    ApprovalSettings,
    CacheAwarenessSettings,
    JobsSettings,
    ProvidersSettings,
    RecorderSettings,
)
from llmgw_desktop.config.settings_observability import LogSettings, MetricsSettings, OtelSettings
from llmgw_desktop.config.settings_security import ProjectsSettings, WorkspacesSettings
from llmgw_desktop.config.text import NotUtf8, config_text

__all__ = [
    "FILE_KEY",
    "FILE_SUFFIX",
    "ConfigError",
    "LoadedSettings",
    "Settings",
    "SettingsRead",
    "declared_settings",
    "load_settings",
    "read_settings",
    "settings_past_refusals",
]

# Read by the parts that need them, never kept in settings (they are secrets, and a setting's
# value is printed by `config --show`): the vault's master key, or the file holding it.
SECRET_ENV_VARS = ("LLM_GATEWAY_MASTER_KEY", "LLM_GATEWAY_MASTER_KEY_FILE")
# A secret setting's variable with this ending names a file holding its value (a container's
# or systemd's secret, mounted as a file), as the PostgreSQL image reads `POSTGRES_PASSWORD_FILE`.
FILE_SUFFIX = "_FILE"
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
class PathsSettings:
    """Where the data and the logs live (`[paths]`)."""

    data_dir: str = setting(
        "",
        env="LLM_GATEWAY_DATA_DIR",
        doc="Where the database and instance files live (empty: the platform data dir).",
    )
    log_dir: str = setting(
        "",
        env="LLM_GATEWAY_LOG_DIR",
        doc="Where the rotating log files go (empty: the platform log dir).",
    )


@dataclass(frozen=True)
class StoreSettings:
    """The database: the SQLite file, or a PostgreSQL server (`[store]`)."""

    db_path: str = setting(
        "",
        env="LLM_GATEWAY_DB_PATH",
        doc="SQLite database file (empty: llmgw.db in the data dir).",
    )
    url: str = setting(
        "",
        env="LLM_GATEWAY_DB_URL",
        doc="PostgreSQL database for a team gateway, postgresql://user@host:port/db (empty: "
        "the SQLite file of store.db_path). Its password is never shown or logged.",
        check=checks.store_url,
    )
    password: str = setting(
        "",
        env="LLM_GATEWAY_DB_PASSWORD",
        doc="The PostgreSQL password, when store.url holds none: best from a file, "
        "LLM_GATEWAY_DB_PASSWORD_FILE (a container's secret). Never shown or logged.",
        secret=True,
    )
    budget_timezone: str = setting(
        "",
        env="LLM_GATEWAY_BUDGET_TIMEZONE",
        doc="The time zone whose days and months budgets count in, an IANA name such as "
        "Europe/Paris (empty: UTC on a PostgreSQL store, which gateways in several time zones "
        "may share, else this computer's local calendar). Every gateway on one store must "
        "count in the same zone.",
        check=checks.time_zone,
    )


@dataclass(frozen=True)
class UiSettings:
    """The desktop window (`[ui]`)."""

    start_hidden: bool = setting(
        False,
        env="LLM_GATEWAY_UI_START_HIDDEN",
        doc="Start in the tray without showing the window (ignored where there is no tray).",
    )
    quiet_hours: str = setting(
        "",
        env="LLM_GATEWAY_UI_QUIET_HOURS",
        doc="Local times with no system notifications, such as 22:00-07:00 (over midnight when "
        "the end comes first); empty: never quiet. The notification history keeps them all, "
        "and an approval still opens its dialog.",
        check=check_quiet_hours,
    )


@dataclass(frozen=True)
class Settings:
    """The effective settings, a tree that mirrors config.toml's tables: the attribute path is
    the key (`settings.http.oauth.enabled` is `http.oauth.enabled`).

    One section dataclass per table, declared by area in the `settings_*.py` modules;
    `declared_settings()` lists every setting with its dotted key.
    """

    http: HttpSettings = section(HttpSettings)
    mcp: McpSettings = section(McpSettings)
    jobs: JobsSettings = section(JobsSettings)
    providers: ProvidersSettings = section(ProvidersSettings)
    approval: ApprovalSettings = section(ApprovalSettings)
    cache_awareness: CacheAwarenessSettings = section(CacheAwarenessSettings)
    recorder: RecorderSettings = section(RecorderSettings)
    paths: PathsSettings = section(PathsSettings)
    store: StoreSettings = section(StoreSettings)
    log: LogSettings = section(LogSettings)
    ui: UiSettings = section(UiSettings)
    gateway: GatewaySettings = section(GatewaySettings)
    workspaces: WorkspacesSettings = section(WorkspacesSettings)
    projects: ProjectsSettings = section(ProjectsSettings)
    budgets: list[dict[str, Any]] = setting(
        [],
        env="LLM_GATEWAY_BUDGETS",
        doc="Spending limits: an array of tables [[budgets]] with scope (global, agent=<name> "
        "or project=<name>), unit (usd or tokens), period (daily or monthly, in the calendar "
        "of store.budget_timezone), soft and/or hard (a JSON array in the env).",
        check=check_budget_tables,
    )
    metrics: MetricsSettings = section(MetricsSettings)
    otel: OtelSettings = section(OtelSettings)
    cache: ResponseCacheSettings = section(ResponseCacheSettings)
    guard: GuardSettings = section(GuardSettings)

    # Derived paths: computed from the settings above, never stored.
    @property
    def data_path(self) -> Path:
        data_dir = self.paths.data_dir
        return Path(data_dir).expanduser() if data_dir else paths.default_data_dir()

    @property
    def log_path(self) -> Path:
        log_dir = self.paths.log_dir
        return Path(log_dir).expanduser() if log_dir else paths.default_log_dir()

    @property
    def database_file(self) -> Path:
        db_path = self.store.db_path
        return Path(db_path).expanduser() if db_path else self.data_path / "llmgw.db"

    def value(self, key: str) -> Any:
        """The value of the setting with this dotted key (`"http.oauth.enabled"`).

        Raises:
            KeyError: no setting has this key.
        """
        if key not in _keys():
            raise KeyError(key)
        node: Any = self
        for name in key.split("."):
            node = getattr(node, name)
        return node

    def with_values(self, changes: Mapping[str, Any]) -> Settings:
        """New settings with these settings (by dotted key) changed, the rest as they are.

        Raises:
            KeyError: a key that is no setting's.
        """
        for key in changes:
            if key not in _keys():
                raise KeyError(key)
        changed: Settings = _with_values(self, "", changes)
        return changed


def _with_values(node: Any, prefix: str, changes: Mapping[str, Any]) -> Any:
    """A copy of the section `node` (at `prefix`) with the `changes` inside it made."""
    updates: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        key = prefix + f.name
        if key in changes:
            updates[f.name] = changes[key]
        elif f.metadata.get("section") and any(k.startswith(key + ".") for k in changes):
            updates[f.name] = _with_values(getattr(node, f.name), key + ".", changes)
    return dataclasses.replace(node, **updates)


def _built(table: Any, values: Mapping[str, Any], prefix: str = "") -> Any:
    """A section (or the whole `Settings`) from values by dotted key; a missing one is its
    default."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(table):
        key = prefix + f.name
        if f.metadata.get("section"):
            kwargs[f.name] = _built(f.default_factory, values, key + ".")
        elif key in values:
            kwargs[f.name] = values[key]
    return table(**kwargs)


@dataclass(frozen=True)
class Declared:
    """One declared setting, as read from the `Settings` tree."""

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
    # Other names it is read from when `env` is not set (`settings_fields.setting`).
    older_env: tuple[str, ...] = ()


@functools.cache
def _hints(table: type) -> dict[str, Any]:
    # Once per table and process: the annotations are strings (`from __future__ import
    # annotations`), and evaluating them compiles each one; a start walks the tree twice.
    return get_type_hints(table)


def _declared(table: type, prefix: str) -> list[Declared]:
    hints = _hints(table)
    out = []
    for f in dataclasses.fields(table):
        key = prefix + f.name
        if f.metadata.get("section"):
            out.extend(_declared(hints[f.name], key + "."))
            continue
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
                key,
                base,
                default,
                f.metadata["env"],
                f.metadata["doc"],
                f.metadata["check"],
                f.metadata.get("secret", False),
                hints[f.name] == checks.WorkspaceEntries,
                hints[f.name] == list[dict[str, Any]],
                f.metadata.get("older_env", ()),
            )
        )
    return out


def declared_settings() -> list[Declared]:
    """Every declared setting, in declaration order (the tree's, depth first), by dotted key."""
    return _declared(Settings, "")


@functools.cache
def _keys() -> frozenset[str]:
    # Once per process: walking the declarations reads their type hints (about 0.2 ms), and
    # the Settings page asks `value` two or three times for each of 126 rows on every refresh.
    return frozenset(d.key for d in declared_settings())


@dataclass(frozen=True)
class LoadedSettings:
    """The settings together with where each value came from and which file was read."""

    settings: Settings
    sources: Mapping[str, str]
    config_file: Path
    unknown_env: tuple[str, ...] = ()
    # False for a session started without its settings file (it could not be used, and the
    # person chose to go on): nothing is written back to it.
    file_in_use: bool = True
    # The values refused and left at their defaults (`settings_past_refusals`): what a session
    # or command that went on past them must not take as the file's word.
    refused: tuple[ConfigError, ...] = ()


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _variable_of(decl: Declared, environ: Mapping[str, str]) -> str | None:
    """The environment variable `decl` is read from: its own, else the first of its older
    names that is set; None when none is.

    Raises:
        ConfigError: two of its names are set to different values (naming both).
    """
    names = [name for name in (decl.env, *decl.older_env) if name in environ]
    if len({environ[name].strip() for name in names}) > 1:
        shown = (
            " and ".join(names)
            if decl.secret
            else " and ".join(f"{name}={environ[name].strip()}" for name in names)
        )
        raise ConfigError(
            decl.key,
            "env " + ", env ".join(names),
            f"is set twice, differently ({shown}): both name this setting; "
            f"unset one (or give both the same value)",
        )
    return names[0] if names else None


def _from_env(decl: Declared, raw: str, source: str) -> Any:
    """An environment variable's text as `decl`'s type.

    Raises:
        ConfigError: the text is not of that type (the message says what was expected).
    """
    text = raw.strip()
    kind: Any = "table_list" if decl.type is list and decl.table_list else decl.type
    read = _ENV_READERS.get(kind)
    return text if read is None else read(decl, text, source)


def _secret_file(decl: Declared, environ: Mapping[str, str]) -> str:
    """The text of the file `decl`'s `_FILE` variable names, without its final line break.

    Raises:
        ConfigError: both variables are set, or the file cannot be read as UTF-8 text.
    """
    variable = decl.env + FILE_SUFFIX
    source = f"env {variable}"
    if decl.env in environ:
        raise ConfigError(
            decl.key, source, f"{decl.env} is set too: give the value or the file, not both"
        )
    path = Path(environ[variable]).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfigError(decl.key, source, f"cannot read the file {path}: {why}") from None
    return text.removesuffix("\n").removesuffix("\r")


def _env_bool(decl: Declared, text: str, source: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ConfigError(decl.key, source, f"{text!r} is not a boolean (use true or false)")


def _env_int(decl: Declared, text: str, source: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise ConfigError(decl.key, source, f"{text!r} is not a whole number") from None


def _env_tables(decl: Declared, text: str, source: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(decl.key, source, f"is not a JSON array: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(decl.key, source, "must be a JSON array of objects")
    return items


def _env_list(decl: Declared, text: str, source: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _env_pairs(decl: Declared, text: str, source: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(decl.key, source, f"{item!r} is not name=value")
        pairs[name.strip()] = value.strip()
    return pairs


def _env_object(decl: Declared, text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(decl.key, source, f"is not a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(decl.key, source, "must be a JSON object")
    return value


# How an environment variable's text is read, by the declared type ("table_list": a list of
# tables, given as a JSON array); a type not here is taken as text.
_ENV_READERS: dict[Any, Callable[[Declared, str, str], Any]] = {
    bool: _env_bool,
    int: _env_int,
    "table_list": _env_tables,
    list: _env_list,
    dict: _env_pairs,
    Mapping: _env_object,
}


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
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    read_file: bool = True,
) -> LoadedSettings:
    """Build the effective settings: defaults, then `config.toml`, then the environment;
    without `read_file`, defaults then the environment (the file is named, not read or
    written: a session on defaults while the file cannot be used).

    Raises:
        ConfigError: a value has the wrong type or is out of range, or the file has an unknown
            key; its `errors` lists every such problem, not only the first.
    """
    read = read_settings(config_file, environ, read_file=read_file)
    if read.problems:
        first = read.problems[0]
        first.errors = read.problems
        raise first
    return read.loaded


@dataclass(frozen=True)
class SettingsRead:
    """The settings as far as they are valid (`read_settings`), for a window that must say
    what the file holds while the gateway runs on what it started with."""

    # Each refused setting at its default (one refused across settings, as written): what
    # `problems` names is not to be used from here.
    loaded: LoadedSettings
    file_values: Mapping[str, Any]  # config.toml's values by dotted key, as written there
    problems: tuple[ConfigError, ...]  # every problem `load_settings` would raise, in order


def read_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    read_file: bool = True,
) -> SettingsRead:
    """`load_settings` without stopping at a bad value: every value checked by the same rules,
    each problem listed instead of raised.

    Raises:
        ConfigError: the file as a whole cannot be read (unreadable, not UTF-8, not TOML).
    """
    environ = os.environ if environ is None else environ
    if config_file is None:
        config_file = paths.config_file(environ)
    decls = declared_settings()
    by_key = {d.key: d for d in decls}
    file_values = read_config_file(config_file) if read_file else {}

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
            variable = _variable_of(decl, environ)
            if variable is not None:
                source = f"env {variable}"
                value = _from_env(decl, environ[variable], source)
            if decl.secret and decl.env + FILE_SUFFIX in environ:
                source = f"env {decl.env}{FILE_SUFFIX}"
                value = _from_env(decl, _secret_file(decl, environ), source)
            if decl.check is not None and (problem := decl.check(value)):
                raise ConfigError(decl.key, source, problem)
        except ConfigError as exc:
            errors.append(exc)
            value = decl.default  # so the checks across settings below still have a value
        values[decl.key] = value
        sources[decl.key] = source
    errors += _problems_across(values, sources)

    known_env = (
        {name for d in decls for name in (d.env, *d.older_env)}
        | {d.env + FILE_SUFFIX for d in decls if d.secret}
        | set(paths.PATH_ENV_VARS)
        | set(SECRET_ENV_VARS)
        | set(ENV_ONLY_OPT_INS)
    )
    unknown = tuple(
        sorted(
            name for name in environ if name.startswith("LLM_GATEWAY_") and name not in known_env
        )
    )
    settings: Settings = _built(Settings, values)
    loaded = LoadedSettings(settings, sources, config_file, unknown, file_in_use=read_file)
    return SettingsRead(loaded, file_values, tuple(errors))


def settings_past_refusals(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    read_file: bool = True,
) -> LoadedSettings:
    """The settings with every value that passed its check, each refused one at its default
    (one refused across settings too), listed in `refused`; nothing is written back to the file.

    Raises:
        ConfigError: the file as a whole cannot be read (unreadable, not UTF-8, not TOML).
    """
    read = read_settings(config_file, environ, read_file=read_file)
    loaded = read.loaded
    defaults = {d.key: d.default for d in declared_settings()}
    # A problem across settings leaves the values as written: set back here, so no refused
    # value is used. An unknown key names no setting: nothing to set back.
    back = {e.key: defaults[e.key] for e in read.problems if e.key in defaults}
    return dataclasses.replace(
        loaded,
        settings=loaded.settings.with_values(back),
        sources={**loaded.sources, **dict.fromkeys(back, "default")},
        file_in_use=False,
        refused=read.problems,
    )


def _problems_across(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[ConfigError]:
    """What is wrong between settings each valid alone (a provider switched off that no
    table names, a password in two places)."""
    errors: list[ConfigError] = []
    problem = checks.known_providers(
        values["providers.disabled"], values["gateway.providers"], values["providers.acp"]
    )
    if problem:
        errors.append(ConfigError("providers.disabled", sources["providers.disabled"], problem))
    problem = checks.known_clis(values["providers.unmetered_clis"], values["providers.acp"])
    if problem:
        errors.append(
            ConfigError("providers.unmetered_clis", sources["providers.unmetered_clis"], problem)
        )
    problem = acp_names_clash(values["providers.acp"], values["gateway.providers"])
    if problem:
        errors.append(ConfigError("providers.acp", sources["providers.acp"], problem))
    if values["store.password"] and checks.url_has_password(values["store.url"]):
        errors.append(
            ConfigError(
                "store.password",
                sources["store.password"],
                "store.url holds a password too: keep it in one place",
            )
        )
    return errors
