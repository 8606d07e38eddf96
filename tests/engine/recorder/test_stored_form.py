"""A recorder row's stored form redacts every text column the `requests` table has: the
columns are read from the table's model (`TEXT_COLUMNS`), so a migration that adds one must add
it to the model too, as a text field."""

from __future__ import annotations

import re

from llmgw_desktop.engine.recorder.stored_form import (
    AS_IS,
    JSON_FIELDS,
    TEXT_COLUMNS,
    BatchRedactor,
    stored_form,
)
from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.store.migrations import MIGRATIONS

SECRET = "sk-ant-api03-" + "B" * 40
_REQUESTS = re.compile(r"\bTABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?requests\b", re.I)
_TEXT_COLUMN = re.compile(r"(\w+)\s+TEXT\b", re.I)


def _text_columns(statements: tuple[str, ...]) -> set[str]:
    """The TEXT columns that `statements` create `requests` with or add to it."""
    return {
        name
        for statement in statements
        if _REQUESTS.search(statement)
        for name in _TEXT_COLUMN.findall(statement)
    }


def test_every_text_column_of_requests_is_redacted_or_named_as_is() -> None:
    covered = {*TEXT_COLUMNS, *AS_IS, *(f"{name}_json" for name in JSON_FIELDS)}
    for engine in ("statements", "postgresql"):
        declared = set().union(*(_text_columns(getattr(m, engine)) for m in MIGRATIONS))
        assert "caller" in declared  # the statements were read
        assert declared <= covered, f"{engine}: {sorted(declared - covered)} not redacted"


def test_each_text_column_is_redacted_and_the_others_are_kept() -> None:
    fields = dict.fromkeys(TEXT_COLUMNS, f"key={SECRET}")
    fields |= {"id": "r1", "owner_principal": "key:bench", "input_tokens": 3, "cost_usd": None}
    fields |= {"route_json": {"attempts": [{"target": SECRET}]}, "approval_json": None}
    fields["model"] = 7  # not text: written as it is

    stored = stored_form(fields, BatchRedactor())

    assert list(stored) == list(fields)
    assert SECRET not in repr(stored)
    for name in TEXT_COLUMNS:
        if name != "model":
            assert stored[name].startswith("key=") and stored[name] != fields[name]
    assert stored["route_json"].startswith('{"attempts":[{"target":"')
    kept = ("id", "owner_principal", "input_tokens", "cost_usd", "approval_json", "model")
    assert {name: stored[name] for name in kept} == {name: fields[name] for name in kept}


def test_a_secret_learned_during_a_batch_is_redacted_in_the_rows_after_it() -> None:
    """A batch remembers each text as it redacted it: a text that held a value nobody had
    named a secret yet was remembered as clean, and written so again for the rest of the flush
    (up to a quarter second) after the value became a known secret."""
    value = "learned-mid-batch-" + "C" * 24
    texts = BatchRedactor()
    first = stored_form({"id": "r1", "caller": f"tool {value}"}, texts)
    assert first["caller"] == f"tool {value}"  # not a secret yet: as it is
    known_secrets.add(value)
    try:
        second = stored_form({"id": "r2", "caller": f"tool {value}"}, texts)
        assert value not in second["caller"], second
        assert value not in texts.text(f"tool {value}")
        assert value not in texts.json({"route": f"tool {value}"})
    finally:
        known_secrets.clear()
