"""The code `dataclasses` generates for each class, kept between starts.

Python's `dataclasses` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__` (and,
frozen, `__setattr__` and `__delattr__`) as source text and compiles it with `exec` when the
class is defined: half a millisecond for a frozen class of eight fields, and a gateway defines
over two hundred on its way to the first answer, a third of its main thread's start-up CPU
(docs/PERFORMANCE.md). The text is the same on every start, and so is what it compiles to. So,
as Python keeps a module's compiled code in a `.pyc` file, this keeps each text's compiled
code in a file: `dataclasses` is handed an `exec` that runs the kept code for a text seen
before and compiles (`compile(text, "<string>", "exec")`, what `exec` does with a text) any
other, and the file is rewritten once the gateway serves if anything was new. The classes are
the same either way; only the compiling is skipped.

The file holds code this process runs, so it is trusted as Python trusts its `__pycache__`: it
lives in this user's cache folder (made readable by this user alone), and it is read only when
this user owns it and neither it nor its folder can be written by anyone else (POSIX). A file
that is unreadable, damaged or from another Python is ignored and replaced. One file per
interpreter (`sys.implementation.cache_tag`, as `.pyc` names carry), holding at most
`MAX_ENTRIES` texts.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import logging
import marshal
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MAX_ENTRIES", "GeneratedCode", "cache_file"]

log = logging.getLogger(__name__)

# Texts kept: a start of the desktop app generates about 1,400; old texts (from an earlier
# version's classes) are dropped once there are more than this.
MAX_ENTRIES = 20_000
# Far larger than MAX_ENTRIES texts and their code make: a file this big is not read.
MAX_FILE_BYTES = 64 * 1024 * 1024
_FORMAT = 1


def cache_file(folder: Path) -> Path:
    """The file in `folder` for this interpreter's code."""
    return folder / f"dataclass-code-{sys.implementation.cache_tag}.marshal"


class GeneratedCode:
    """Compiled code by source text, read from and written to one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._kept: dict[str, bytes] = {}  # text -> marshalled code, from the file
        self._new: dict[str, bytes] = {}  # compiled by this process, not in the file yet
        self._lock = threading.Lock()  # classes may be defined on any thread
        self.hits = 0
        self.misses = 0

    def load(self) -> None:
        """Read the file, if it is there and safe to trust (see above); never raises."""
        try:
            kept = _read_trusted(self.path)
        except (OSError, ValueError, EOFError, TypeError) as exc:
            log.debug("not using %s: %s", self.path, exc)
            return
        if kept is not None:
            self._kept = kept

    def install(self) -> None:
        """Make `dataclasses` compile through this cache from now on (this process)."""
        dataclasses.exec = self.exec  # type: ignore[attr-defined]  # shadows the builtin

    def uninstall(self) -> None:
        """Give `dataclasses` the builtin `exec` back."""
        if getattr(dataclasses, "exec", None) == self.exec:
            del dataclasses.exec  # type: ignore[attr-defined]

    def exec(
        self,
        source: Any,
        globals: dict[str, Any] | None = None,  # exec's own parameter names
        locals: Mapping[str, Any] | None = None,
    ) -> None:
        """`exec`, with the compiled code of a text seen before taken from the cache."""
        if globals is None:  # as if `dataclasses` itself had called `exec`
            globals = vars(dataclasses)
        if not isinstance(source, str):
            builtins.exec(source, globals, locals)  # noqa: S102 - dataclasses' own exec
            return
        blob = self._kept.get(source) or self._new.get(source)
        if blob is not None:
            self.hits += 1
            code = marshal.loads(blob)  # noqa: S302 - from a file only this user can write
        else:
            self.misses += 1
            code = compile(source, "<string>", "exec", dont_inherit=True)
            with self._lock:
                self._new[source] = marshal.dumps(code)
        builtins.exec(code, globals, locals)  # noqa: S102 - the code of dataclasses' own text

    @property
    def dirty(self) -> bool:
        """Whether this process compiled texts the file does not hold yet."""
        return bool(self._new)

    def save(self) -> bool:
        """Write the file with what this process compiled (blocks: about a megabyte); whether
        it was written. A failure is logged: it only costs the next start its compiling."""
        with self._lock:
            new, self._new = self._new, {}
        if not new:
            return False
        kept = {**self._kept, **new}
        if len(kept) > MAX_ENTRIES:
            kept = new  # an earlier version's texts made it too large: start again from now
        try:
            _write_private(self.path, marshal.dumps((_FORMAT, kept)))
        except OSError as exc:
            log.warning("could not keep the compiled dataclass code in %s: %s", self.path, exc)
            return False
        self._kept = kept
        return True


def _read_trusted(path: Path) -> dict[str, bytes] | None:
    """The file's texts and code, or None when it is missing or not safe to trust.

    Raises:
        OSError: it cannot be read.
        ValueError, EOFError, TypeError: it is not a file this module wrote.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            raise ValueError("not a regular file of a sensible size")
        if not _only_mine(info) or not _only_mine(path.parent.stat()):
            raise ValueError("another account owns it or its folder, or can write them")
        data = handle.read()
    version, kept = marshal.loads(data)  # noqa: S302 - checked as trusted just above
    if version != _FORMAT or not isinstance(kept, dict):
        raise ValueError("written by another version of this module")
    return kept


def _only_mine(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (always True where there are no POSIX
    owners: Windows keeps a user's cache folder private to that user)."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:
        return True
    return info.st_uid == geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` at once (a reader sees the old file or the new one), readable
    by this user alone, in a folder only this user can read."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".dataclass-code-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
