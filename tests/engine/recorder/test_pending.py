"""The recorder's pending rows: a batch the store was not open for comes back without undoing
what was recorded while it was out."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.recorder.journal_replay import read_segment, recover_inserts
from llmgw_desktop.engine.recorder.pending import PendingRows


def test_a_batch_put_back_keeps_the_fields_recorded_since() -> None:
    pending = PendingRows()
    pending.add("written", {"id": "written", "state": "running"})
    with pending.taken():
        pass  # the first flush stored it
    pending.merge("written", {"state": "running", "output_tokens": 10})
    pending.add("begun", {"id": "begun", "state": "running"})
    with pending.taken() as batch:
        # While the batch is out (the store turns out to be closed), both rows finish.
        pending.merge("written", {"state": "completed", "output_tokens": 42})
        pending.merge("begun", {"state": "completed"})
        pending.put_back(batch)

    with pending.taken() as again:
        # The field only the batch had stays; those set since keep their later values.
        assert again.updates["written"] == {"state": "completed", "output_tokens": 42}
        assert again.new["begun"]["state"] == "running"  # inserted, then
        assert again.updates["begun"] == {"state": "completed"}  # updated after it


def test_a_batch_put_back_with_nothing_since_is_the_batch() -> None:
    pending = PendingRows()
    pending.add("a", {"id": "a"})
    with pending.taken():
        pass
    pending.merge("a", {"state": "failed", "error": "upstream 500"})
    with pending.taken() as batch:
        pending.put_back(batch)
    assert len(pending) == 1
    with pending.taken() as again:
        assert again.updates == {"a": {"state": "failed", "error": "upstream 500"}}


def _journal(lines: bytes) -> list[dict[str, Any]]:
    """What a replay writes from `lines`: the entries, with the inserts a damaged line lost
    taken from their updates."""
    entries, unreadable = read_segment(lines)
    assert unreadable == 0
    return recover_inserts(entries)


def _replayed(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rows `entries` give: an insert of a row that exists does nothing, an update sets."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if "insert" in entry:
            rows.setdefault(entry["insert"]["id"], dict(entry["insert"]))
        else:
            rows[entry["update"]].update(entry["fields"])
    return rows


STARTED = {"started_at": 1.0, "owner_principal": "local", "provider": "openai", "state": "started"}


def test_a_kept_start_then_its_end_replay_as_the_whole_row() -> None:
    pending = PendingRows()
    pending.add("s", {"id": "s", **STARTED, "model": "gpt-4o"})
    start = pending.start_lines("s")
    assert pending.start_lines("s") == b""  # once
    started = _replayed(_journal(start))
    assert started["s"]["state"] == "started" and started["s"]["model"] == "gpt-4o"
    pending.merge("s", {"route_json": {"traceId": "t1"}})
    pending.merge("s", {"state": "completed", "output_tokens": 7, "finished_at": 2.0})
    end = pending.journal_lines("s")
    assert end.count(b"\n") == 1  # the whole row as one update: its insert is journaled
    whole = _replayed(_journal(start + end))["s"]
    assert whole["state"] == "completed" and whole["output_tokens"] == 7
    assert whole["route_json"] == '{"traceId":"t1"}' and whole["model"] == "gpt-4o"
    # Its start's line lost (damaged), its end alone still gives the whole row.
    assert _replayed(_journal(end))["s"] == whole
    with pending.taken() as batch:  # the flush inserts the row as the journal wrote it
        assert batch.prepared["s"] == {"id": "s", **whole}


def test_a_start_stored_already_is_not_journaled() -> None:
    pending = PendingRows()
    pending.add("s", {"id": "s", **STARTED})
    with pending.taken():
        assert pending.start_lines("s") != b""  # in a flush not committed yet
    assert pending.start_lines("s") == b""
