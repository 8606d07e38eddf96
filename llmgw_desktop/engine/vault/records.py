"""What a caller may store in the vault, checked in one place; how stored records are opened
and shown.

Error messages name the field and the rule, never the value: the value may be the secret.
Views carry metadata and, for API keys, a masked form; never a stored value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.vault.crypto import SealBroken, open_sealed, record_aad
from llmgw_desktop.engine.vault.errors import VaultCorrupt

__all__ = [
    "DEFAULT_KEY_NAME",
    "FILE_KIND",
    "GLOBAL_PROJECT",
    "KEY_KIND",
    "MAX_API_KEY_BYTES",
    "MAX_FILE_BYTES",
    "MAX_FILE_NAME",
    "MAX_IDENTIFIER",
    "check_api_key",
    "check_content",
    "check_file_name",
    "check_identifier",
    "check_record_id",
    "file_view",
    "key_view",
    "mask",
    "open_record",
    "record_name",
]

KEY_KIND = "api_key"
FILE_KIND = "auth_file"
GLOBAL_PROJECT = "_global"
DEFAULT_KEY_NAME = "default"
MAX_IDENTIFIER = 64
MAX_FILE_NAME = 128
MAX_API_KEY_BYTES = 16 * 1024
MAX_FILE_BYTES = 1024 * 1024
MAX_RECORD_ID = 64
# A masked key shows this many leading characters (enough to tell "sk-ant" from "sk-proj"),
# and only when the key is long enough that the rest still hides most of it.
MASK_PREFIX = 6
MIN_LENGTH_TO_SHOW_PREFIX = 20

_IDENTIFIER = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.\-]{{0,{MAX_IDENTIFIER - 1}}}")
_FILE_NAME = re.compile(rf"[A-Za-z0-9_.\-]{{1,{MAX_FILE_NAME}}}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_identifier(value: object, field: str) -> str:
    """A provider, key name or project: letters, digits, `_`, `.`, `-`; up to 64 characters.

    Raises:
        InvalidRequest: anything else (the message names `field`).
    """
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidRequest(
            f"{field} must be 1 to {MAX_IDENTIFIER} letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'",
            param=field,
        )
    return value


def check_file_name(value: object) -> str:
    """A plain file name: no folders, no `..`, up to 128 characters.

    Raises:
        InvalidRequest: anything else.
    """
    if not isinstance(value, str) or not _FILE_NAME.fullmatch(value) or ".." in value:
        raise InvalidRequest(
            f"file_name must be a plain file name of 1 to {MAX_FILE_NAME} letters, digits, "
            "'_', '.' or '-', without folders or '..'",
            param="file_name",
        )
    if value == ".":
        raise InvalidRequest("file_name must name a file, not '.'", param="file_name")
    return value


def check_api_key(value: object) -> str:
    """One line of printable text, up to 16 KiB.

    Raises:
        InvalidRequest: empty, too long, several lines, or padded with spaces.
    """
    if not isinstance(value, str) or not value:
        raise InvalidRequest("api_key must be a non-empty string", param="api_key")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRequest("api_key is not valid text", param="api_key") from None
    if size > MAX_API_KEY_BYTES:
        raise InvalidRequest(f"api_key is longer than {MAX_API_KEY_BYTES} bytes", param="api_key")
    if _CONTROL.search(value):
        raise InvalidRequest(
            "api_key must be one line without newlines or control characters", param="api_key"
        )
    if value != value.strip():
        raise InvalidRequest(
            "api_key starts or ends with spaces; paste the key alone", param="api_key"
        )
    return value


def check_content(value: object) -> bytes:
    """File content as bytes (text is stored as UTF-8), up to 1 MiB.

    Raises:
        InvalidRequest: not text or bytes, or too large.
    """
    if isinstance(value, str):
        try:
            value = value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest("content is not valid text", param="content") from None
    if not isinstance(value, bytes | bytearray):
        raise InvalidRequest("content must be text or bytes", param="content")
    if len(value) > MAX_FILE_BYTES:
        raise InvalidRequest(f"content is larger than {MAX_FILE_BYTES} bytes", param="content")
    return bytes(value)


def check_record_id(value: object) -> str:
    """A record id as given by `store_*` or `list_*`.

    Raises:
        InvalidRequest: not a short string.
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_RECORD_ID:
        raise InvalidRequest("id must be a record id from the vault's list", param="id")
    return value


def mask(api_key: str) -> str:
    """A form of the key safe to show: a short prefix of long keys, nothing of short ones."""
    if len(api_key) >= MIN_LENGTH_TO_SHOW_PREFIX:
        return api_key[:MASK_PREFIX] + "...***"
    return "***"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def key_view(row: Any, masked_value: str, *, readable: bool) -> dict[str, Any]:
    """An API key record as listed: metadata and the masked value."""
    return {
        "id": row.id,
        "provider": row.provider,
        "keyName": row.key_name,
        "project": row.project,
        "maskedValue": masked_value,
        "readable": readable,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def file_view(row: Any) -> dict[str, Any]:
    """An auth file record as listed: metadata only, never the content."""
    return {
        "id": row.id,
        "provider": row.provider,
        "fileName": row.file_name,
        "project": row.project,
        "size": row.size,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def record_name(kind: str, row: Any) -> str:
    """The name part of a record's identity: its key name or file name."""
    return str(row.key_name if kind == KEY_KIND else row.file_name)


def open_record(key: bytes, kind: str, row: Any) -> bytes:
    """The plaintext of a stored record.

    Raises:
        VaultCorrupt: the record was altered, moved to another row, or damaged.
    """
    name = record_name(kind, row)
    try:
        return open_sealed(key, row.sealed, record_aad(kind, row.provider, name, row.project))
    except SealBroken:
        label = "API key" if kind == KEY_KIND else "auth file"
        raise VaultCorrupt(
            f"the stored {label} for provider {row.provider!r}, name {name!r}, project "
            f"{row.project!r} (id {row.id}) cannot be decrypted: it was altered or damaged in "
            "the database. Other records are unaffected; store it again to replace it.",
            id=row.id,
            provider=row.provider,
            name=name,
            project=row.project,
        ) from None
