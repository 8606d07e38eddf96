"""Reading back what an earlier run left in the recorder's journal, line by line.

Each journal line is an entry's JSON, a tab and the CRC-32 of that JSON in eight hex digits.
A line whose checksum does not match, that is not JSON, or that is not an entry of the shape
the journal writes is damaged: it is counted, never written, and its segment is kept aside for
the person (`RecorderJournal.set_aside`) rather than deleted. Without the checksum a changed
byte usually still parses (a key `provider` becoming `provhder`): the batch carrying it was
refused by the store as a whole (NOT NULL), and with it every readable row of the segment. A
line written before the checksum existed (no tab) is taken when it parses and has the shape.

A request's end is journaled as a pair when its start was not stored yet: the whole row as an
insert, then its fields again as an update of the same id (for a start stored meanwhile). So
when only the insert line is damaged, the update line still holds the whole row; the replay
inserts it from there (an insert of a row that exists does nothing), and the row is not lost.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.recorder.rows import Entry

__all__ = [
    "DamagedSegment",
    "JournalReplay",
    "line_of",
    "pair_lines",
    "read_segment",
    "recover_inserts",
    "update_line",
]

_TAB = b"\t"
_CRC_DIGITS = 8
# What a whole row always holds (the columns without a default): an update carrying them is
# the second half of a journaled pair, and can stand in for its insert.
_WHOLE_ROW = ("started_at", "owner_principal", "provider", "state")


@dataclass(frozen=True)
class DamagedSegment:
    """A segment with lines that could not be read: how many were, and how many not."""

    path: Path
    read: int
    unreadable: int


@dataclass
class JournalReplay:
    """What an earlier run's segments hold: entries to write, and which segments go where
    once they are written (whole ones deleted, damaged ones kept aside)."""

    whole: list[Path] = field(default_factory=list)
    damaged: list[DamagedSegment] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def segments(self) -> list[Path]:
        return [*self.whole, *(d.path for d in self.damaged)]


def line_of(entry: Entry) -> bytes:
    """`entry` as one journal line: its JSON, a tab, the JSON's CRC-32, a newline."""
    data = jsonio.dumps(entry)
    return data + b"\t%08x\n" % zlib.crc32(data)


def pair_lines(record_id: str, row: dict[str, Any]) -> bytes:
    """The lines of a row's insert and of its update by the same fields (the pair a request's
    end is journaled as when its start is not stored yet), the row serialised once: the
    update's fields are the row's JSON without its first pair, the id's, when `row` begins
    with it (else each entry is serialised on its own)."""
    data = jsonio.dumps(row)
    head = b'{"id":' + jsonio.dumps(record_id) + b","
    if not data.startswith(head) or row.get("id") != record_id:
        return line_of({"insert": row}) + _update_line(record_id, row, b"", b"")
    # Joined once, not added up: each `+` copied the row's kilobyte of JSON once more.
    insert = b"".join((b'{"insert":', data, b"}"))
    update = _fields_of(data, head)
    return b"".join(
        (insert, b"\t%08x\n" % zlib.crc32(insert), update, b"\t%08x\n" % zlib.crc32(update))
    )


def update_line(record_id: str, row: dict[str, Any]) -> bytes:
    """The line of an update of `row` by all its fields (the second of `pair_lines`): what a
    request's end is journaled as when its start's insert is journaled already."""
    data = jsonio.dumps(row)
    return _update_line(record_id, row, data, b'{"id":' + jsonio.dumps(record_id) + b",")


def _update_line(record_id: str, row: dict[str, Any], data: bytes, head: bytes) -> bytes:
    """The update line of `row`: its JSON `data` without its first pair, the id's (`head`),
    when it begins with it; else its fields serialised on their own."""
    if not head or not data.startswith(head) or row.get("id") != record_id:
        fields = {name: value for name, value in row.items() if name != "id"}
        return line_of({"update": record_id, "fields": fields})
    update = _fields_of(data, head)
    return update + b"\t%08x\n" % zlib.crc32(update)


def _fields_of(data: bytes, head: bytes) -> bytes:
    """The update entry of a row whose JSON `data` begins with its id's pair (`head`): the
    same JSON without that pair, under the id. A slice of the rest, not a memoryview of it
    (which costs more to make than the slice's copy of a kilobyte)."""
    return b"".join((b'{"update":', head[6:], b'"fields":{', data[len(head) :], b"}"))


def read_segment(data: bytes) -> tuple[list[Entry], int]:
    """The entries of one segment's bytes, and how many non-empty lines were unreadable."""
    entries: list[Entry] = []
    unreadable = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue  # the line break that ended a torn write, or the file's last newline
        entry = _entry_of(line)
        if entry is None:
            unreadable += 1
        else:
            entries.append(entry)
    return entries, unreadable


def recover_inserts(entries: list[Entry]) -> list[Entry]:
    """`entries` with an insert added for every whole-row update whose insert is missing (its
    line was damaged), placed just before that update."""
    inserted = {e["insert"]["id"] for e in entries if "insert" in e}
    out: list[Entry] = []
    for entry in entries:
        record_id = entry.get("update")
        fields = entry.get("fields")
        if (
            isinstance(record_id, str)
            and record_id not in inserted
            and isinstance(fields, dict)
            and all(name in fields for name in _WHOLE_ROW)
        ):
            out.append({"insert": {**fields, "id": record_id}})
            inserted.add(record_id)
        out.append(entry)
    return out


def _entry_of(line: bytes) -> Entry | None:
    """The entry a line holds, or None when it is damaged (see the module docstring)."""
    payload, tab, crc = line.rpartition(_TAB)
    if tab:
        if len(crc) != _CRC_DIGITS or not _is_hex(crc) or zlib.crc32(payload) != int(crc, 16):
            return None
    else:
        payload = line  # written before lines carried a checksum
    try:
        entry = jsonio.loads(payload)
    except ValueError:
        return None
    return entry if _is_entry(entry) else None


def _is_hex(text: bytes) -> bool:
    return all(c in b"0123456789abcdef" for c in text)


def _is_entry(entry: Any) -> bool:
    """Whether `entry` has the shape the journal writes (what the store needs of a row)."""
    if not isinstance(entry, dict):
        return False
    if "insert" in entry:
        row = entry["insert"]
        return (
            isinstance(row, dict)
            and isinstance(row.get("id"), str)
            and isinstance(row.get("started_at"), int | float)
            and all(isinstance(row.get(name), str) for name in _WHOLE_ROW[1:])
        )
    return isinstance(entry.get("update"), str) and isinstance(entry.get("fields"), dict)
