"""Write single settings back to `config.toml`, keeping the user's comments and layout.

Only the UI's own choices are written (provider toggles, and the values changed on the
dashboard's Settings page after `checked_value` accepted them); the rest of the file is the
user's. Writes go to a temporary file that replaces the original, so a crash mid-write never
leaves a half-written config.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from llmgw_desktop.config.settings import ConfigError, declared_settings
from llmgw_desktop.config.text import config_text

__all__ = ["ConfigFileWriter", "checked_value"]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def checked_value(key: str, typed: str | bool, *, source: str = "the Settings page") -> Any:
    """The value for setting `key` from what a person typed (or ticked), once it has the
    setting's type and passes the setting's own check. Only single values (text, numbers,
    true/false) are read this way; lists and tables are edited in the file.

    Raises:
        ConfigError: unknown key, a list or table setting, a wrong type, or a failed check;
            the message names the key.
    """
    decl = next((d for d in declared_settings() if d.key == key), None)
    if decl is None:
        raise ConfigError(key, source, "is not a known setting")
    text = typed.strip() if isinstance(typed, str) else typed
    value: Any
    if decl.type is bool:
        if isinstance(text, bool):
            value = text
        elif text.lower() in _TRUE or text.lower() in _FALSE:
            value = text.lower() in _TRUE
        else:
            raise ConfigError(key, source, f"{text!r} is not true or false")
    elif isinstance(text, bool):
        raise ConfigError(key, source, f"expects {decl.type.__name__}, not true/false")
    elif decl.type is int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise ConfigError(key, source, f"{text!r} is not a whole number") from None
    elif decl.type is str:
        value = text
    else:
        raise ConfigError(key, source, "is a list or table: edit it in config.toml")
    if decl.check is not None and (problem := decl.check(value)):
        raise ConfigError(key, source, problem)
    return value


class ConfigFileWriter:
    """Edits one `config.toml` in place, one dotted key at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def update(self, key: str, value: Any) -> None:
        """Set `key` (dotted, such as `providers.disabled`) to `value`; blocking file I/O.

        Raises:
            OSError: the file cannot be read or written.
            tomlkit.exceptions.ParseError: the file stopped being valid TOML since start-up.
            NotUtf8: the file stopped being UTF-8 text since start-up.
        """
        try:
            document = tomlkit.parse(config_text(self.path.read_bytes()))
        except FileNotFoundError:
            document = tomlkit.document()
        *tables, leaf = key.split(".")
        container: Any = document
        for name in tables:
            if name not in container:
                container[name] = tomlkit.table()
            container = container[name]
            if not isinstance(container, Table | dict):
                raise ValueError(f"{name!r} in {self.path} is not a table")
        container[leaf] = value
        self._atomic_write(tomlkit.dumps(document))

    def _atomic_write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o600
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".config-", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).chmod(mode)
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
