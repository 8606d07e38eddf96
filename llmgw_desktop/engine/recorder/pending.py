"""The flight recorder's rows between a request and the store: recorded, not yet written.

`FlightRecorder` puts each row's start and later fields here as they happen, on the loop and
without blocking; `RecorderWriter` takes them all at a flush and writes them in one
transaction. A row's end also goes to the journal at once (`journal.py`), and so does the start
of one whose answer begins to reach its client before it ends (a stream): this module gives
each in the form the store would hold, and keeps that form for the flush to insert, so a row
is redacted and serialised once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple

from llmgw_desktop.engine.recorder.journal_replay import line_of, pair_lines, update_line
from llmgw_desktop.engine.recorder.stored_form import (
    ROW_DEFAULTS,
    BatchRedactor,
    store_in_place,
    stored_form,
)

__all__ = ["PendingBatch", "PendingRows", "whole_row"]

# What a row holds once every column with a default is in it (`whole_row`).
_WHOLE = frozenset({"id", *ROW_DEFAULTS})


class PendingBatch(NamedTuple):
    """What one flush takes: new rows, fields of rows written earlier, and their helpers."""

    new: dict[str, dict[str, Any]]
    # New rows in stored form as the journal wrote them at their end: inserted as they are.
    prepared: dict[str, dict[str, Any]]
    updates: dict[str, dict[str, Any]]
    # The texts of this batch already redacted (by the journal), reused by its write.
    texts: BatchRedactor


class PendingRows:
    """Rows recorded since the last flush, and the new rows of the flush under way."""

    def __init__(self) -> None:
        self._new: dict[str, dict[str, Any]] = {}
        self._updates: dict[str, dict[str, Any]] = {}
        # Texts redacted since the last flush (the recorder's caller and event model, the
        # journal's, then the flush's, reuse them); replaced at every flush, so nothing
        # outlives the batch it was made for.
        self.texts = BatchRedactor()
        # The rows of the flush under way (their inserts not committed yet), for the journal.
        self._in_flight: dict[str, dict[str, Any]] = {}
        # New rows in stored form as the journal wrote them at their end: the flush inserts
        # these instead of preparing them again (dropped when a row changes after).
        self._prepared: dict[str, dict[str, Any]] = {}
        # New rows whose start is journaled (`start_lines`): that start in stored form, and
        # the fields merged since, so the end is journaled without preparing the start again.
        self._kept: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def __len__(self) -> int:
        """Rows waiting: new ones and those with fields to update."""
        return len(self._new) + len(self._updates)

    def add(self, record_id: str, row: dict[str, Any]) -> None:
        """A row that began: inserted by the next flush."""
        self._new[record_id] = row

    def merge(self, record_id: str, fields: dict[str, Any]) -> None:
        """Fields that became known later, merged into the row's pending write."""
        self._prepared.pop(record_id, None)
        pending = self._new.get(record_id)
        if pending is not None:
            pending.update(fields)
            kept = self._kept.get(record_id)
            if kept is not None:
                kept[1].update(fields)
        else:
            self._updates.setdefault(record_id, {}).update(fields)

    def journal_lines(self, record_id: str) -> bytes:
        """The row's end as the journal keeps it (its lines): the whole row when its start is
        not written yet (an insert, then its fields again as an update, for a start stored
        meanwhile), else the fields to update."""
        texts = self.texts
        row = self._new.get(record_id)
        new = row is not None
        if row is None and record_id in self._in_flight:
            # Its start is in a flush not yet committed: a kill now would lose it too.
            row = self._in_flight[record_id] | self._updates.get(record_id, {})
        if row is None:
            fields = stored_form(self._updates.get(record_id, {}), texts)
            return line_of({"update": record_id, "fields": fields})
        kept = self._kept.pop(record_id, None) if new else None
        if kept is not None:  # its insert is journaled: the whole row as an update after it
            stored, since = kept
            stored.update(stored_form(since, texts))
            self._prepared[record_id] = stored
            return update_line(record_id, stored)
        stored = whole_row(record_id, row)
        store_in_place(stored, texts)
        if new:  # the next flush inserts it as it is now
            self._prepared[record_id] = stored
        return pair_lines(record_id, stored)

    def start_lines(self, record_id: str) -> bytes:
        """The row's start as the journal keeps it (its insert line) while the store does not
        hold it yet; b"" once it does. A row not changed since is inserted by the next flush
        in the form written here."""
        if record_id in self._kept:
            return b""  # journaled already
        row = self._new.get(record_id)
        new = row is not None
        if row is None:
            # In a flush not yet committed: a kill now would lose it too.
            row = self._in_flight.get(record_id)
        if row is None:
            return b""
        stored = whole_row(record_id, row)
        store_in_place(stored, self.texts)
        if new:
            self._prepared[record_id] = stored
            self._kept[record_id] = (stored, {})
        return line_of({"insert": stored})

    @contextlib.contextmanager
    def taken(self) -> Iterator[PendingBatch]:
        """Everything pending, for one flush; its new rows count as in flight until it ends."""
        batch = PendingBatch(self._new, self._prepared, self._updates, self.texts)
        self._new, self._prepared, self._updates, self._kept = {}, {}, {}, {}
        self.texts = BatchRedactor()
        self._in_flight = batch.new
        try:
            yield batch
        finally:
            self._in_flight = {}

    def put_back(self, batch: PendingBatch) -> None:
        """A batch the store was not open for, pending again, merged with what came since: a
        field the batch and a later update both set keeps the later value (a row finished
        while the batch was out must not go back to running)."""
        self._new = batch.new | self._new
        for record_id, fields in batch.updates.items():
            later = self._updates.get(record_id)
            self._updates[record_id] = fields if later is None else fields | later

    def clear(self) -> None:
        """Forget the rows waiting (the gateway stops and nothing could take them)."""
        self._new.clear()
        self._updates.clear()
        self._prepared.clear()
        self._kept.clear()


def whole_row(record_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """A copy of `row` with its id first and every column the schema defaults (`ROW_DEFAULTS`
    where it set none), to be made its stored form. The recorder's rows hold them all from
    their start, and a copy of one is a fraction of merging three."""
    if row.get("id") == record_id and next(iter(row)) == "id" and row.keys() >= _WHOLE:
        return row.copy()
    # The id first, so the row's JSON is the id's pair then the update's fields.
    return {"id": record_id, **ROW_DEFAULTS, **row}
