"""AES-256-GCM sealing of vault records, bound to each record's identity.

A sealed value is base64 text of `nonce (12 bytes) || ciphertext+tag`. The record's identity
(kind, provider, name, project) is the associated data, so a ciphertext copied into another
row, or a row whose identity was edited, fails to open instead of handing out the wrong secret.
The cipher's library loads at the first seal or open (when the vault opens, beside the front
door's start), not with the modules that name the key's size.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets

__all__ = [
    "KEY_BYTES",
    "SealBroken",
    "key_check_opens",
    "open_sealed",
    "record_aad",
    "seal",
    "seal_key_check",
]

KEY_BYTES = 32
NONCE_BYTES = 12
# Bumped only with a new record format; part of every record's associated data.
FORMAT = "llmgw-vault/1"
# What the key check seals: any fixed text works, the tag is what proves the key.
_KEY_CHECK_PLAINTEXT = b"llmgw-desktop vault key check"
_KEY_CHECK_AAD = f"{FORMAT}/key-check".encode()


class SealBroken(Exception):
    """A sealed value does not open with this key and identity (tampered, moved or wrong key)."""


def record_aad(kind: str, provider: str, name: str, project: str) -> bytes:
    """The associated data binding a ciphertext to one record identity."""
    # JSON keeps the parts unambiguous whatever characters they hold.
    return json.dumps([FORMAT, kind, provider, name, project]).encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    """Encrypt `plaintext` under `key` with a fresh random nonce; return base64 text."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode("ascii")


def open_sealed(key: bytes, sealed: str, aad: bytes) -> bytes:
    """Decrypt a value made by `seal`.

    Raises:
        SealBroken: not valid base64, too short, or the tag does not verify.
    """
    try:
        raw = base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError):
        raise SealBroken("not base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise SealBroken("too short")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SealBroken("authentication failed") from None


def seal_key_check(key: bytes) -> str:
    """A value only `key` opens, kept next to the records to detect a wrong master key."""
    return seal(key, _KEY_CHECK_PLAINTEXT, _KEY_CHECK_AAD)


def key_check_opens(key: bytes, check: str) -> bool:
    """Whether `check` (from `seal_key_check`) was made with `key`."""
    try:
        return open_sealed(key, check, _KEY_CHECK_AAD) == _KEY_CHECK_PLAINTEXT
    except SealBroken:
        return False
