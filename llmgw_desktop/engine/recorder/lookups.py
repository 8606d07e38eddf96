"""Recorder rows read back whole: by a caller's correlation id, or the newest ones.

The desk's page of rows, its filters and search are `query.py`; these are the short reads of
`FlightRecorder.by_correlation` (the MCP job tools) and `recent`, each row a dict with its JSON
fields decoded. A caller-given id is looked up in its stored form (`lookup_key`), since the
recorder keeps a secret-looking id redacted.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.recorder.stored_form import JSON_FIELDS
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.store import Database

__all__ = ["lookup_key", "newest_by_correlation", "newest_rows"]


def lookup_key(value: str) -> str:
    """A caller-given id (correlation or session id) as the recorder stores it: look rows up
    by this, since a secret-looking id is kept redacted."""
    return redact(value)


async def newest_by_correlation(
    db: Database, principal: str, correlation_id: str
) -> dict[str, Any] | None:
    """The newest row this principal tagged with `correlation_id`."""
    model = db.models.RecordedRequest
    row = await db.run(
        lambda: (
            model.select()
            .where(
                (model.owner_principal == principal)
                & (model.correlation_id == lookup_key(correlation_id))
            )
            .order_by(model.started_at.desc())
            .dicts()
            .first()
        )
    )
    return None if row is None else _public(row)


async def newest_rows(db: Database, principal: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest rows (all principals when `principal` is None)."""
    model = db.models.RecordedRequest
    query = model.select().order_by(model.started_at.desc()).limit(limit).dicts()
    if principal is not None:
        query = query.where(model.owner_principal == principal)
    rows = await db.run(lambda: [dict(r) for r in query.iterator()])
    return [_public(r) for r in rows]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in JSON_FIELDS:
        raw = out.pop(f"{name}_json", None)
        out[name] = json.loads(raw) if raw else None
    return out
