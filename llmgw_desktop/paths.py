"""Where the app keeps its files: the platform's config, data and log directories."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "PATH_ENV_VARS",
    "config_file",
    "default_data_dir",
    "default_log_dir",
    "ensure_private_dir",
    "write_problem",
]

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


def write_problem(path: Path) -> str | None:
    """Why this process cannot keep files in the directory `path` (made if missing), or None.

    It tries what the app will do there, create a file, rather than read mode bits: ACLs, a
    read-only mount or another owner all say no the same way, and the answer holds for root.
    """
    try:
        ensure_private_dir(path)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check-")
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
