"""Each user MCP server's tools pinned at first sight, so a server cannot change a tool behind
its user's back (a "rug pull": the description or input schema of a tool they approved made
to say something else).

A tool is pinned the first time it is listed: its name, description and input schema, what else
clients and the gateway act on (its title, annotations, output schema and execution hints: a
`readOnlyHint` opens a tool to remote callers), and a digest of them; a pin made before those
were pinned takes them at their next sight. At every later listing a tool whose digest differs
is withheld from `tools/list` (and a call of it refused) until a person approves the change: on
the MCP servers page, which shows the difference, or with `llmgw-desktop mcp-servers approve
NAME`. A tool a server adds later is pinned when first seen, as the first ones were. A
description flagged by `tool_flags.py` is shown on the page, and withheld while
`mcp.withhold_flagged_tools` is on.

The pins live in `mcp-tool-pins.json` in the data directory (0600), with each changed tool's
new definition, so the command line can approve a change without the app; the app reads the
file again when another process wrote it (checked at most once a second). Written whole and
atomically (a temporary file renamed over it), off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.upstream_mcp.tool_flags import flags_of

__all__ = [
    "PINS_FILE",
    "PinnedTool",
    "ToolPins",
    "ToolReview",
    "approve_in_file",
    "changes_in_file",
]

log = logging.getLogger(__name__)

PINS_FILE = "mcp-tool-pins.json"
# The file is looked at again for another process's writes at most this often.
RELOAD_EVERY_S = 1.0
PINNED, CHANGED = "pinned", "changed"


# What else a server says of a tool that clients, the model or the gateway act on: its title (an
# approval prompt's), annotations (`readOnlyHint` opens a tool to remote callers under
# `remote = "read-only"`), output schema and execution hints. Pinned beside the rest.
MORE_FIELDS = ("title", "annotations", "outputSchema", "execution")


@dataclass(frozen=True)
class PinnedTool:
    """A tool's definition as pinned or as last listed, and its digest."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    more: Mapping[str, Any] = field(default_factory=dict)  # MORE_FIELDS it has

    @property
    def digest(self) -> str:
        return self._digest_of(self.more)

    @property
    def base_digest(self) -> str:
        """The digest of its name, description and schema alone: what a pin made before the
        rest was pinned holds."""
        return self._digest_of({})

    def _digest_of(self, more: Mapping[str, Any]) -> str:
        canonical = json.dumps(
            {
                "name": self.name,
                "description": self.description,
                "inputSchema": self.input_schema,
                **more,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def of(cls, tool: Any) -> PinnedTool:
        """From the SDK's `mcp_types.Tool`."""
        schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
        listed = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
        more = {k: listed[k] for k in MORE_FIELDS if listed.get(k) not in (None, {}, "")}
        return cls(str(tool.name), str(tool.description or ""), schema, more)

    @classmethod
    def load(cls, name: str, data: Mapping[str, Any]) -> PinnedTool:
        schema = data.get("inputSchema")
        description = str(data.get("description") or "")
        more = data.get("more")
        return cls(
            name,
            description,
            schema if isinstance(schema, dict) else {},
            more if isinstance(more, dict) else {},
        )

    def saved(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "inputSchema": self.input_schema,
            "more": dict(self.more),
            "digest": self.digest,
        }

    def text(self) -> list[str]:
        """The definition as lines a person compares."""
        schema = json.dumps(self.input_schema, indent=2, sort_keys=True, ensure_ascii=False)
        described = f"description: {self.description}".splitlines()
        lines = [*described, *f"inputSchema: {schema}".splitlines()]
        for key in MORE_FIELDS:
            if key in self.more:
                shown = json.dumps(self.more[key], indent=2, sort_keys=True, ensure_ascii=False)
                lines += f"{key}: {shown}".splitlines()
        return lines


@dataclass(frozen=True)
class ToolReview:
    """A tool a person should look at: changed since it was pinned, or flagged."""

    server: str
    tool: str
    state: str  # "changed" or "pinned"
    flags: tuple[str, ...]
    withheld: bool
    diff: str  # the pinned definition against the current one ("" when unchanged)


def _diff(pinned: PinnedTool, current: PinnedTool) -> str:
    lines = difflib.unified_diff(pinned.text(), current.text(), "approved", "now", lineterm="", n=2)
    return "\n".join(lines)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("MCP tool pins: %s cannot be read (%s): every tool pinned again", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".mcp-tool-pins.")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True, ensure_ascii=False)
        temporary.chmod(0o600)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def changes_in_file(path: Path, server: str | None = None) -> list[ToolReview]:
    """The changes waiting for approval in the pins file (`server`: its own only), each with
    the difference from its pin: what `llmgw-desktop mcp-servers pending` lists."""
    out = []
    for name, entry in sorted(_read(path).get("servers", {}).items()):
        if (server is not None and name != server) or not isinstance(entry, dict):
            continue
        pinned = entry.get(PINNED, {})
        for tool, data in sorted(entry.get(CHANGED, {}).items()):
            now = PinnedTool.load(tool, data)
            diff = _diff(PinnedTool.load(tool, pinned.get(tool, {})), now)
            flags = flags_of(now.description, now.input_schema)
            out.append(ToolReview(name, tool, CHANGED, flags, True, diff))
    return out


def approve_in_file(path: Path, server: str, tool: str | None = None) -> list[str]:
    """Approve `server`'s changed tools (`tool`: that one only) in the pins file: each is
    pinned as it was last listed. A flagged tool named as `tool` is trusted as it is (no
    longer withheld for its flags). The names approved (none: nothing was waiting)."""
    data = _read(path)
    entry = data.get("servers", {}).get(server)
    if not isinstance(entry, dict):
        return []
    changed: dict[str, Any] = entry.get(CHANGED, {})
    pinned: dict[str, Any] = entry.setdefault(PINNED, {})
    names = [n for n in changed if tool is None or n == tool]
    for name in names:
        pinned[name] = {**changed.pop(name), "trusted": True}
    if tool is not None and not names and tool in pinned:
        pinned[tool]["trusted"] = True
        names = [tool]
    if names:
        _write(path, data)
    return names


def _pinned_before_the_rest(saved: Mapping[str, Any], tool: PinnedTool) -> bool:
    """Whether `saved` is a pin made before the tool's other fields were pinned, of the name,
    description and schema `tool` still has."""
    return "more" not in saved and saved.get("digest") == tool.base_digest


def _kept(saved: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a person decided of a pin, kept when it is pinned again (`trusted`)."""
    return {"trusted": True} if saved is not None and saved.get("trusted") is True else {}


class ToolPins:
    """The pins of every server's tools, and what each server lists now."""

    def __init__(self, path: Path, *, enabled: bool = True, withhold_flagged: bool = False) -> None:
        self.path = path
        self.enabled = enabled
        self.withhold_flagged = withhold_flagged
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

    def _load(self) -> None:
        """The file as another process may have left it (read again only when it changed)."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._loaded_mtime:
            self._data = _read(self.path)
            self._loaded_mtime = mtime

    async def fresh(self) -> None:
        """Read the file again if another process wrote it (at most once a second)."""
        if not self.enabled or time.monotonic() - self._checked_at < RELOAD_EVERY_S:
            return
        self._checked_at = time.monotonic()
        async with self._lock:
            await asyncio.to_thread(self._load)

    async def observe(self, server: str, tools: Iterable[Any]) -> None:
        """What `server` lists now: a tool seen for the first time is pinned; one whose
        definition differs from its pin is kept as a change waiting for approval."""
        if not self.enabled:
            return
        current = {t.name: t for t in map(PinnedTool.of, tools)}
        self._current[server] = current
        async with self._lock:
            await asyncio.to_thread(self._load)
            entry = self._server(server)
            pinned, changed = entry[PINNED], entry[CHANGED]
            wrote = False
            for name, tool in current.items():
                saved = pinned.get(name)
                if saved is None or _pinned_before_the_rest(saved, tool):
                    # First sight (of the tool, or of what a pin made before did not hold).
                    pinned[name] = {**tool.saved(), **_kept(saved)}
                    wrote = True
                elif saved.get("digest") != tool.digest:
                    if changed.get(name, {}).get("digest") != tool.digest:
                        changed[name] = tool.saved()
                        wrote = True
                        log.warning(
                            "MCP server %s changed its tool %s since it was pinned: withheld "
                            "until approved (the MCP servers page, or llmgw-desktop mcp-servers "
                            "approve %s)",
                            server,
                            name,
                            server,
                        )
                elif name in changed:
                    del changed[name]  # back as it was approved
                    wrote = True
            if wrote:
                await asyncio.to_thread(_write, self.path, self._data)
                self._loaded_mtime = self.path.stat().st_mtime

    def withheld(self, server: str, tool: str) -> bool:
        """Whether `server`'s `tool` is kept from clients now: changed since its pin, or
        flagged while flagged tools are withheld."""
        if not self.enabled:
            return False
        current = self._current.get(server, {}).get(tool)
        if current is None:
            return False
        pinned = self._data.get("servers", {}).get(server, {}).get(PINNED, {}).get(tool)
        if pinned is not None and pinned.get("digest") != current.digest:
            return True
        trusted = pinned is not None and pinned.get("trusted") is True
        flagged = bool(flags_of(current.description, current.input_schema))
        return self.withhold_flagged and flagged and not trusted

    def reviews(self, server: str) -> list[ToolReview]:
        """`server`'s tools a person should look at: changed since pinned, or flagged."""
        out = []
        pins = self._data.get("servers", {}).get(server, {}).get(PINNED, {})
        for name, current in self._current.get(server, {}).items():
            flags = flags_of(current.description, current.input_schema)
            saved = pins.get(name)
            changed = saved is not None and saved.get("digest") != current.digest
            if not changed and not flags:
                continue
            diff = _diff(PinnedTool.load(name, saved), current) if changed else ""
            state = CHANGED if changed else PINNED
            out.append(ToolReview(server, name, state, flags, self.withheld(server, name), diff))
        return out

    async def approve(self, server: str, tool: str | None = None) -> list[str]:
        """Pin `server`'s changed tools as they are listed now (`tool`: that one only)."""
        async with self._lock:
            names = await asyncio.to_thread(approve_in_file, self.path, server, tool)
            await asyncio.to_thread(self._load)
        return names
