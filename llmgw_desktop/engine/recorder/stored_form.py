"""A recorder row as the store holds it: every text column redacted, the JSON ones as JSON text.

The flight recorder writes rows in this form to the store, the journal and the spill file
alike, so a row read back from any of them is the row the store would have had. Redacting is
done per batch (`BatchRedactor`): a batch repeats the same provider, model, caller and route
strings row after row, and each distinct one is redacted once. What the redactor leaves as it
was (the provider's name, a target, an outcome: no secret in it, by the redactor's own word)
is remembered beyond the batch too (`_Clean`), so a quiet gateway, whose batches hold a row or
two, does not redact the same dozen texts again every quarter second.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.redact import known_secrets, redact
from llmgw_desktop.engine.store.models import RecordedRequestRow
from llmgw_desktop.engine.store.orm import peewee

__all__ = [
    "AS_IS",
    "JSON_FIELDS",
    "ROW_DEFAULTS",
    "TEXT_COLUMNS",
    "BatchRedactor",
    "store_in_place",
    "stored_form",
]

# A tuple, not `X | Y`: a union written in the call is built again at each call, and
# isinstance reads a tuple faster (this runs for each value of each request).
_SEQUENCES = (list, tuple)
# A number as JSON writes it, nothing in it to redact (`BatchRedactor.json`; bool is one too).
_NUMBERS = frozenset({int, float, bool})

JSON_FIELDS = ("approval", "optimization", "route")
_JSON_COLUMNS = tuple(f"{name}_json" for name in JSON_FIELDS)
# Written as they are: the record's own id and its gateway process's (ours), and the principal
# every read filters on (an identity the edge decided, not text a request supplied).
AS_IS = frozenset({"id", "owner_principal", "owner_process"})
# The other text columns of `requests`, each redacted (`store_in_place`), read from the table's
# model: named, not found by walking a row's 34 columns, which cost about 800 instructions a
# column where most hold numbers or nothing. `test_stored_form.py` reads the TEXT columns of
# every migration of the table (SQLite's and PostgreSQL's) and fails on one not covered.
TEXT_COLUMNS = tuple(
    field.column_name
    for field in RecordedRequestRow._meta.sorted_fields
    if isinstance(field, peewee.TextField)
    and field.column_name not in AS_IS
    and field.column_name not in _JSON_COLUMNS
)


# Columns the schema declares NOT NULL with a default; a record that never set them gets these.
ROW_DEFAULTS: dict[str, Any] = {
    "caller": "",
    "transport": "",
    "tool": "",
    "attempts": 0,
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "reasoning_tokens": 0,
    "fallback_used": 0,
    "failed_over": 0,
}


class _Clean:
    """Texts, and JSON values as JSON, that redacting leaves as they were: written to the store
    as they are, so remembering them keeps nothing a row does not show. Forgotten whole when
    the process learns a secret more (`known_secrets.version`: one of them may hold it now)
    or when they reach `MOST`; a long text is not kept (it rarely comes again)."""

    MOST = 4096
    LONGEST = 2048

    def __init__(self) -> None:
        self.version = known_secrets.version
        self.texts: set[str] = set()
        self.json: set[bytes] = set()

    def current(self) -> _Clean:
        """Itself, emptied first if the process's secrets changed since it was filled."""
        if self.version != known_secrets.version:
            self.texts, self.json = set(), set()
            self.version = known_secrets.version
        return self

    def add_text(self, text: str) -> None:
        if len(text) <= self.LONGEST:
            if len(self.texts) >= self.MOST:
                self.texts = set()
            self.texts.add(text)

    def add_json(self, given: bytes) -> None:
        if len(given) <= self.LONGEST:
            if len(self.json) >= self.MOST:
                self.json = set()
            self.json.add(given)


# One a process, like `known_secrets` (the recorder's flushes and the journal share it).
_CLEAN = _Clean()


class BatchRedactor:
    """Redacts the texts of one flush, each distinct one once: a batch repeats the same
    provider, model, caller and route strings row after row. It lives for one flush only, so
    it keeps nothing (a secret included) in memory beyond the write; what redacting left as it
    was is remembered beyond it (`_Clean`), and holds no secret."""

    def __init__(self) -> None:
        # Read directly where a batch's texts are redacted in a loop (a call a text cost more
        # than the lookup: `store_in_place`, `data`).
        self.done: dict[str, str] = {}
        # The recorder's callers as rows keep them (`recorded_caller`), for the same batch.
        self.callers: dict[str, str] = {}
        # A JSON column's stored text by its value's JSON as given: a batch's routes repeat
        # (the same targets, keys and outcomes), and serialising one is a C call where
        # redacting it is a walk in Python. Keyed by what it was made from, so a hit is the
        # text the walk would give; it lives as long as `done`, holding what `done` holds.
        self.json_done: dict[bytes, str] = {}
        self.version = known_secrets.version

    def current(self) -> BatchRedactor:
        """Itself, its texts forgotten first if the process learned a secret since they were
        redacted: a text remembered as clean may hold it, and a flush lasts a quarter second."""
        if self.version != known_secrets.version:
            self.done.clear()  # in place: a loop may hold it (`store_in_place`)
            self.callers.clear()
            self.json_done.clear()
            self.version = known_secrets.version
        return self

    def text(self, value: str) -> str:
        done = self.current().done.get(value)
        if done is None:
            clean = _CLEAN.current()
            if value in clean.texts:
                done = value
            else:
                done = redact(value)
                if done == value:
                    clean.add_text(value)
            self.done[value] = done
        return done

    def json(self, value: Any) -> str:
        """`value` redacted (`data`) as JSON text, each distinct value walked once a batch.
        An object whose last item is a number (a streamed row's route ends in its own
        `firstTokenMs`) is the rest's text with that item put back: the rest is what repeats,
        and a number is written as it is, its key being ours."""
        if value.__class__ is dict and len(value) > 1:
            key, last = next(reversed(value.items()))
            if last.__class__ in _NUMBERS and key.__class__ is str:
                rest = value.copy()
                del rest[key]
                return (
                    f"{self.json(rest)[:-1]},{jsonio.dumps_text(key)}:{jsonio.dumps_text(last)}}}"
                )
        try:
            given = jsonio.dumps(value)
        except TypeError:  # not JSON as given: redacted then serialised, which says why
            return jsonio.dumps_text(self.data(value))
        stored = self.current().json_done.get(given)
        if stored is None:
            clean = _CLEAN.current()
            if given in clean.json:
                stored = given.decode()
            else:
                stored = jsonio.dumps_text(self.data(value))
                if stored.encode() == given:
                    clean.add_json(given)
            self.json_done[given] = stored
        return stored

    def data(self, value: Any) -> Any:
        """JSON-like `value` with every string redacted (keys are ours and kept). A dataclass,
        which the JSON writer would write as an object, is walked as its fields' object."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, _SEQUENCES):
            return [self.data(v) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._object(dataclasses.asdict(value))
        return value

    def _object(self, value: dict[str, Any]) -> dict[str, Any]:
        """`data` of a JSON object. Leaves of a row's route are mostly texts redacted already
        in this batch, None and numbers: none of those costs a call, and an object inside one
        is walked here without passing `data`."""
        done = self.done
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str):
                masked = done.get(item)
                out[key] = masked if masked is not None else self.text(item)
            elif isinstance(item, dict):
                out[key] = self._object(item)
            elif isinstance(item, _SEQUENCES):
                out[key] = [self._object(v) if isinstance(v, dict) else self.data(v) for v in item]
            elif item is None or item.__class__ in _NUMBERS:
                out[key] = item
            else:
                out[key] = self.data(item)
        return out


def stored_form(fields: dict[str, Any], texts: BatchRedactor) -> dict[str, Any]:
    """Fields as written: every text redacted (inside the JSON ones, string by string, so the
    JSON stays JSON), apart from the record id and the principal. Runs on the DB thread."""
    out = dict(fields)  # most values (numbers, None) are written as they are
    store_in_place(out, texts)
    return out


def store_in_place(row: dict[str, Any], texts: BatchRedactor) -> None:
    """`row` turned into its `stored_form` (for a row built for the purpose: a request's end,
    on the loop, where it is made once a request). Only values change, never keys."""
    done = texts.current().done
    get = row.get
    for name in TEXT_COLUMNS:
        value = get(name)
        if value is not None and isinstance(value, str):
            masked = done.get(value)
            row[name] = masked if masked is not None else texts.text(value)
    for name in _JSON_COLUMNS:
        value = get(name)
        if value is not None:
            row[name] = texts.json(value)
