"""Each user MCP server's tools pinned at first sight, so a server cannot change a tool behind
its user's back (a "rug pull": the description or input schema of a tool they approved made
to say something else), nor slip a new one in beside those they approved.

A server's tools are pinned the first time it lists them: each tool's name, description and
input schema, what else clients and the gateway act on (its title, annotations, output schema
and execution hints: a `readOnlyHint` opens a tool to remote callers), and a digest of them; a
pin made before those were pinned takes them at their next sight. From then on a tool whose
digest differs, or a tool the server lists for the first time, is withheld from `tools/list`
(and a call of it refused) until a person approves it: on the MCP servers page, which shows the
difference, or with `llmgw-desktop mcp-servers approve NAME`. A description flagged by
`tool_flags.py` is shown on the page and withheld from remote callers until a person approves
it (`mcp.withhold_flagged_tools_from_remote`), and from everyone while
`mcp.withhold_flagged_tools` is on.

The pins live in `mcp-tool-pins.json` (`pins_file.py`), re-read when another process wrote it
(checked at most once a second), written off the event loop. A damaged file (torn, emptied, not
JSON) is never read as "no pins": it is set aside as `mcp-tool-pins.json.damaged`, every server
the gateway knows is marked to be approved again (its tools withheld until a person does), and
that is said once, in the log and as a notice on the desk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmgw_desktop.config.paths import set_aside
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.events import EventBus, Notice
from llmgw_desktop.engine.upstream_mcp import policy
from llmgw_desktop.engine.upstream_mcp.pins_file import (
    CHANGED,
    NEW,
    PINNED,
    REAPPROVE,
    PinnedTool,
    PinsFileDamaged,
    ToolReview,
    approve_in_file,
    diff_of,
    read_pins,
    write_pins,
)

__all__ = ["ToolPins"]

log = logging.getLogger(__name__)

# The file is looked at again for another process's writes at most this often.
RELOAD_EVERY_S = 1.0
# The desk's place a notice about the pins opens.
NOTICE_TOPIC = "mcp-servers"


def _pinned_before_the_rest(saved: dict[str, Any], tool: PinnedTool) -> bool:
    """Whether `saved` is a pin made before the tool's other fields were pinned, of the name,
    description and schema `tool` still has."""
    return "more" not in saved and saved.get("digest") == tool.base_digest


def _kept(saved: dict[str, Any] | None) -> dict[str, Any]:
    """What a person decided of a pin, kept when it is pinned again (`trusted`)."""
    return {"trusted": True} if saved is not None and saved.get("trusted") is True else {}


class ToolPins:
    """The pins of every server's tools, and what each server lists now."""

    def __init__(
        self,
        path: Path,
        *,
        enabled: bool = True,
        withhold_flagged: bool = False,
        withhold_flagged_remote: bool = True,
        servers: Iterable[str] = (),
        events: EventBus | None = None,
    ) -> None:
        """`servers`: the servers configured (a damaged file's loss covers them, and any the
        gateway has seen since); `events` hears the notice of a damaged file."""
        self.path = path
        self.enabled = enabled
        self.withhold_flagged = withhold_flagged
        self.withhold_flagged_remote = withhold_flagged_remote
        self._servers = frozenset(servers)
        self._events = events
        self._data: dict[str, Any] = {}
        self._loaded_mtime: float | None = None
        self._checked_at = float("-inf")
        # server -> tool -> its definition as last listed
        self._current: dict[str, dict[str, PinnedTool]] = {}
        self._lock = asyncio.Lock()

    def _server(self, server: str) -> dict[str, Any]:
        servers = self._data.setdefault("servers", {})
        entry: dict[str, Any] = servers.setdefault(server, {})
        entry.setdefault(PINNED, {})
        entry.setdefault(CHANGED, {})
        return entry

    def _entry(self, server: str) -> dict[str, Any]:
        found = self._data.get("servers", {}).get(server)
        return found if isinstance(found, dict) else {}

    # -- the file ---------------------------------------------------------------------------

    async def _read(self) -> None:
        """The file as another process may have left it (under the lock); a damaged one is
        set aside and said once."""
        said = await asyncio.to_thread(self._load)
        if said is not None and self._events is not None:
            self._events.publish(Notice("warning", said, topic=NOTICE_TOPIC))

    def _load(self) -> str | None:
        """Read the file again when it changed (on a thread); what to tell the person of a
        damaged one, else None."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime == self._loaded_mtime:
            return None
        self._loaded_mtime = mtime
        try:
            self._data = read_pins(self.path)
        except PinsFileDamaged as exc:
            return self._recover(str(exc))
        return None

    def _recover(self, why: str) -> str:
        """Set the damaged file aside and start one in which every server known (configured,
        pinned before in this run, or listed) is to be approved again, its tools as listed now
        waiting; what to tell the person."""
        known = self._servers | set(self._data.get("servers", {})) | set(self._current)
        listed = {name: self._current.get(name, {}) for name in sorted(known)}
        # Made whole before it is the data: the loop reads it meanwhile (`why_withheld`).
        self._data = {
            "servers": {
                name: {
                    PINNED: {},
                    CHANGED: {tool: pin.saved() for tool, pin in tools.items()},
                    REAPPROVE: True,
                }
                for name, tools in listed.items()
            }
        }
        try:
            aside = set_aside(self.path)
            write_pins(self.path, self._data)
            self._loaded_mtime = self.path.stat().st_mtime
            kept = f"kept as {aside.name}"
        except OSError as exc:  # withheld all the same (in memory), until it can be written
            kept = f"could not be replaced ({exc})"
        said = (
            f"The MCP tool pins file {self.path} was damaged ({why}); {kept}. The tools of "
            f"every MCP server ({', '.join(sorted(known)) or 'none yet'}) are withheld until "
            "you approve them again: on the MCP servers page, or with `llmgw-desktop "
            "mcp-servers approve NAME`."
        )
        log.warning("%s", said)
        return said

    async def fresh(self) -> None:
        """Read the file again if another process wrote it (at most once a second)."""
        if not self.enabled or time.monotonic() - self._checked_at < RELOAD_EVERY_S:
            return
        self._checked_at = time.monotonic()
        async with self._lock:
            await self._read()

    # -- what servers list ------------------------------------------------------------------

    async def observe(self, server: str, tools: Iterable[Any]) -> None:
        """What `server` lists now: at the server's first sight its tools are pinned; after,
        a tool whose definition differs from its pin, or that has none, is kept as a change
        waiting for approval."""
        if not self.enabled:
            return
        current = {t.name: t for t in map(PinnedTool.of, tools)}
        self._current[server] = current
        async with self._lock:
            await self._read()
            if self._noted(server, current):
                await asyncio.to_thread(write_pins, self.path, self._data)
                self._loaded_mtime = self.path.stat().st_mtime

    def _noted(self, server: str, current: dict[str, PinnedTool]) -> bool:
        """Note `current` against `server`'s pins; whether anything changed."""
        entry = self._server(server)
        pinned, changed = entry[PINNED], entry[CHANGED]
        # Its tools were approved (or are to be again): one it lists first now waits too.
        approved = bool(pinned) or entry.get(REAPPROVE) is True
        wrote = False
        for name, tool in current.items():
            saved = pinned.get(name)
            if saved is None and not approved:
                pinned[name] = tool.saved()  # the server's first sight
                wrote = True
            elif saved is not None and _pinned_before_the_rest(saved, tool):
                # First sight of what a pin made before did not hold.
                pinned[name] = {**tool.saved(), **_kept(saved)}
                wrote = True
            elif saved is None or saved.get("digest") != tool.digest:
                if changed.get(name, {}).get("digest") != tool.digest:
                    changed[name] = tool.saved()
                    wrote = True
                    _say_withheld(server, name, new=saved is None)
            elif name in changed:
                del changed[name]  # back as it was approved
                wrote = True
        return wrote

    def why_withheld(self, server: str, tool: str, principal: Principal | None) -> str | None:
        """Why `server`'s `tool` is kept from `principal` now, or None: changed since its pin,
        new since its server's tools were approved, or flagged (from remote callers unless a
        person trusted it, and from everyone under `mcp.withhold_flagged_tools`)."""
        if not self.enabled:
            return None
        current = self._current.get(server, {}).get(tool)
        if current is None:
            return None
        entry = self._entry(server)
        pinned = entry.get(PINNED, {}).get(tool)
        if pinned is None:
            if entry.get(PINNED) or entry.get(REAPPROVE) or tool in entry.get(CHANGED, {}):
                return "it is new since its server's tools were approved"
            return None
        if pinned.get("digest") != current.digest:
            return "it changed since it was approved"
        if pinned.get("trusted") is True or not current.flags:
            return None
        if self.withhold_flagged:
            return f"its description is flagged ({current.flags[0]})"
        if self.withhold_flagged_remote and not policy.is_operator(principal):
            return f"its description is flagged for remote callers ({current.flags[0]})"
        return None

    def withheld(self, server: str, tool: str, principal: Principal | None) -> bool:
        """Whether `server`'s `tool` is kept from `principal` now (`why_withheld`)."""
        return self.why_withheld(server, tool, principal) is not None

    def reviews(self, server: str) -> list[ToolReview]:
        """`server`'s tools a person should look at: changed since pinned, new since its
        tools were approved, or flagged; each says whether it is withheld (from remote callers
        at least)."""
        out = []
        entry = self._entry(server)
        pins = entry.get(PINNED, {})
        for name, current in self._current.get(server, {}).items():
            saved = pins.get(name)
            withheld = self.withheld(server, name, None)
            if saved is None and withheld:
                state, diff = NEW, diff_of(None, current)
            elif saved is not None and saved.get("digest") != current.digest:
                state, diff = CHANGED, diff_of(PinnedTool.load(name, saved), current)
            elif current.flags:
                state, diff = PINNED, ""
            else:
                continue
            out.append(ToolReview(server, name, state, current.flags, withheld, diff))
        return out

    async def approve(self, server: str, tool: str | None = None) -> list[str]:
        """Approve what of `server` waits (`tool`: that one only): each changed or new tool
        pinned as listed now, each flagged one trusted as it is.

        Raises:
            OSError: the pins file cannot be written.
        """
        async with self._lock:
            await self._read()
            names = await asyncio.to_thread(approve_in_file, self.path, server, tool)
            await self._read()
        return names


def _say_withheld(server: str, tool: str, *, new: bool) -> None:
    what = "added the tool" if new else "changed its tool"
    since = "after its tools were approved" if new else "since it was pinned"
    log.warning(
        "MCP server %s %s %s %s: withheld until approved (the MCP servers page, or "
        "llmgw-desktop mcp-servers approve %s)",
        server,
        what,
        tool,
        since,
        server,
    )
