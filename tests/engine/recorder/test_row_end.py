"""A request's row end in its stored form: rows of a batch that share a route (its redacted
JSON kept once a batch) are each stored whole and right, and a secret in that route is masked
in every one of them, in the journal and in the store a killed run's next start fills.

A run "killed" here is a recorder whose rows were finished (so journaled) and never flushed;
the next run opens the same data dir and store, as the gateway does at start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import sqlite3
from pathlib import Path
from typing import Any, cast

import pytest

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.journal import RecorderJournal
from llmgw_desktop.engine.recorder.pending import whole_row
from llmgw_desktop.engine.recorder.spill import RecorderSpill
from llmgw_desktop.engine.recorder.stored_form import ROW_DEFAULTS, BatchRedactor
from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.store import Database

SECRET = "sk-ant-api03-" + "B" * 40


class _Outcome(enum.StrEnum):
    OK = "ok"


@dataclasses.dataclass
class _Note:
    text: str
    count: int


def _route(target: str) -> dict[str, Any]:
    """A route as `RouteReport.to_record` gives it, a key sent as the model's name in it."""
    return {
        "requestedProvider": None,
        "requestedModel": f"gpt-4o {SECRET}",
        "project": None,
        "attempts": [{"target": target, "key": "config#1", "outcome": _Outcome.OK}],
        "maxTokens": 16384,
        "cost": {"source": "table", "prices": "2026-11"},
    }


def _end(recorder: FlightRecorder, target: str, *, streamed: bool = False) -> str:
    record_id = recorder.start(
        principal="local", provider="openai", model="gpt-4o", caller="sdk", transport="http"
    )
    if streamed:  # its start kept at the first byte, then its end
        recorder.keep_start(record_id)
        recorder.first_token(record_id)
    recorder.finish(
        record_id,
        state="completed",
        model="gpt-4o",
        cost_usd=5e-05,
        http_status=200,
        error_code=None,
        attempts=1,
        input_tokens=12,
        output_tokens=2,
        route=_route(target),
        requested_model=f"gpt-4o {SECRET}",
        project=None,
        fallback_used=False,
    )
    return record_id


def _stored(path: Path) -> dict[str, dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in conn.execute("SELECT * FROM requests")}


async def test_rows_sharing_a_route_are_each_stored_whole_after_a_kill(tmp_path: Path) -> None:
    db = Database(tmp_path / "llmgw.db")
    await db.open()
    recorder = FlightRecorder(db, spill=RecorderSpill(tmp_path), journal=RecorderJournal(tmp_path))
    await recorder.open()
    answered = [_end(recorder, "route-a/gpt-4o") for _ in range(3)]
    answered.append(_end(recorder, "route-b/gpt-4o"))
    streamed = _end(recorder, "route-a/gpt-4o", streamed=True)
    await db.close()  # no flush: what a kill -9 leaves
    journaled = b"".join(p.read_bytes() for p in tmp_path.glob("recorder-journal.*.jsonl"))
    assert SECRET.encode() not in journaled

    db = Database(tmp_path / "llmgw.db")
    await db.open()
    try:
        again = FlightRecorder(db, spill=RecorderSpill(tmp_path), journal=RecorderJournal(tmp_path))
        await again.open()
        assert await again.flush()
    finally:
        await db.close()
    rows = _stored(tmp_path / "llmgw.db")
    assert set(rows) == {*answered, streamed}
    for record_id, row in rows.items():
        assert SECRET not in json.dumps(row)
        assert row["state"] == "completed" and row["caller"] == "sdk"
        assert row["transport"] == "http" and row["provider"] == "openai"
        assert (row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (12, 2, 5e-05)
        assert row["project"] is None and row["error_code"] is None
        assert row["approval_json"] is None and row["finished_at"] >= row["started_at"]
        route = json.loads(row["route_json"])
        assert "[REDACTED]" in route["requestedModel"]
        assert "[REDACTED]" in row["requested_model"]
        target = "route-b/gpt-4o" if record_id == answered[3] else "route-a/gpt-4o"
        assert route["attempts"] == [{"target": target, "key": "config#1", "outcome": "ok"}]
        assert route["cost"] == {"source": "table", "prices": "2026-11"}
        # The streamed row's route alone says when its first token came.
        assert ("firstTokenMs" in route) == (record_id == streamed)


@pytest.mark.parametrize(
    "value",
    [
        _route("route-a/gpt-4o"),
        {"notices": (f"key={SECRET}", 1.5, None, True), "nested": [[{"x": SECRET}]]},
        [SECRET, {"ok": _Outcome.OK}],
        {},
        # Objects ending in numbers: the text of the rest, the number put back.
        {**_route("route-a/gpt-4o"), "firstTokenMs": 4.49},
        {"a": 1, "b": 2.5, "c": True, "d": float("nan")},
        {"key": SECRET, "n": 3},
        {"nested": {"x": SECRET, "n": 1}, "tokens": 10**30 // 10**12},
        # A dataclass, which orjson writes as an object: its texts are walked as a dict's.
        _Note(f"key={SECRET}", 2),
        {"note": _Note(SECRET, 1), "notes": [_Note(SECRET, 3)]},
    ],
)
def test_a_json_column_is_the_walk_whether_seen_before_in_the_batch_or_not(value: Any) -> None:
    texts = BatchRedactor()
    walked = jsonio.dumps_text(BatchRedactor().data(value))
    assert texts.json(value) == walked
    assert texts.json(value) == walked  # the batch's kept text, the same
    assert SECRET not in walked


def test_a_json_column_json_cannot_hold_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        BatchRedactor().json({"when": {1, 2}})


def test_a_text_remembered_as_clean_is_masked_once_the_process_knows_it_as_a_secret() -> None:
    secret = "operator-bearer-0123456789abcdef"
    route = {"requestedModel": f"model {secret}", "attempts": [{"target": "a"}]}
    # Not a secret yet (no shape, not known): written as it is, and remembered so.
    assert BatchRedactor().text(f"tool {secret}") == f"tool {secret}"
    assert secret in BatchRedactor().json(route)
    known_secrets.add(secret)
    try:
        # A later batch, and the same one: neither takes what was remembered before.
        for texts in (BatchRedactor(), BatchRedactor()):
            assert secret not in texts.text(f"tool {secret}")
            assert secret not in texts.json(route)
    finally:
        known_secrets.clear()


def test_a_started_row_is_whole_already_and_its_stored_form_is_the_merge() -> None:
    recorder = FlightRecorder(cast(Database, None))
    record_id = recorder.start(principal="local", provider="openai", caller="sdk")
    recorder.update(record_id, input_tokens=7)
    with recorder._pending.taken() as batch:  # the row as it waits
        row = batch.new[record_id]
    # Every column with a default is there from the start, the id first: a copy of the row is
    # what a merge over the defaults gives (the store reads a row by its columns' names).
    assert next(iter(row)) == "id" and set(ROW_DEFAULTS) <= set(row)
    copied = whole_row(record_id, row)
    assert copied is not row and next(iter(copied)) == "id"
    assert copied == {"id": record_id, **ROW_DEFAULTS, **row}
    assert (copied["caller"], copied["input_tokens"], copied["attempts"]) == ("sdk", 7, 0)
    # A row without them (one whose start a flush took) is merged over them.
    partial = {"state": "completed", "id": record_id}
    merged = whole_row(record_id, partial)
    assert list(merged) == ["id", *ROW_DEFAULTS, "state"]
    assert merged["caller"] == "" and merged["state"] == "completed"


def test_each_started_row_is_its_own_and_starts_from_the_defaults() -> None:
    # `start` fills a copy of one template row: a row's later fields never reach the next.
    recorder = FlightRecorder(cast(Database, None))
    first = recorder.start(principal="local", provider="openai", caller="sdk")
    recorder.finish(first, state="completed", input_tokens=7, route={"rule": "r"})
    second = recorder.start(principal="other", provider="anthropic", replay_of=first)
    with recorder._pending.taken() as batch:
        one, two = batch.new[first], batch.new[second]
    assert one is not two
    assert (one["input_tokens"], one["route_json"], one["state"]) == (7, {"rule": "r"}, "completed")
    assert {name: two[name] for name in ROW_DEFAULTS} == ROW_DEFAULTS
    assert (two["id"], two["owner_principal"], two["provider"]) == (second, "other", "anthropic")
    assert (two["route_json"], two["state"]) == ({"replayOf": first}, "started")
    assert "finished_at" not in two and list(two)[:2] == ["id", "caller"]
