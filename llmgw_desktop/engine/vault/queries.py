"""The vault's reads and writes, as plain functions run on the database thread.

Each takes the store's `Models` first; `Vault` hands them to `Database.run`. None of them sees
a plaintext value: they move sealed text only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from llmgw_desktop.engine.store.models import Models
from llmgw_desktop.engine.vault.records import FILE_KIND, KEY_KIND

__all__ = [
    "KEY_CHECK_META",
    "adopt_key_check",
    "delete_record",
    "file_rows",
    "file_summaries",
    "key_rows",
    "read_state",
    "upsert_file",
    "upsert_key",
]

KEY_CHECK_META = "vault.key_check"
# Records tried when adopting a key without a check; one damaged record must not lock it.
ADOPT_SAMPLES = 5


def read_state(models: Models) -> tuple[str | None, bool]:
    """The stored key check (None if there is none) and whether any record exists."""
    row = models.StoreMeta.get_or_none(models.StoreMeta.key == KEY_CHECK_META)
    has_records = models.VaultKey.select().exists() or models.VaultFile.select().exists()
    return (str(row.value) if row else None), has_records


def adopt_key_check(
    models: Models, make_check: Callable[[], str], key_opens: Callable[[str, Any], bool]
) -> str | None:
    """Store a new key check unless one exists; return the check now stored.

    With records but no check (a check removed by hand), the check is written only if
    `key_opens` accepts one of a few records; otherwise nothing is written and None is returned.
    """
    with models.database.atomic():
        existing = models.StoreMeta.get_or_none(models.StoreMeta.key == KEY_CHECK_META)
        if existing is not None:
            return str(existing.value)
        samples: list[tuple[str, Any]] = [
            (KEY_KIND, row) for row in models.VaultKey.select().limit(ADOPT_SAMPLES)
        ]
        samples += [(FILE_KIND, row) for row in models.VaultFile.select().limit(ADOPT_SAMPLES)]
        if samples and not any(key_opens(kind, row) for kind, row in samples):
            return None
        # Ignore a conflict: another process may have written its check a moment ago, and
        # the caller verifies whichever check ends up stored.
        models.StoreMeta.insert(
            key=KEY_CHECK_META, value=make_check()
        ).on_conflict_ignore().execute()
        return str(models.StoreMeta.get_by_id(KEY_CHECK_META).value)


def upsert_key(
    models: Models, provider: str, key_name: str, project: str, sealed: str, now: float
) -> str:
    """Insert or replace the API key with this identity; return its id."""
    VaultKey = models.VaultKey
    with models.database.atomic():
        VaultKey.insert(
            id=f"key-{uuid.uuid4().hex}",
            provider=provider,
            key_name=key_name,
            project=project,
            sealed=sealed,
            created_at=now,
            updated_at=now,
        ).on_conflict(
            conflict_target=[VaultKey.provider, VaultKey.key_name, VaultKey.project],
            update={VaultKey.sealed: sealed, VaultKey.updated_at: now},
        ).execute()
        row = VaultKey.get(
            (VaultKey.provider == provider)
            & (VaultKey.key_name == key_name)
            & (VaultKey.project == project)
        )
        return str(row.id)


def upsert_file(
    models: Models,
    provider: str,
    file_name: str,
    project: str,
    sealed: str,
    size: int,
    now: float,
) -> str:
    """Insert or replace the auth file with this identity; return its id."""
    VaultFile = models.VaultFile
    with models.database.atomic():
        VaultFile.insert(
            id=f"file-{uuid.uuid4().hex}",
            provider=provider,
            file_name=file_name,
            project=project,
            sealed=sealed,
            size=size,
            created_at=now,
            updated_at=now,
        ).on_conflict(
            conflict_target=[VaultFile.provider, VaultFile.file_name, VaultFile.project],
            update={VaultFile.sealed: sealed, VaultFile.size: size, VaultFile.updated_at: now},
        ).execute()
        row = VaultFile.get(
            (VaultFile.provider == provider)
            & (VaultFile.file_name == file_name)
            & (VaultFile.project == project)
        )
        return str(row.id)


def key_rows(models: Models, provider: str | None, scopes: list[str] | None) -> list[Any]:
    """API key rows, by provider, project and name; all providers or projects when None."""
    VaultKey = models.VaultKey
    query = VaultKey.select().order_by(VaultKey.provider, VaultKey.project, VaultKey.key_name)
    if provider is not None:
        query = query.where(VaultKey.provider == provider)
    if scopes is not None:
        query = query.where(VaultKey.project.in_(scopes))
    return list(query)


def file_rows(models: Models, provider: str, scopes: list[str]) -> list[Any]:
    """`provider`'s auth file rows, with their sealed content, in the given projects."""
    VaultFile = models.VaultFile
    query = VaultFile.select().where(
        (VaultFile.provider == provider) & VaultFile.project.in_(scopes)
    )
    return list(query.order_by(VaultFile.file_name))


def file_summaries(models: Models, scopes: list[str] | None) -> list[Any]:
    """Auth file rows without their content: listing must not pull megabytes of sealed text."""
    VaultFile = models.VaultFile
    query = VaultFile.select(
        VaultFile.id,
        VaultFile.provider,
        VaultFile.file_name,
        VaultFile.project,
        VaultFile.size,
        VaultFile.created_at,
        VaultFile.updated_at,
    ).order_by(VaultFile.provider, VaultFile.project, VaultFile.file_name)
    if scopes is not None:
        query = query.where(VaultFile.project.in_(scopes))
    return list(query)


def delete_record(models: Models, kind: str, record_id: str) -> bool:
    """Delete one API key (`KEY_KIND`) or auth file (`FILE_KIND`); whether a row went."""
    model = models.VaultKey if kind == KEY_KIND else models.VaultFile
    return bool(model.delete().where(model.id == record_id).execute())
