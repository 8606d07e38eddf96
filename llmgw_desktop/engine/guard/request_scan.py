"""What a request would send, read for secrets: every string of its body (messages, system
prompts, tool definitions, tool calls and their results, whatever the dialect), each named by
its place in the body, scanned as one text.

Binary payloads are not read: a data URL, or a long run of base64 without a space (an image,
a PDF, audio), is no place a person pastes a key, and its entropy would be flagged. A body
whose text is larger than the operator's limit is not scanned at all (`Inspection.complete` is
False, `reason` says why), and neither is the rest of one whose scan ran out of time.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.guard.scanner import Hit, scan_text

__all__ = ["Finding", "Inspection", "ScanCache", "body_strings", "inspect_body", "inspect_text"]

# A string at least this long is remembered on its own by its digest (shorter ones, by what
# holds them: `_units`).
CACHED_CHARS = 4096
# A string this long with no whitespace, all base64, is a binary payload.
BLOB_CHARS = 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]+")
# Characters of a finding's line shown around it to the person asked.
EXCERPT_CHARS = 60
# Reasons a request was not scanned whole.
TOO_LARGE = "too_large"
OVER_BUDGET = "over_budget"


@dataclass(frozen=True)
class Finding:
    """A secret in a request: its kind, where it is (the body's path, the line of that
    string), the value itself (never shown, logged or recorded: `masked` is what is), and its
    line with the value masked, for the person asked about it."""

    kind: str
    where: str
    line: int
    value: str = field(repr=False)
    excerpt: str = ""

    @property
    def masked(self) -> str:
        """The value as it may be shown: its first characters where it is long enough to keep
        most of it hidden, and its length."""
        shown = self.value[:4] if len(self.value) >= 16 else ""
        return f"{shown}…({len(self.value)} chars)"

    def describe(self) -> str:
        """`aws_access_key in messages[2].content, line 4`: what and where, never the value."""
        return f"{self.kind} in {self.where}, line {self.line}"


@dataclass(frozen=True)
class Inspection:
    """What one request was found to hold, and whether all of it was read."""

    findings: tuple[Finding, ...] = ()
    complete: bool = True
    reason: str | None = None
    chars: int = 0
    elapsed_ms: float = 0.0

    @property
    def kinds(self) -> Counter[str]:
        """How many distinct secrets of each kind (a key pasted twice is one)."""
        distinct = dict.fromkeys((f.kind, f.value) for f in self.findings)  # in text order
        return Counter(kind for kind, _value in distinct)

    def summary(self) -> str:
        """`2 secrets (aws_access_key in messages[1].content, line 3; …)`, never a value."""
        if not self.findings:
            return "no secret found"
        listed = "; ".join(f.describe() for f in self.findings[:5])
        more = f"; and {len(self.findings) - 5} more" if len(self.findings) > 5 else ""
        noun = "secret" if len(self.findings) == 1 else "secrets"
        return f"{len(self.findings)} {noun} ({listed}{more})"


def body_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a JSON body with its path (`messages[2].content[0].text`), binary
    payloads left out; an object's keys are not read (they are the dialect's field names)."""
    if isinstance(value, str):
        if not _binary(value):
            yield path or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from body_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from body_strings(item, f"{path}[{index}]")


def _binary(text: str) -> bool:
    if text.startswith("data:") and ";base64," in text[:100]:
        return True
    return len(text) >= BLOB_CHARS and _BASE64.fullmatch(text) is not None


class ScanCache:
    """What long strings were found to hold, by a digest of each: a coding agent sends its
    whole conversation again every turn, so the system prompt, the tool definitions and every
    earlier tool result are read once, and each later request reads what is new. Bounded (the
    least recently used go); thread-safe, since large requests are read in threads. Holds
    digests and offsets, never the text."""

    def __init__(self, max_entries: int = 8192) -> None:
        self._entries: OrderedDict[bytes, tuple[Hit, ...]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: bytes) -> tuple[Hit, ...] | None:
        with self._lock:
            hits = self._entries.get(key)
            if hits is not None:
                self._entries.move_to_end(key)
            return hits

    def put(self, key: bytes, hits: tuple[Hit, ...]) -> None:
        with self._lock:
            self._entries[key] = hits
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def inspect_body(
    body: Any,
    *,
    personal: bool,
    max_chars: int,
    budget_s: float,
    cache: ScanCache | None = None,
) -> Inspection:
    """The secrets in a request body (see `body_strings`), within `max_chars` of text and
    `budget_s` of time (`cache`: long strings read before)."""
    return inspect_text(
        list(body_strings(body)),
        personal=personal,
        max_chars=max_chars,
        budget_s=budget_s,
        cache=cache,
    )


def inspect_text(
    parts: list[tuple[str, str]],
    *,
    personal: bool,
    max_chars: int,
    budget_s: float,
    cache: ScanCache | None = None,
) -> Inspection:
    """The secrets in `parts` (place, text), read by unit (`_units`: a long string alone, the
    short strings of one message or one tool together): a unit read before is taken from
    `cache` by its digest, and only what is new to the conversation is read: each new long
    string on its own, the new short ones joined, so each rule runs once over them."""
    began = time.perf_counter()
    total = sum(len(text) + 1 for _, text in parts)
    if total > max_chars:
        return Inspection(complete=False, reason=TOO_LARGE, chars=total)
    located: list[tuple[int, Hit]] = []  # (the part's index, the hit in that part)
    fresh: list[tuple[Unit, bytes]] = []
    for unit in _units(parts):
        digest = hashlib.blake2b(
            unit.text.encode(), digest_size=16, person=b"p" if personal else b"s"
        ).digest()
        known = cache.get(digest) if cache is not None else None
        if known is None:
            fresh.append((unit, digest))
        else:
            located += _spread(parts, unit, known)
    complete = True
    # A long string is read on its own: a rule with triggers (AWS's secret key, ignoring case)
    # then runs over the strings that hold them, not over all that is new with one of them.
    batches = [[new] for new in fresh if len(new[0].text) >= CACHED_CHARS]
    short = [new for new in fresh if len(new[0].text) < CACHED_CHARS]
    for batch in [*batches, short] if short else batches:
        found, whole = _read_new([unit for unit, _ in batch], personal, began + budget_s)
        complete = complete and whole
        for (unit, digest), hits in zip(batch, found, strict=True):
            if whole and cache is not None:
                cache.put(digest, hits)
            located += _spread(parts, unit, hits)
    findings = [_finding(parts[index], hit) for index, hit in sorted(located, key=_order)]
    return Inspection(
        tuple(findings),
        complete=complete,
        reason=None if complete else OVER_BUDGET,
        chars=total,
        elapsed_ms=(time.perf_counter() - began) * 1000,
    )


def _order(located: tuple[int, Hit]) -> tuple[int, int]:
    return located[0], located[1].start


@dataclass(frozen=True)
class Unit:
    """Strings read and remembered together: their indexes in the request's parts, and their
    text, joined by line breaks."""

    indexes: tuple[int, ...]
    text: str


def _units(parts: list[tuple[str, str]]) -> list[Unit]:
    """`parts` as units: each string of `CACHED_CHARS` or more alone (a tool result, a system
    prompt), and the shorter ones by what holds them (`messages[3]`, `tools[2]`), which a
    conversation sent again each turn sends unchanged."""
    groups: list[tuple[str | None, list[int]]] = []
    for index, (where, text) in enumerate(parts):
        if len(text) >= CACHED_CHARS:
            groups.append((None, [index]))
            continue
        closing = where.find("]")
        owner = where[: closing + 1] if closing >= 0 else where.partition(".")[0]
        if groups and groups[-1][0] == owner:
            groups[-1][1].append(index)
        else:
            groups.append((owner, [index]))
    return [
        Unit(tuple(indexes), "\n".join(parts[index][1] for index in indexes))
        for _owner, indexes in groups
    ]


def _read_new(
    units: list[Unit], personal: bool, deadline: float
) -> tuple[list[tuple[Hit, ...]], bool]:
    """The hits of `units`, read as one text, each in its unit's own text; and whether all
    was read."""
    starts: list[int] = []
    offset = 0
    for unit in units:
        starts.append(offset)
        offset += len(unit.text) + 1
    joined = "\n".join(unit.text for unit in units)
    budget = max(0.0, deadline - time.perf_counter())
    scanned = scan_text(joined, personal=personal, budget_s=budget)
    found: list[list[Hit]] = [[] for _ in units]
    for hit in scanned.hits:
        at = bisect.bisect_right(starts, hit.start) - 1
        start, size = starts[at], len(units[at].text)
        found[at].append(Hit(hit.kind, hit.start - start, min(hit.end - start, size)))
    return [tuple(hits) for hits in found], scanned.complete


def _spread(
    parts: list[tuple[str, str]], unit: Unit, hits: tuple[Hit, ...]
) -> list[tuple[int, Hit]]:
    """A unit's hits, each in the part it is in."""
    if len(unit.indexes) == 1:
        return [(unit.indexes[0], hit) for hit in hits]
    starts: list[int] = []
    offset = 0
    for index in unit.indexes:
        starts.append(offset)
        offset += len(parts[index][1]) + 1
    located = []
    for hit in hits:
        at = bisect.bisect_right(starts, hit.start) - 1
        index = unit.indexes[at]
        start, end = hit.start - starts[at], min(hit.end - starts[at], len(parts[index][1]))
        located.append((index, Hit(hit.kind, start, end)))
    return located


def _finding(part: tuple[str, str], hit: Hit) -> Finding:
    where, text = part
    start, end = hit.start, hit.end
    return Finding(
        hit.kind,
        where,
        text.count("\n", 0, start) + 1,
        text[start:end],
        _excerpt(text, start, end, hit.kind),
    )


def _excerpt(text: str, start: int, end: int, kind: str) -> str:
    """The finding's line around it, the value replaced by `[kind]`."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - EXCERPT_CHARS)
    line_end = text.find("\n", end)
    line_end = min(len(text) if line_end < 0 else line_end, end + EXCERPT_CHARS)
    before = ("…" if line_start > 0 and text[line_start - 1] != "\n" else "") + text[
        line_start:start
    ]
    after = text[end:line_end] + ("…" if line_end < len(text) and text[line_end] != "\n" else "")
    return f"{before}[{kind}]{after}"
