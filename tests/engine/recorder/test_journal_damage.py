"""A damaged recorder journal gives every row it can, says what it could not, and is kept.

A run "killed" here is a recorder whose rows were finished (so journaled) and never flushed;
the next run opens the same data dir and store, as the gateway does at start. Damage is what a
disk does: one byte of a line changed (which mostly still parses as JSON: a key `provider`
becoming `provhder`), or a segment holding nothing but noise.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import zlib
from pathlib import Path

import pytest

from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.journal import RecorderJournal
from llmgw_desktop.engine.recorder.spill import RecorderSpill
from llmgw_desktop.engine.store import Database

ROWS = 6
JOURNAL_LOG = "llmgw_desktop.engine.recorder.journal"  # one WARNING a segment, from here


def _rows(path: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT id, state FROM requests"))


async def _killed_run(data: Path) -> list[str]:
    """A run whose requests ended (journaled) and which died before any flush."""
    db = Database(data / "llmgw.db")
    await db.open()
    recorder = FlightRecorder(db, spill=RecorderSpill(data), journal=RecorderJournal(data))
    await recorder.open()
    ids = []
    for n in range(ROWS):
        record_id = recorder.start(principal="local", provider="openai", model="gpt-4o")
        recorder.finish(record_id, state="completed", input_tokens=10 + n)
        ids.append(record_id)
    await db.close()  # no flush: what a kill -9 leaves
    return ids


async def _next_run(data: Path) -> tuple[Database, FlightRecorder]:
    db = Database(data / "llmgw.db")
    await db.open()
    recorder = FlightRecorder(db, spill=RecorderSpill(data), journal=RecorderJournal(data))
    await recorder.open()
    return db, recorder


def _segments(data: Path) -> list[Path]:
    return sorted(data.glob("recorder-journal.*.jsonl"))


def _change_a_byte(line: bytes) -> bytes:
    """`line` with one byte of its JSON changed (bit 0 of a letter inside a key or value)."""
    changed = bytearray(line)
    middle = len(line) // 2
    at = next(i for i in range(middle, len(line)) if chr(line[i]).isalpha())
    changed[at] ^= 0x01
    return bytes(changed)


async def test_a_changed_byte_in_three_insert_lines_loses_no_row_and_is_kept_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _killed_run(tmp_path)
    [segment] = _segments(tmp_path)
    lines = segment.read_bytes().split(b"\n")
    inserts = [n for n, line in enumerate(lines) if line.startswith(b'{"insert"')]
    assert len(inserts) == ROWS
    for n in inserts[:3]:
        lines[n] = _change_a_byte(lines[n])
    damaged = b"\n".join(lines)
    segment.write_bytes(damaged)

    caplog.set_level(logging.WARNING)
    db, recorder = await _next_run(tmp_path)
    try:
        assert await recorder.flush()
        rows = _rows(db.path)
        assert {i: rows.get(i) for i in ids} == dict.fromkeys(ids, "completed")
        assert len(rows) == ROWS  # no row under a damaged id either
        reason = db.health.reason or ""
        assert "journal: 3 unreadable line(s) in 1 recorder journal segment(s)" in reason
    finally:
        await db.close()
    assert not segment.exists()
    kept = tmp_path / (segment.name + ".damaged")
    assert kept.read_bytes() == damaged  # left for the person, as it was
    assert not _segments(tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.name == JOURNAL_LOG]
    assert len(warnings) == 1, warnings
    assert "had 3 unreadable line(s)" in warnings[0] and str(kept) in warnings[0]


async def test_a_garbage_only_segment_is_kept_aside_and_reported_not_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _killed_run(tmp_path)
    noise = random.Random(38).randbytes(4096)
    garbage = tmp_path / "recorder-journal.00000007.jsonl"
    garbage.write_bytes(noise)

    caplog.set_level(logging.WARNING)
    db, recorder = await _next_run(tmp_path)
    try:
        assert await recorder.flush()
        assert _rows(db.path) == dict.fromkeys(ids, "completed")  # the whole segment's rows
        assert "journal:" in (db.health.reason or "")
        assert "recorder-journal.00000007.jsonl.damaged" in (db.health.reason or "")
    finally:
        await db.close()
    kept = tmp_path / "recorder-journal.00000007.jsonl.damaged"
    assert kept.read_bytes() == noise
    assert not _segments(tmp_path)  # the whole segment is deleted, its rows stored
    said = [r.getMessage() for r in caplog.records if r.name == JOURNAL_LOG]
    assert len(said) == 1 and "0 entr(ies) were read" in said[0], said


async def test_the_next_start_says_the_kept_segment_is_still_there_and_numbers_past_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kept = tmp_path / "recorder-journal.00000041.jsonl.damaged"
    kept.write_bytes(b"\x00" * 64)
    caplog.set_level(logging.WARNING)
    journal = RecorderJournal(tmp_path)
    assert journal.open() == 0  # never replayed again
    journal.append([{"update": "x", "fields": {"state": "completed"}}])
    journal.close()
    assert [p.name for p in _segments(tmp_path)] == ["recorder-journal.00000042.jsonl"]
    assert any("kept in" in r.getMessage() and kept.name in r.getMessage() for r in caplog.records)


def test_a_line_without_a_checksum_from_an_earlier_version_is_still_replayed(
    tmp_path: Path,
) -> None:
    # The format before lines carried a checksum: plain JSON lines.
    segment = tmp_path / "recorder-journal.00000001.jsonl"
    segment.write_bytes(b'{"update":"old","fields":{"state":"completed"}}\n')
    journal = RecorderJournal(tmp_path)
    journal.open()
    replay = journal.take_replay()
    assert replay.entries == [{"update": "old", "fields": {"state": "completed"}}]
    assert replay.whole == [segment] and not replay.damaged


def test_each_line_carries_the_checksum_of_its_json(tmp_path: Path) -> None:
    journal = RecorderJournal(tmp_path)
    journal.open()
    journal.append([{"update": "a", "fields": {"state": "completed"}}])
    journal.close()
    [line] = _segments(tmp_path)[0].read_bytes().splitlines()
    payload, _, crc = line.rpartition(b"\t")
    assert int(crc, 16) == zlib.crc32(payload)
