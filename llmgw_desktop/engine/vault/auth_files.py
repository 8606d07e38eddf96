"""Auth files written out for a CLI that reads them from disk, for as long as a call needs them.

The directory is private (0700, files 0600) and removed when the `async with` block ends,
whatever way it ends: normally, by an exception, or by cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

__all__ = ["private_auth_dir"]

log = logging.getLogger(__name__)

DIR_PREFIX = "llmgw-auth-"


@contextlib.asynccontextmanager
async def private_auth_dir(
    files: Mapping[str, bytes], *, root: Path | None = None, subdir: str = ""
) -> AsyncIterator[Path]:
    """A fresh private directory under `root` (the system temp dir by default) holding `files`
    (in `subdir` of it, for CLIs that look for them one level down, such as `.gemini`).

    Raises:
        OSError: the directory or a file cannot be written (nothing is left behind).
    """
    writing = asyncio.get_running_loop().run_in_executor(
        None, _write_private_dir, dict(files), root, subdir
    )
    try:
        path = await asyncio.shield(writing)
    except asyncio.CancelledError:
        # The writer thread cannot be stopped; its directory goes as soon as it finishes.
        writing.add_done_callback(_remove_written)
        raise
    try:
        yield path
    finally:
        # Synchronous on purpose: a second cancellation cannot skip it, and it is a few files.
        _remove(path)


def _write_private_dir(files: dict[str, bytes], root: Path | None, subdir: str) -> Path:
    if root is not None:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=root))  # created 0700
    try:
        target = path
        if subdir:
            if Path(subdir).name != subdir or subdir in (".", ".."):
                raise ValueError("an auth file subdirectory must be a plain name")
            target = path / subdir
            target.mkdir(mode=0o700)
        for name, content in files.items():
            if Path(name).name != name or name in (".", ".."):
                raise ValueError("an auth file name must be a plain file name")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(target / name, flags, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(content)
    except BaseException:
        _remove(path)
        raise
    return path


def _remove_written(writing: asyncio.Future[Path]) -> None:
    if not writing.cancelled() and writing.exception() is None:
        _remove(writing.result())


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        log.warning("could not remove the auth file directory %s", path)
