"""How a setting is declared (`setting()`), and the checks behind them.

A check returns None when a value is fine, else a message meant to follow the setting's key
("http.port: 70000 is out of range ..."); `settings.load_settings` adds where the value came
from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.providers.catalog import PROVIDER_IDS

__all__ = [
    "LOG_LEVELS",
    "aliases",
    "known_providers",
    "log_level",
    "loopback_host",
    "not_negative",
    "origins",
    "port",
    "positive",
    "setting",
    "url_path",
    "workspace_paths",
]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def port(value: int) -> str | None:
    if 0 <= value <= 65535:
        return None
    return f"{value} is out of range; a port is 1 to 65535 (0 picks any free port)"


def positive(value: int) -> str | None:
    return None if value > 0 else f"{value} must be greater than 0"


def not_negative(value: int) -> str | None:
    return None if value >= 0 else f"{value} must be 0 or more"


def loopback_host(value: str) -> str | None:
    if value.lower() in LOOPBACK_NAMES:
        return None
    try:
        if ipaddress.ip_address(value).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"{value!r} is not a loopback address; the gateway only listens on this machine "
        "(use 127.0.0.1, ::1 or localhost)"
    )


def url_path(value: str) -> str | None:
    if not value.startswith("/") or value == "/" or any(c in value for c in "?# "):
        return f"{value!r} must be a path such as /mcp (starts with '/', no query or spaces)"
    return None


def log_level(value: str) -> str | None:
    return None if value.upper() in LOG_LEVELS else f"{value!r} must be one of {LOG_LEVELS}"


def known_providers(value: list[str]) -> str | None:
    unknown = [name for name in value if name not in PROVIDER_IDS]
    if unknown:
        return f"unknown provider(s) {unknown}; known: {', '.join(PROVIDER_IDS)}"
    return None


def origins(value: list[str]) -> str | None:
    bad = [o for o in value if not o.startswith(("http://", "https://")) or o.endswith("/")]
    if bad:
        return f"{bad} must be origins such as http://localhost:5173 (scheme and host, no path)"
    return None


def workspace_paths(value: dict[str, str]) -> str | None:
    for name, path in value.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            return f"workspace name {name!r} must be letters, digits, '.', '_' or '-'"
        if not Path(path).expanduser().is_absolute():
            return f"workspace {name!r} must be an absolute path, not {path!r}"
    return None


def aliases(value: dict[str, str]) -> str | None:
    for name, target in value.items():
        if not name or not target or any(c.isspace() for c in name + target):
            return f"alias {name!r} = {target!r} must map a name to a model id (no spaces)"
        if name == target:
            return f"alias {name!r} points at itself"
    return None


def setting(
    key: str,
    default: Any,
    *,
    env: str,
    doc: str,
    check: Callable[[Any], str | None] | None = None,
    secret: bool = False,
) -> Any:
    """Declare one setting as a dataclass field carrying its key, env var, doc and check.

    A `secret` setting's value is masked wherever settings are shown (`config --show`).
    """
    meta = {"key": key, "env": env, "doc": doc, "check": check, "secret": secret}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)
