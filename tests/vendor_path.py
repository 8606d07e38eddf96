"""This machine's PATH without the vendor CLIs: what the test suite (`conftest.py`'s
`path_without_vendor_clis`) and `scripts/screenshots.py` run the app with, so a developer's own
`claude` or `codex` on PATH is never found where a test or the gallery shows the state with no
CLI installed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from llmgw_desktop.config.cli_catalog import PROVIDERS as CLI_PROVIDERS

__all__ = ["VENDOR_CLIS", "path_without_vendor_clis"]

# The vendor CLIs' program names (those that need one name the repository's own copy).
VENDOR_CLIS = frozenset(name for info in CLI_PROVIDERS for name in info.binaries)


def path_without_vendor_clis(new_folder: Callable[[], Path], path: str | None = None) -> str:
    """`path` (this process's PATH by default), each folder holding a vendor CLI stood in for
    by a folder of links to everything else in it (`new_folder()` makes an empty one); the
    same PATH where none is installed."""
    folders = []
    for folder in (os.environ.get("PATH", "") if path is None else path).split(os.pathsep):
        here = Path(folder)
        if not folder or not any((here / name).exists() for name in VENDOR_CLIS):
            folders.append(folder)
            continue
        mirror = new_folder()
        for entry in here.iterdir():
            if entry.name not in VENDOR_CLIS:
                (mirror / entry.name).symlink_to(entry)
        folders.append(str(mirror))
    return os.pathsep.join(folders)
