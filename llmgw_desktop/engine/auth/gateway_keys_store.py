"""Gateway keys' rows: plain functions run on the database thread (`Database.run`/`read`).

A key is looked up by the SHA-256 of its secret; the secret itself is never stored. Revoking
and rotating are conditional UPDATEs whose row counts say what changed, so they hold when
several gateway processes share the store.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.auth.key_scope import KEY_PRINCIPAL_PREFIX, KeyScope
from llmgw_desktop.engine.store.models import GatewayKeyRow, Models
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import portable

__all__ = [
    "KeyRecord",
    "by_digest",
    "insert_key",
    "list_keys",
    "live_keys",
    "names_like",
    "revoke_name",
    "touch",
]


@dataclass(frozen=True)
class KeyRecord:
    """One key as the store holds it (never its secret)."""

    id: str
    name: str
    shown: str  # `llmgw-…abcd`: enough for a person to tell keys apart
    scope: KeyScope
    budget_usd: float | None
    budget_period: str | None
    per_minute: int | None
    expires_at: float | None
    revoked_at: float | None
    created_at: float
    created_by: str
    last_used_at: float | None
    replaced_by: str | None

    @property
    def principal(self) -> str:
        return f"{KEY_PRINCIPAL_PREFIX}{self.name}"

    def state(self, now: float) -> str:
        """ "live", "revoked", "expired" or (rotated, in its grace) "retiring"."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "live" if self.revoked_at is None else "retiring"

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "principal": self.principal,
            "shown": self.shown,
            "state": self.state(now),
            "scope": self.scope.to_dict(),
            "budgetUsd": self.budget_usd,
            "budgetPeriod": self.budget_period,
            "perMinute": self.per_minute,
            "expiresAt": self.expires_at,
            "revokedAt": self.revoked_at,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "lastUsedAt": self.last_used_at,
            "replacedBy": self.replaced_by,
        }


def _record(row: GatewayKeyRow) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        name=row.name,
        shown=row.shown,
        scope=_scope(row.scopes_json),
        budget_usd=row.budget_usd,
        budget_period=row.budget_period,
        per_minute=row.per_minute,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        replaced_by=row.replaced_by,
    )


def insert_key(
    models: Models, record: KeyRecord, digest: str, *, lent_from: str | None = None
) -> None:
    models.GatewayKey.create(
        id=record.id,
        name=record.name,
        digest=digest,
        shown=record.shown,
        scopes_json=json.dumps(record.scope.to_dict(), sort_keys=True),
        budget_usd=record.budget_usd,
        budget_period=record.budget_period,
        per_minute=record.per_minute,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        created_at=record.created_at,
        created_by=record.created_by,
        last_used_at=None,
        replaced_by=None,
        lent_from=lent_from,
    )


# Every request presenting a key runs this: written by hand, as peewee's query building costs
# ten times the read itself (measured: ~50 us against ~500-1000 us per request on SQLite).
_BY_DIGEST = (
    "SELECT id, name, shown, scopes_json, budget_usd, budget_period, per_minute, expires_at,"
    " revoked_at, created_at, created_by, last_used_at, replaced_by"
    " FROM gateway_keys WHERE digest = ?"
)


def by_digest(models: Models, digest: str) -> KeyRecord | None:
    """The key whose secret has this SHA-256, or None."""
    database = models.database
    row = database.execute_sql(portable(database, _BY_DIGEST), (digest,)).fetchone()
    if row is None:
        return None
    return KeyRecord(
        id=row[0],
        name=row[1],
        shown=row[2],
        scope=_scope(row[3]),
        budget_usd=row[4],
        budget_period=row[5],
        per_minute=row[6],
        expires_at=row[7],
        revoked_at=row[8],
        created_at=row[9],
        created_by=row[10],
        last_used_at=row[11],
        replaced_by=row[12],
    )


@functools.lru_cache(maxsize=1024)
def _scope(scopes_json: str) -> KeyScope:
    """A stored scope, parsed once per distinct text (scopes are few, requests many)."""
    return KeyScope.from_dict(json.loads(scopes_json))


def list_keys(models: Models) -> list[KeyRecord]:
    """Every key of its own, newest first (revoked and rotated ones too: they are the history;
    the secrets lent from them are not listed)."""
    key = models.GatewayKey
    rows = key.select().where(key.lent_from.is_null())
    return [_record(row) for row in rows.order_by(key.created_at.desc(), key.id)]


def live_keys(models: Models, name: str, now: float, *, lent: bool = True) -> list[KeyRecord]:
    """The keys of `name` not revoked (a rotated one in its grace counts); with `lent` False,
    the keys of its own only, not the secrets lent from them."""
    key = models.GatewayKey
    alive = (key.name == name) & (key.revoked_at.is_null() | (key.revoked_at > now))
    rows = key.select().where(alive if lent else alive & key.lent_from.is_null())
    return [_record(row) for row in rows]


def drop_spent_loans(models: Models, name: str, now: float) -> int:
    """Delete the secrets lent from `name`'s keys that have expired or been revoked; how many
    (their calls' rows name the principal, which they shared with the key)."""
    key = models.GatewayKey
    spent = (key.expires_at <= now) | (key.revoked_at.is_null(False) & (key.revoked_at <= now))
    query = key.delete().where((key.name == name) & key.lent_from.is_null(False) & spent)
    return int(query.execute())


def names_like(models: Models, name: str, except_id: str) -> set[str]:
    """The names of every key but `except_id`, in any state, equal to `name` ignoring case."""
    key = models.GatewayKey
    rows = key.select(key.name).where(
        (peewee.fn.LOWER(key.name) == name.lower()) & (key.id != except_id)
    )
    return {row.name for row in rows}


def revoke_name(models: Models, name: str, at: float, *, replaced_by: str | None = None) -> int:
    """Revoke every key of `name` still unrevoked, from `at` (now, or the end of a grace);
    a key already revoking sooner keeps its earlier time."""
    key = models.GatewayKey
    unrevoked = key.revoked_at.is_null() | (key.revoked_at > at)
    changes: dict[Any, Any] = {key.revoked_at: at}
    if replaced_by is not None:
        changes[key.replaced_by] = replaced_by
    return int(
        key.update(changes)
        .where((key.name == name) & unrevoked & (key.id != (replaced_by or "")))
        .execute()
    )


def touch(models: Models, key_id: str, now: float) -> None:
    """Note that a key was used (the lists' "last used")."""
    key = models.GatewayKey
    key.update(last_used_at=now).where(key.id == key_id).execute()
