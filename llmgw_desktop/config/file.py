"""Write single settings back to `config.toml`, keeping the user's comments and layout.

Only the UI's own choices are written (provider toggles, and the values changed on the
dashboard's Settings page after `checked_value` accepted them); the rest of the file is the
user's. Writes go to a temporary file beside it (`.config-XXXXXXXX.toml`) that replaces the
original, so a crash mid-write never leaves a half-written config. The writer holds a lock on
its temporary file until the rename, so the start after a kill can tell one a dead save left
(`clear_leftovers`, deleted) from one a live save is writing (left alone).

A file edited by hand since start into something that is not UTF-8 TOML is not written to:
the save is refused with its path, that it was left as it is, and where the parser stopped
(`ConfigNotWritten`).

tomlkit loads with the first write: a start reads `config.toml` with the standard library's
`tomllib` and may never write it.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.paths import try_lock
from llmgw_desktop.config.settings import ConfigError, declared_settings
from llmgw_desktop.config.text import AS_UTF8, NotUtf8, config_text

if TYPE_CHECKING:
    from tomlkit.items import Table

__all__ = ["ConfigFileWriter", "ConfigNotWritten", "checked_value"]

log = logging.getLogger(__name__)

_TEMPORARY_PREFIX = ".config-"
_TEMPORARY_SUFFIX = ".toml"
# A temporary file of a save as `tempfile.mkstemp` names it (eight of its letters): a file the
# person keeps beside the settings (`.config-old.toml`) is not one.
_TEMPORARY = re.compile(r"\.config-[a-z0-9_]{8}\.toml")
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


class ConfigNotWritten(OSError):
    """A change not written because the settings file cannot be read as TOML (it is not UTF-8
    text, or not TOML: edited by hand since start); the file was left as it is. An OSError, as
    a file that cannot be read is, so every caller of the writer (the Settings page, the OAuth
    switches, the provider editor) already says it in words rather than failing."""

    def __init__(self, path: Path, why: str, detail: str) -> None:
        super().__init__(
            f"{path} {why}, so the change was not written and the file was left as it is. {detail}"
        )


class ConfigFileWriter:
    """Edits one `config.toml` in place, keeping the comments and layout of what it leaves."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def update(self, key: str, value: Any) -> None:
        """Set `key` (dotted, such as `providers.disabled`) to `value`; blocking file I/O.

        Raises:
            OSError: the file cannot be read or written.
            ConfigNotWritten: the file stopped being UTF-8 TOML since start-up.
        """
        self.apply([(tuple(key.split(".")), value)])

    def apply(self, changes: Sequence[tuple[Sequence[str], Any]]) -> None:
        """Make every change in one rewrite: each sets the value at a path of table names
        (names may hold dots: `("gateway", "providers", "my.server")`), or with `None` removes
        it. A table written over a table is merged key by key, so the comments above, inside
        and after it stay where the person wrote them.

        Raises:
            OSError: the file cannot be read or written.
            ConfigNotWritten: the file stopped being UTF-8 TOML since start-up.
            ValueError: a path runs through a value that is not a table.
        """
        import tomlkit

        document = self._document()
        for path, value in changes:
            *tables, leaf = path
            container = self._container(document, tables, create=value is not None)
            if container is None:
                continue
            if value is None:
                container.pop(leaf, None)
            else:
                _merge(container, leaf, value, top=True)
        self._atomic_write(tomlkit.dumps(document))

    def _document(self) -> Any:
        """The file as tomlkit reads it, comments kept; an empty one where there is no file.

        Raises:
            OSError: the file cannot be read.
            ConfigNotWritten: it is not UTF-8 text, or not valid TOML.
        """
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            return tomlkit.parse(config_text(self.path.read_bytes()))
        except FileNotFoundError:
            return tomlkit.document()
        except NotUtf8 as exc:
            cure = f"It {exc.what}: {AS_UTF8}, then save the change again."
            raise ConfigNotWritten(self.path, "is not UTF-8 text", cure) from exc
        except ParseError as exc:
            # tomlkit ends its words with " at line 7 col 8": said first, as a person reads it.
            what = str(exc).removesuffix(f" at line {exc.line} col {exc.col}")
            where = f"Line {exc.line}, column {exc.col}: {what}."
            raise ConfigNotWritten(self.path, "is not valid TOML", where) from exc

    def _container(self, document: Any, tables: Sequence[str], *, create: bool) -> Any:
        import tomlkit
        from tomlkit.items import InlineTable, Table

        container: Any = document
        for name in tables:
            if name not in container:
                if not create:
                    return None
                container[name] = tomlkit.table()
            container = container[name]
            if not isinstance(container, Table | InlineTable | dict):
                raise ValueError(f"{name!r} in {self.path} is not a table")
        return container

    def _atomic_write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o600
        try:
            self._write_and_rename(text, mode)
        except FileNotFoundError:
            # Another start cleared the temporary file in the moment before it was locked
            # (`clear_leftovers`): written again, once.
            self._write_and_rename(text, mode)

    def _write_and_rename(self, text: str, mode: int) -> None:
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=_TEMPORARY_PREFIX, suffix=_TEMPORARY_SUFFIX
        )
        # Locked and open until the rename, the file is this live save's, not a leftover
        # (POSIX; Windows renames no open file, and deletes none either).
        held = os.name == "posix" and try_lock(fd)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", closefd=not held) as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).chmod(mode)
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            if held:
                os.close(fd)

    def clear_leftovers(self) -> list[Path]:
        """Delete the temporary files that saves killed midway left beside the settings file
        (a save's file no process holds locked); the ones deleted. The settings file itself is
        the last whole save. Blocking (a directory listing); never raises.
        """
        cleared: list[Path] = []
        try:
            found = [p for p in self.path.parent.iterdir() if _TEMPORARY.fullmatch(p.name)]
        except OSError:
            return cleared
        for path in found:
            if _clear_if_abandoned(path):
                cleared.append(path)
        if cleared:
            log.info(
                "removed %d temporary file(s) of settings saves cut short (the process was "
                "stopped mid-save) beside %s: %s",
                len(cleared),
                self.path,
                ", ".join(p.name for p in cleared),
            )
        return cleared


def _clear_if_abandoned(path: Path) -> bool:
    """Delete `path`, a save's temporary file, unless a live save holds it; whether it was."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:  # gone already (renamed by its save), or not ours to open
        return False
    try:
        if not try_lock(fd):
            return False  # a save is writing it now
        if os.fstat(fd).st_ino != path.stat().st_ino:
            return False  # renamed meanwhile, and another file took the name
        path.unlink()
        return True
    except OSError:  # renamed by its save meanwhile; or (Windows) still open there
        return False
    finally:
        os.close(fd)


def _merge(container: Any, name: str, value: Any, *, top: bool = False) -> None:
    """Set `container[name]` to `value`; a mapping over an existing table is changed key by
    key (what the new value lacks is removed), so the table's own comments survive."""
    import tomlkit
    from tomlkit.items import InlineTable, Table

    existing = container.get(name)
    if isinstance(value, Mapping) and isinstance(existing, Table | InlineTable):
        for gone in [k for k in existing if k not in value]:
            del existing[gone]
        for key, item in value.items():
            if existing.get(key) != item:
                _merge(existing, key, item)
        return
    if isinstance(value, Mapping):
        # A table inside a written table (a provider's headers, a route's pins) stays on
        # its key's line rather than becoming a header that splits the table's comments.
        table: Table | InlineTable = tomlkit.table() if top else tomlkit.inline_table()
        for key, item in value.items():
            _merge(table, key, item)
        if top:
            table.add(tomlkit.nl())
        value = table
    if existing is None and isinstance(container, Table):
        last = _last_key(container)
        if last is not None:
            # After the table's last value, not after the comments that close it: those
            # belong to what follows in the file.
            container.value._insert_after(last, name, tomlkit.item(value))
            return
    container[name] = value


def _last_key(table: Table) -> str | None:
    from tomlkit.items import Table

    last = None
    for key, item in table.value.body:
        if key is not None and not isinstance(item, Table):
            last = key.key
    return last
