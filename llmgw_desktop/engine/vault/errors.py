"""The vault's errors: locked (the master key is missing or wrong) and corrupt (one record).

Messages name records by provider, name, project and id, never by value, and never carry the
master key.
"""

from __future__ import annotations

from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = ["VaultCorrupt", "VaultError", "VaultLocked"]


class VaultError(EngineError):
    """The vault cannot give out or keep a credential; the code says why."""

    code = ErrorCode.VAULT_LOCKED
    http_status = 400


class VaultLocked(VaultError):
    """No usable master key, or not the one the vault was created with.

    Nothing stored is touched while locked; the message says where keys are looked for and
    how to fix it. Retrying will not help until the key is restored, so it is answered with a
    status no client retries (`Cure.SET_UP`).
    """

    code = ErrorCode.VAULT_LOCKED
    http_status = 400


class VaultCorrupt(VaultError):
    """One stored record does not decrypt: it was altered or damaged in the database.

    Other records are unaffected; storing the credential again replaces the damaged one.
    """

    code = ErrorCode.VAULT_CORRUPT
    http_status = 500
