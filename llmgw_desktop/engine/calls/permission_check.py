"""The one check of an agent's permission request against a remote caller's grant.

An ACP agent asks before each tool call it may not make on its own (`session/request_permission`:
a kind, a title, the paths it touches, its raw input). For the local user (and a `bypass`
workspace) the person decides, at the desk or in the editor (`acp_permissions.py`). For any
other caller the grant decides first, whatever the caller's own editor would answer, since the
editor belongs to the caller:

- `read`, `search`: allowed only where every path the request names resolves inside the run's
  directory (symlinks and `..` followed, `~` expanded, as given and as an agent reads it:
  trimmed, composed); a request that names no path is refused, as is one that names a web
  address.
- `edit`, `delete`, `move`: the same, at a level that edits (`edit`), and never an agent's own
  configuration (`.claude/`, `.gemini/`, ...) or `.git/`, which would widen a later run.
- `fetch`: only for a caller the operator lets fetch (`web_fetch` in
  `[gateway.remote_passthrough]`), and only a public address: never loopback, a private or
  link-local network, or a host name that resolves to one (the agent fetches from the
  operator's machine, behind its firewall).
- `think`: allowed (it touches nothing).
- `execute`, `switch_mode`, `other`: refused. The allow-listed commands of level `commands`
  reach the CLIs as their pre-approval flags; an agent's shell is not held to them.

What the grant allows, the caller's editor may still refuse; what it refuses, nobody is asked.
Pure but for the file system (`realpath`) and name resolution: call it off the event loop.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from llmgw_desktop.config.remote_power import LEVELS
from llmgw_desktop.engine.providers.acp.turn import PermissionAsk
from llmgw_desktop.engine.providers.base import Held
from llmgw_desktop.engine.providers.confinement import CONFINEMENT

__all__ = ["GrantVerdict", "check_request", "named_targets"]

LOOKING = frozenset({"read", "search"})
EDITING = frozenset({"edit", "delete", "move"})
EDIT_LEVELS = frozenset({"edit"})
# Raw-input keys whose text is a path, in the agents' spellings (file_path, filePath, abs_path,
# notebook_path, directory, cwd, ...).
_PATH_KEY = re.compile(r"path|file|dir|folder|cwd|root|target|source|destination|location", re.I)
# Keys whose text is content, not a place: a file's new text may well begin with "/*".
_TEXT_KEY = re.compile(
    r"content|string|^(new|old)_?str|text|description|title|prompt|message|query|reason", re.I
)
# A web address as an agent's URL parser (WHATWG's: Node's `URL`, `fetch`) reads one: any
# scheme with `//`, or one of the special schemes with any slashes or none (`http:/host`),
# after C0 controls and spaces at either end, which it strips.
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|(https?|wss?|ftp|file):)", re.I)
_SPECIAL = re.compile(r"^(https?|wss?|ftp):[\\/]*", re.I)
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
# A host name the check reads as the agent does: letters, digits, dots and dashes, or an IPv6
# literal (its brackets taken off). Anything else (percent escapes, other scripts) a WHATWG
# parser decodes or maps first.
_PLAIN_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")
_DRIVE = re.compile(r"^[a-z]:[\\/]", re.I)
_PARENT = re.compile(r"(^|[\\/])\.\.([\\/]|$)")
# What an agent strips from a path before it reads it: JavaScript's `trim()` (Claude Code's
# `expandPath`) takes white space and the byte-order mark off both ends, so " /etc/passwd" is
# "/etc/passwd" to the agent, though a name inside the workspace to `Path`.
_TRIMMED = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\ufeff"
# Never edited for a remote caller: an agent's own configuration in the workspace (the table's
# widening paths, and the project files it loads) and git's (its hooks run for the operator).
_PROTECTED = frozenset(
    {
        ".git",
        ".claude",
        ".mcp.json",
        ".vibe",
        ".opencode",
        "opencode.json",
        "opencode.jsonc",
        *(
            Path(path).parts[0]
            for row in CONFINEMENT.values()
            for held in (row.modes or {}).values()
            for path in held.widening_paths
        ),
    }
)


@dataclass(frozen=True)
class GrantVerdict:
    """What the grant says of one request: allowed (the caller's editor may still refuse), or
    refused and why."""

    allowed: bool
    why: str = ""


@dataclass(frozen=True)
class Targets:
    """What a request names: paths (as given) and web addresses."""

    paths: tuple[str, ...]
    urls: tuple[str, ...]


def check_request(ask: PermissionAsk, held: Held, root: Path) -> GrantVerdict:
    """The grant's answer to `ask`, from an agent run in `root` for a caller held to `held`."""
    kind = ask.kind
    if kind == "think":
        return GrantVerdict(True)
    targets = named_targets(ask)
    if kind == "fetch":
        return _fetch(targets, held)
    if kind in LOOKING or kind in EDITING:
        if kind in EDITING and held.level not in EDIT_LEVELS:
            return GrantVerdict(False, f"this workspace lets remote callers {_level(held)}")
        return _inside(targets, root, editing=kind in EDITING)
    return GrantVerdict(
        False,
        f"a remote caller's agent may not run {kind!r} tools (the workspace lets remote "
        f"callers {_level(held)})",
    )


def named_targets(ask: PermissionAsk) -> Targets:
    """The paths and web addresses a request names: its locations, the raw input's values under
    a path-like key, and any other value that looks like a path or an address."""
    paths, urls = list(ask.locations), list[str]()
    for key, value in _strings(ask.raw_input, ""):
        if _URL.match(value.strip(_C0_OR_SPACE)):
            scheme = value.strip(_C0_OR_SPACE).split(":", 1)[0].lower()
            (paths if scheme == "file" else urls).append(value)
        elif _TEXT_KEY.search(key):
            continue
        elif _PATH_KEY.search(key) or _looks_like_a_path(value):
            paths.append(value)
    return Targets(tuple(paths), tuple(urls))


def _inside(targets: Targets, root: Path, *, editing: bool) -> GrantVerdict:
    if targets.urls:
        return GrantVerdict(False, f"it names a web address ({targets.urls[0]})")
    if not targets.paths:
        return GrantVerdict(False, "it names no path, so it cannot be held to the workspace")
    top = root.resolve()
    for given in targets.paths:
        # Every reading an agent may take of it (as given, trimmed, and in Unicode's composed
        # form, which Claude Code reads a path in) must stay inside.
        trimmed = given.strip(_TRIMMED)
        for reading in dict.fromkeys((given, trimmed, unicodedata.normalize("NFC", trimmed))):
            found = _resolved(reading, top)
            if found is None or not found.is_relative_to(top):
                return GrantVerdict(False, f"{given} is outside the workspace ({top})")
            if editing and _PROTECTED.intersection(found.relative_to(top).parts):
                return GrantVerdict(
                    False,
                    f"{given} is an agent's or git's own configuration, never edited remotely",
                )
    return GrantVerdict(True)


def _resolved(given: str, top: Path) -> Path | None:
    """`given` as the file system would reach it from `top` (symlinks followed); None for a
    path no check can place (a file URL of another host, a NUL byte)."""
    text = given
    if _URL.match(text.strip(_C0_OR_SPACE)):
        parts = _parsed(text)
        if parts.netloc not in ("", "localhost"):
            return None
        text = "/" + parts.path.lstrip("/")  # a file URL's path is absolute (`file:etc` too)
    if "\0" in text:
        return None
    return (top / Path(text).expanduser()).resolve()


def _parsed(url: str) -> SplitResult:
    """`url` split as a WHATWG parser splits it: C0 controls and spaces off its ends, tabs and
    newlines dropped, and in the special schemes any run of slashes or backslashes after the
    scheme, and every backslash after it, read as `//` and `/` (`http://127.0.0.1\\@a.example/`
    is loopback to the agent)."""
    text = url.strip(_C0_OR_SPACE)
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    special = _SPECIAL.match(text)
    if special is not None:
        rest = text[special.end() :].replace("\\", "/")
        text = f"{special.group(1).lower()}://{rest}"
    elif text[:5].lower() == "file:":
        text = "file:" + text[5:].replace("\\", "/")
    return urlsplit(text)


def _fetch(targets: Targets, held: Held) -> GrantVerdict:
    if not held.may_fetch:
        return GrantVerdict(
            False,
            "the operator does not let this caller fetch web addresses (web_fetch in "
            "[gateway.remote_passthrough])",
        )
    if not targets.urls or targets.paths:
        return GrantVerdict(False, "a fetch is allowed for one web address and nothing else")
    for url in targets.urls:
        why = _not_public(url)
        if why:
            return GrantVerdict(False, why)
    return GrantVerdict(True)


def _not_public(url: str) -> str:
    """Why the agent may not fetch `url` from the operator's machine ("" when it may)."""
    parts = _parsed(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"{url} is not a web address"
    if not _PLAIN_HOST.fullmatch(parts.hostname):
        return f"{url} names its host in a form the agent would decode first"
    try:
        infos = socket.getaddrinfo(parts.hostname, None)
    except (OSError, UnicodeError):
        return f"{parts.hostname} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            return f"{url} reaches {address}, an address of the operator's own network"
    return ""


def _strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    """Every string in a raw input, with the key it sits under (a list's items under its
    key's name), depth first."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, str(name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item, key)


def _looks_like_a_path(value: str) -> bool:
    text = value.strip()
    return (
        text.startswith(("/", "~", "\\")) or bool(_DRIVE.match(text)) or bool(_PARENT.search(text))
    )


def _level(held: Held) -> str:
    words = {
        "read-only": "read, not edit",
        "commands": "run allow-listed commands through a CLI's own flags, not edit",
        "edit": "read and edit files",
    }
    assert held.level in LEVELS
    return words.get(held.level, held.level)
