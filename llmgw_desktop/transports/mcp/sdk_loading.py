"""When the MCP SDK is loaded, and what its import leaves out.

The SDK is the largest thing a gateway holds: about 0.75 s of imports and 25 MB of protocol
models (docs/PERFORMANCE.md). A gateway whose user has never connected an MCP client (one
that serves only the HTTP gateway's dialects) loads it at the first MCP request. One that has
served MCP in the last `RECENT_DAYS` loads it a second after it starts, so the editor that
relays to it on the next launch is answered at once: a mark file in the data directory
remembers the last MCP request.

The SDK's import also imports uvicorn (through sse_starlette, which patches uvicorn's signal
handler when it is there); the gateway serves MCP through aiohttp and never runs uvicorn, so
uvicorn is hidden while the SDK is imported.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MARK_FILE", "RECENT_DAYS", "McpUseMark", "import_sdk"]

log = logging.getLogger(__name__)
MARK_FILE = "mcp-last-used"
RECENT_DAYS = 30
_HIDDEN = ("uvicorn",)


def import_sdk(names: Iterable[str]) -> None:
    """Import `names` (SDK modules, or ours that import it) with uvicorn hidden (blocks)."""
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import` raises ImportError
    try:
        for name in names:
            importlib.import_module(name)
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


class McpUseMark:
    """The file whose time says when this data directory last served an MCP request."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: nothing is remembered (tests, and a gateway without a dir)
        self._noted = False

    def recent(self) -> bool:
        """Whether MCP was served here in the last `RECENT_DAYS` (blocks: a stat)."""
        if self.path is None:
            return False
        try:
            used = self.path.stat().st_mtime
        except OSError:
            return False
        return time.time() - used < RECENT_DAYS * 86400

    @property
    def noted(self) -> bool:
        return self._noted

    def note(self) -> None:
        """Remember that MCP was served now (once per process; blocks: a small write). A
        failure only costs the next start its early load, so it is logged, not raised."""
        if self._noted or self.path is None:
            return
        self._noted = True
        try:
            self.path.touch()  # creates it, or sets its time to now
        except OSError as exc:
            log.warning("could not remember that MCP was used (%s): %s", self.path, exc)
