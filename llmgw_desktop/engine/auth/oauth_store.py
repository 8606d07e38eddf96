"""The OAuth server's records: clients, single-use codes, and hashed tokens with families.

Plain functions run on the database thread (`Database.run`). Codes and tokens are looked up by
SHA-256 digest; the clear values exist only in the responses that hand them out. Each single-use
step (redeeming a code, rotating a refresh token) is one conditional UPDATE whose row count says
who won, so it holds when several gateway processes share the store, on any engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.store.models import Models

__all__ = [
    "ClientRecord",
    "CodeRecord",
    "TokenRecord",
    "delete_client",
    "get_client",
    "get_token",
    "insert_code",
    "insert_tokens",
    "list_clients",
    "redeem_code",
    "revoke_client_tokens",
    "revoke_family",
    "rotate_refresh",
    "sync_config_clients",
    "upsert_client",
]


@dataclass(frozen=True)
class ClientRecord:
    client_id: str
    secret_digest: str | None
    name: str
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    public: bool
    registered_by: str  # "config", or the principal that registered it
    created_at: float
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CodeRecord:
    client_id: str
    redirect_uri: str
    redirect_uri_explicit: bool
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    resource: str | None
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class TokenRecord:
    kind: str  # "access" or "refresh"
    client_id: str
    scopes: tuple[str, ...]
    family_id: str
    resource: str | None
    expires_at: float
    rotated_at: float | None
    revoked_at: float | None


def _client(row: Any) -> ClientRecord:
    return ClientRecord(
        client_id=row.client_id,
        secret_digest=row.secret_digest,
        name=row.name,
        redirect_uris=tuple(json.loads(row.redirect_uris_json)),
        scopes=frozenset(row.scopes.split()),
        public=bool(row.public),
        registered_by=row.registered_by,
        created_at=row.created_at,
        metadata=json.loads(row.metadata_json or "{}"),
    )


def get_client(models: Models, client_id: str) -> ClientRecord | None:
    row = models.OAuthClient.get_or_none(models.OAuthClient.client_id == client_id)
    return None if row is None else _client(row)


def list_clients(models: Models) -> list[ClientRecord]:
    return [_client(r) for r in models.OAuthClient.select().order_by(models.OAuthClient.created_at)]


def upsert_client(models: Models, record: ClientRecord) -> None:
    fields = {
        "secret_digest": record.secret_digest,
        "name": record.name,
        "redirect_uris_json": json.dumps(list(record.redirect_uris)),
        "scopes": " ".join(sorted(record.scopes)),
        "public": record.public,
        "registered_by": record.registered_by,
        "metadata_json": json.dumps(record.metadata),
    }
    (
        models.OAuthClient.insert(
            client_id=record.client_id, created_at=record.created_at, **fields
        )
        .on_conflict(conflict_target=[models.OAuthClient.client_id], update=fields)
        .execute()
    )


def delete_client(models: Models, client_id: str, now: float) -> bool:
    with models.database.atomic():
        revoke_client_tokens(models, client_id, now)
        return bool(
            models.OAuthClient.delete().where(models.OAuthClient.client_id == client_id).execute()
        )


def sync_config_clients(models: Models, records: Iterable[ClientRecord], now: float) -> int:
    """Make the config's static clients the stored ones: upsert them, and drop (with their
    tokens) any config client no longer listed. Returns how many were dropped."""
    records = list(records)
    wanted = {r.client_id for r in records}
    dropped = 0
    with models.database.atomic():
        for record in records:
            upsert_client(models, record)
        stale = [
            row.client_id
            for row in models.OAuthClient.select().where(
                models.OAuthClient.registered_by == "config"
            )
            if row.client_id not in wanted
        ]
        for client_id in stale:
            dropped += int(delete_client(models, client_id, now))
    return dropped


def insert_code(models: Models, digest: str, record: CodeRecord, now: float) -> None:
    models.OAuthCode.insert(
        code_digest=digest,
        client_id=record.client_id,
        redirect_uri=record.redirect_uri,
        redirect_uri_explicit=record.redirect_uri_explicit,
        scopes=" ".join(record.scopes),
        code_challenge=record.code_challenge,
        code_challenge_method=record.code_challenge_method,
        resource=record.resource,
        created_at=now,
        expires_at=record.expires_at,
    ).execute()
    # Expired codes are of no use to anyone: trim them as new ones are made.
    models.OAuthCode.delete().where(models.OAuthCode.expires_at < now - 86400).execute()


def redeem_code(
    models: Models,
    digest: str,
    now: float,
    issue: Callable[[CodeRecord], list[dict[str, Any]] | None],
) -> CodeRecord | None:
    """Use a code up and store the tokens it buys, in one transaction; None for an unknown code.

    Only the caller that marks the code used calls `issue`, which returns the token rows to store
    (None when the exchange is refused: the code is used up all the same). The mark is one
    conditional UPDATE, so of several gateways racing one code exactly one wins; the others get
    the record with `used_at` set, and the winner's tokens are already stored when they see it,
    so revoking what the code bought (reuse detection) reaches them.
    """
    code = models.OAuthCode
    with models.database.atomic():
        # The write comes first: it takes the row (PostgreSQL) or the write lock (SQLite) before
        # anything is read, so no second reader acts on a stale "unused".
        claimed = (
            code.update(used_at=now)
            .where((code.code_digest == digest) & (code.used_at.is_null()))
            .execute()
        )
        row = code.get_or_none(code.code_digest == digest)
        if row is None:
            return None
        record = CodeRecord(
            client_id=row.client_id,
            redirect_uri=row.redirect_uri,
            redirect_uri_explicit=bool(row.redirect_uri_explicit),
            scopes=tuple(row.scopes.split()),
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
            resource=row.resource,
            expires_at=row.expires_at,
            used_at=None if claimed else row.used_at,
        )
        if claimed:
            rows = issue(record)
            if rows:
                models.OAuthToken.insert_many(rows).execute()
        return record


def insert_tokens(models: Models, rows: list[dict[str, Any]]) -> None:
    with models.database.atomic():
        models.OAuthToken.insert_many(rows).execute()


def get_token(models: Models, digest: str) -> TokenRecord | None:
    row = models.OAuthToken.get_or_none(models.OAuthToken.token_digest == digest)
    if row is None:
        return None
    return TokenRecord(
        kind=row.kind,
        client_id=row.client_id,
        scopes=tuple(row.scopes.split()),
        family_id=row.family_id,
        resource=row.resource,
        expires_at=row.expires_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
    )


def rotate_refresh(models: Models, digest: str, now: float, new_rows: list[dict[str, Any]]) -> bool:
    """Mark a refresh token used and store its successors, atomically; False if it was already
    rotated or revoked in the meantime (two refreshes racing, in one gateway or several sharing
    the store: the conditional UPDATE lets exactly one win)."""
    token = models.OAuthToken
    with models.database.atomic():
        changed = (
            token.update(rotated_at=now)
            .where(
                (token.token_digest == digest)
                & (token.rotated_at.is_null())
                & (token.revoked_at.is_null())
            )
            .execute()
        )
        if not changed:
            return False
        token.insert_many(new_rows).execute()
        return True


def revoke_family(models: Models, family_id: str, now: float) -> int:
    token = models.OAuthToken
    return int(
        token.update(revoked_at=now)
        .where((token.family_id == family_id) & (token.revoked_at.is_null()))
        .execute()
    )


def revoke_client_tokens(models: Models, client_id: str, now: float) -> int:
    token = models.OAuthToken
    return int(
        token.update(revoked_at=now)
        .where((token.client_id == client_id) & (token.revoked_at.is_null()))
        .execute()
    )


def active_grants(models: Models, now: float) -> list[dict[str, Any]]:
    """Per client: live token families, for the dashboard (no token values)."""
    token = models.OAuthToken
    rows = (
        token.select(
            token.client_id, token.family_id, token.scopes, token.created_at, token.expires_at
        )
        .where(
            (token.kind == "refresh")
            & (token.revoked_at.is_null())
            & (token.rotated_at.is_null())
            & (token.expires_at > now)
        )
        .dicts()
    )
    return [dict(r) for r in rows.iterator()]
