"""What a request would send, read for secrets: every string and every object key of its
body (messages, system prompts, tool definitions, tool calls and their results, whatever the
dialect), each named by its place in the body (`walk.py`, the one walk), scanned as one text.

Binary payloads (a data URL of base64, a long base64 run: `walk.is_binary`) are read only for
the tokens that begin with a vendor's prefix, and are not counted in the text's size. A body
whose text is larger than the operator's limit is not scanned at all (`Inspection.complete` is
False, `reason` says why), and neither is the rest of one whose scan ran out of time.

A finding's place never names a secret: a key that holds one is written `[kind]` in every
place below it, as in the excerpt the person at the desk reads.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.guard.scanner import NO_RULES, Hit, OwnRules, scan_text
from llmgw_desktop.engine.guard.walk import Piece, pieces

__all__ = ["Finding", "Inspection", "ScanCache", "inspect_body", "inspect_text", "summary"]

# A string at least this long is remembered on its own by its digest (shorter ones, by what
# holds them: `_units`).
CACHED_CHARS = 4096
# Characters of a finding's line shown around it to the person asked.
EXCERPT_CHARS = 60
# A finding's place is cut to this many characters (a key may be as long as a file).
PLACE_CHARS = 160
# What follows the place of a key (an object's field name) that holds a finding.
NAME_PLACE = " (a field's name)"
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
        return summary(self.findings)


def summary(findings: Sequence[Finding], noun: str = "secret") -> str:
    """`2 secrets (aws_access_key in messages[1].content, line 3; …)`, never a value."""
    if not findings:
        return f"no {noun} found"
    listed = "; ".join(f.describe() for f in findings[:5])
    more = f"; and {len(findings) - 5} more" if len(findings) > 5 else ""
    plural = noun + ("es" if noun.endswith("ch") else "s")
    return f"{len(findings)} {noun if len(findings) == 1 else plural} ({listed}{more})"


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
    rules: OwnRules = NO_RULES,
) -> Inspection:
    """The secrets in a request body, and the operator's `rules`' matches (`walk.pieces`:
    its strings and its keys), within `max_chars` of text and `budget_s` of time (`cache`:
    long strings read before)."""
    return inspect_text(
        list(pieces(body)),
        personal=personal,
        max_chars=max_chars,
        budget_s=budget_s,
        cache=cache,
        rules=rules,
    )


def inspect_text(
    parts: list[Piece],
    *,
    personal: bool,
    max_chars: int,
    budget_s: float,
    cache: ScanCache | None = None,
    rules: OwnRules = NO_RULES,
) -> Inspection:
    """The secrets in `parts` (and `rules`' matches), read by unit (`_units`: a long string
    alone, the short strings of one message or one tool together, a binary payload alone): a
    unit read before is taken from `cache` by its digest, and only what is new to the
    conversation is read: each new long string on its own, the new short ones joined, so each
    rule runs once over them."""
    began = time.perf_counter()
    total = sum(len(text) + 1 for _where, text, _name, binary in parts if not binary)
    if total > max_chars:
        return Inspection(complete=False, reason=TOO_LARGE, chars=total)
    located: list[tuple[int, Hit]] = []  # (the part's index, the hit in that part)
    fresh: list[tuple[Unit, bytes]] = []
    person = b"p" if personal else b"s"
    for unit in _units(parts):
        digest = hashlib.blake2b(
            unit.text.encode(), digest_size=16, person=person, salt=rules.salt
        ).digest()
        known = cache.get(digest) if cache is not None else None
        if known is None:
            fresh.append((unit, digest))
        else:
            located += _spread(parts, unit, known)
    complete = True
    reading = Reading(personal, began + budget_s, rules)
    for batch in _batches(fresh):
        found, whole = _read_new([unit for unit, _ in batch], reading)
        complete = complete and whole
        for (unit, digest), hits in zip(batch, found, strict=True):
            if whole and cache is not None:
                cache.put(digest, hits)
            located += _spread(parts, unit, hits)
    return Inspection(
        _findings(parts, sorted(located, key=_order)),
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
    text, joined by line breaks; a binary payload is a unit alone."""

    indexes: tuple[int, ...]
    text: str
    binary: bool = False


@dataclass(frozen=True)
class Reading:
    """How new units are read: for personal data too, by when, and with which of the
    operator's rules."""

    personal: bool
    deadline: float
    rules: OwnRules


def _units(parts: list[Piece]) -> list[Unit]:
    """`parts` as units: each string of `CACHED_CHARS` or more alone (a tool result, a system
    prompt), each binary payload alone, and the shorter ones by what holds them
    (`messages[3]`, `tools[2]`), which a conversation sent again each turn sends unchanged."""
    groups: list[tuple[str | None, list[int]]] = []
    for index, (where, text, _name, binary) in enumerate(parts):
        if binary or len(text) >= CACHED_CHARS:
            groups.append((None, [index]))
            continue
        closing = where.find("]")
        owner = where[: closing + 1] if closing >= 0 else where.partition(".")[0]
        if groups and groups[-1][0] == owner:
            groups[-1][1].append(index)
        else:
            groups.append((owner, [index]))
    return [
        Unit(
            tuple(indexes),
            "\n".join(parts[index].text for index in indexes),
            binary=owner is None and parts[indexes[0]].binary,
        )
        for owner, indexes in groups
    ]


def _batches(fresh: list[tuple[Unit, bytes]]) -> list[list[tuple[Unit, bytes]]]:
    """New units in the batches they are read in: a long string, and a binary payload, on
    its own (a rule with triggers, such as AWS's secret key ignoring case, then runs over the
    strings that hold them, not over all that is new with one of them), the short ones
    together."""
    alone = [[new] for new in fresh if new[0].binary or len(new[0].text) >= CACHED_CHARS]
    short = [new for new in fresh if not new[0].binary and len(new[0].text) < CACHED_CHARS]
    return [*alone, short] if short else alone


def _read_new(units: list[Unit], reading: Reading) -> tuple[list[tuple[Hit, ...]], bool]:
    """The hits of `units`, read as one text, each in its unit's own text; and whether all
    was read."""
    starts: list[int] = []
    offset = 0
    for unit in units:
        starts.append(offset)
        offset += len(unit.text) + 1
    joined = "\n".join(unit.text for unit in units)
    scanned = scan_text(
        joined,
        personal=reading.personal,
        budget_s=max(0.0, reading.deadline - time.perf_counter()),
        binary=units[0].binary,
        rules=reading.rules,
    )
    found: list[list[Hit]] = [[] for _ in units]
    for hit in scanned.hits:
        at = bisect.bisect_right(starts, hit.start) - 1
        start, size = starts[at], len(units[at].text)
        found[at].append(Hit(hit.kind, hit.start - start, min(hit.end - start, size)))
    return [tuple(hits) for hits in found], scanned.complete


def _spread(parts: list[Piece], unit: Unit, hits: tuple[Hit, ...]) -> list[tuple[int, Hit]]:
    """A unit's hits, each in the part it is in."""
    if len(unit.indexes) == 1:
        return [(unit.indexes[0], hit) for hit in hits]
    starts: list[int] = []
    offset = 0
    for index in unit.indexes:
        starts.append(offset)
        offset += len(parts[index].text) + 1
    located = []
    for hit in hits:
        at = bisect.bisect_right(starts, hit.start) - 1
        index = unit.indexes[at]
        start, end = hit.start - starts[at], min(hit.end - starts[at], len(parts[index].text))
        located.append((index, Hit(hit.kind, start, end)))
    return located


def _findings(parts: list[Piece], located: list[tuple[int, Hit]]) -> tuple[Finding, ...]:
    """Each hit as a finding, its place and its excerpt with every value found written as
    its `[kind]` (a key that holds a secret names the place of everything below it)."""
    values = {parts[index].text[hit.start : hit.end]: hit.kind for index, hit in located}
    values.pop("", None)
    ordered = sorted(values, key=len, reverse=True)  # a value holding another goes whole
    pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def masked(text: str) -> str:
        return text if pattern is None else pattern.sub(lambda m: f"[{values[m.group()]}]", text)

    findings = []
    for index, hit in located:
        part = parts[index]
        start, end = hit.start, hit.end
        where = _cut(masked(part.where)) + (NAME_PLACE if part.name else "")
        findings.append(
            Finding(
                hit.kind,
                where,
                part.text.count("\n", 0, start) + 1,
                part.text[start:end],
                masked(_excerpt(part.text, start, end, hit.kind)),
            )
        )
    return tuple(findings)


def _cut(place: str) -> str:
    """A place no longer than `PLACE_CHARS`: its start and its end, which name it."""
    if len(place) <= PLACE_CHARS:
        return place
    head = PLACE_CHARS * 2 // 3
    return place[:head] + "…" + place[len(place) - (PLACE_CHARS - head - 1) :]


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
