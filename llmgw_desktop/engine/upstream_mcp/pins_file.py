"""The MCP tool pins file: what a pin is, how `mcp-tool-pins.json` is read, checked and written,
and what the command line lists and approves in it (`llmgw-desktop mcp-servers pending` and
`approve`, which work without the app). The app's side is `pins.py`.

The file is `{"servers": {NAME: {"pinned": {TOOL: pin}, "changed": {TOOL: definition}}}}`: each
tool's approved definition and digest, and each tool listed since as something else (a changed
definition, or a tool first seen after its server's tools were approved), waiting for a person.
A server whose pins were lost with a damaged file is marked `"reapprove": true`: every tool it
lists waits. A file that is not that shape (torn in half, emptied, not JSON) is damaged:
`PinsFileDamaged`, never read as "no pins", which would pin every tool again as it is now.
Written whole, durably (`config.paths.write_private_atomically`: beside, fsync, rename, 0600).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw_desktop.config.paths import write_private_atomically
from llmgw_desktop.engine.upstream_mcp.tool_flags import flags_of

__all__ = [
    "CHANGED",
    "NEW",
    "PINNED",
    "PINS_FILE",
    "REAPPROVE",
    "PinnedTool",
    "PinsFileDamaged",
    "ToolReview",
    "approve_in_file",
    "changes_in_file",
    "diff_of",
    "read_pins",
    "write_pins",
]

PINS_FILE = "mcp-tool-pins.json"
# A tool's state in a review: changed since its pin, new (no pin: first seen after its server's
# tools were approved, or its pin lost with a damaged file), or pinned as it is (flagged).
PINNED, CHANGED, NEW = "pinned", "changed", "new"
# A server whose pins went with a damaged file: each tool it lists waits for a person.
REAPPROVE = "reapprove"

# What else a server says of a tool that clients, the model or the gateway act on: its title (an
# approval prompt's), annotations (`readOnlyHint` opens a tool to remote callers under
# `remote = "read-only"`), output schema and execution hints. Pinned beside the rest.
MORE_FIELDS = ("title", "annotations", "outputSchema", "execution")


class PinsFileDamaged(Exception):
    """The pins file cannot be read as pins (torn, emptied, not JSON, not their shape): the
    message says what is wrong with it."""


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

    @property
    def flags(self) -> tuple[str, ...]:
        """Why its description is suspect (`tool_flags.py`; empty: it is not)."""
        return flags_of(self.description, self.input_schema)

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


# What a review says of a tool, by its state.
_SAID = {
    CHANGED: "changed since it was approved",
    NEW: "is new: its server's tools were approved without it",
    PINNED: "is flagged",
}


@dataclass(frozen=True)
class ToolReview:
    """A tool a person should look at: changed since it was pinned, new since its server's
    tools were approved, or flagged."""

    server: str
    tool: str
    state: str  # CHANGED, NEW or PINNED (flagged)
    flags: tuple[str, ...]
    withheld: bool  # from remote callers at least (a flagged tool may still be the operator's)
    diff: str  # the pinned definition against the current one ("" when unchanged)

    @property
    def said(self) -> str:
        """The tool and what is to review about it, in words."""
        return f"{self.tool} {_SAID.get(self.state, self.state)}"


def diff_of(pinned: PinnedTool | None, current: PinnedTool) -> str:
    """`current` against its pin (none: against nothing, every line new)."""
    before = pinned.text() if pinned is not None else []
    lines = difflib.unified_diff(before, current.text(), "approved", "now", lineterm="", n=2)
    return "\n".join(lines)


def read_pins(path: Path) -> dict[str, Any]:
    """The pins file's data (nothing yet: an empty one).

    Raises:
        PinsFileDamaged: it is there but cannot be read as pins.
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8
        raise PinsFileDamaged(f"it cannot be read: {exc}") from None
    if not text.strip():
        raise PinsFileDamaged("it is empty")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PinsFileDamaged(f"it is not whole JSON: {exc}") from None
    problem = _shape_problem(data)
    if problem is not None:
        raise PinsFileDamaged(problem)
    return dict(data)


def _shape_problem(data: Any) -> str | None:
    """What makes `data` not the pins file's shape, or None."""
    if not isinstance(data, dict):
        return "it holds no JSON object"
    servers = data.get("servers", {})
    if not isinstance(servers, dict):
        return "its servers are not an object"
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            return f"server {name!r} is not an object"
        for part in (PINNED, CHANGED):
            tools = entry.get(part, {})
            if not isinstance(tools, dict) or not all(
                isinstance(t, dict) and isinstance(t.get("digest"), str) for t in tools.values()
            ):
                return f"server {name!r} has {part} tools that are not pins"
    return None


def write_pins(path: Path, data: Mapping[str, Any]) -> None:
    """Write the pins file whole and durably (0600).

    Raises:
        OSError: it cannot be written (the file as it was is left).
    """
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)
    write_private_atomically(path, text)


def changes_in_file(path: Path, server: str | None = None) -> list[ToolReview]:
    """What waits for approval in the pins file (`server`: its own only): each changed or new
    tool with the difference from its pin, and each flagged tool not yet trusted: what
    `llmgw-desktop mcp-servers pending` lists.

    Raises:
        PinsFileDamaged: the file cannot be read as pins.
    """
    out = []
    for name, entry in sorted(read_pins(path).get("servers", {}).items()):
        if server is not None and name != server:
            continue
        pinned = entry.get(PINNED, {})
        changed = entry.get(CHANGED, {})
        for tool, data in sorted(changed.items()):
            now = PinnedTool.load(tool, data)
            before = PinnedTool.load(tool, pinned[tool]) if tool in pinned else None
            state = CHANGED if before is not None else NEW
            out.append(ToolReview(name, tool, state, now.flags, True, diff_of(before, now)))
        for tool, saved in sorted(pinned.items()):
            flags = PinnedTool.load(tool, saved).flags
            if tool not in changed and flags and saved.get("trusted") is not True:
                out.append(ToolReview(name, tool, PINNED, flags, True, ""))
    return out


def approve_in_file(path: Path, server: str, tool: str | None = None) -> list[str]:
    """Approve what of `server` waits in the pins file (`tool`: that one only): each changed
    or new tool pinned as it was last listed, each flagged one trusted as it is (no longer
    withheld for its flags). The names approved (none: nothing was waiting).

    Raises:
        PinsFileDamaged: the file cannot be read as pins (nothing is written).
        OSError: the file cannot be written.
    """
    data = read_pins(path)
    entry = data.get("servers", {}).get(server)
    if not isinstance(entry, dict):
        return []
    changed: dict[str, Any] = entry.setdefault(CHANGED, {})
    pinned: dict[str, Any] = entry.setdefault(PINNED, {})
    names = [n for n in changed if tool is None or n == tool]
    for name in names:
        pinned[name] = {**changed.pop(name), "trusted": True}
    for name, saved in pinned.items():
        untrusted = saved.get("trusted") is not True and PinnedTool.load(name, saved).flags
        if (tool is None or name == tool) and untrusted and name not in names:
            saved["trusted"] = True
            names.append(name)
    if names:
        entry.pop(REAPPROVE, None)  # pinned again: what it lists later is measured against them
        write_pins(path, data)
    return names
