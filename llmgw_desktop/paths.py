"""Where the app keeps its files: the platform's config, data and log directories."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "PATH_ENV_VARS", "config_file", "default_data_dir", "default_log_dir"]

APP_NAME = "llmgw-desktop"
# Read before the settings exist (they say where the settings file is), so not settings.
CONFIG_ENV = "LLM_GATEWAY_CONFIG"
PATH_ENV_VARS = (CONFIG_ENV,)


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The `config.toml` to read: `LLM_GATEWAY_CONFIG` if set, else the platform config dir."""
    environ = os.environ if environ is None else environ
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable only by this user; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
