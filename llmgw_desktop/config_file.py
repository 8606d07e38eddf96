"""Write single settings back to `config.toml`, keeping the user's comments and layout.

Only the UI's own choices (provider toggles, for now) are written; the rest of the file is the
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

__all__ = ["ConfigFileWriter"]


class ConfigFileWriter:
    """Edits one `config.toml` in place, one dotted key at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def update(self, key: str, value: Any) -> None:
        """Set `key` (dotted, such as `providers.disabled`) to `value`; blocking file I/O.

        Raises:
            OSError: the file cannot be read or written.
            tomlkit.exceptions.ParseError: the file stopped being valid TOML since start-up.
        """
        try:
            document = tomlkit.parse(self.path.read_text(encoding="utf-8"))
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
