from __future__ import annotations

import base64

import pytest

from llmgw_desktop.engine.vault.crypto import (
    SealBroken,
    key_check_opens,
    open_sealed,
    record_aad,
    seal,
    seal_key_check,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(32)
AAD = record_aad("api_key", "openai", "default", "_global")


def test_sealed_value_opens_with_the_same_key_and_identity() -> None:
    assert open_sealed(KEY, seal(KEY, b"sk-secret", AAD), AAD) == b"sk-secret"


def test_every_seal_uses_a_fresh_nonce() -> None:
    first, second = seal(KEY, b"same", AAD), seal(KEY, b"same", AAD)
    assert first != second
    assert base64.b64decode(first)[:12] != base64.b64decode(second)[:12]


def test_sealed_value_does_not_contain_the_plaintext() -> None:
    sealed = seal(KEY, b"sk-plain-text-secret", AAD)
    assert b"sk-plain" not in base64.b64decode(sealed)


@pytest.mark.parametrize(
    "aad",
    [
        record_aad("api_key", "anthropic", "default", "_global"),
        record_aad("api_key", "openai", "other", "_global"),
        record_aad("api_key", "openai", "default", "proj"),
        record_aad("auth_file", "openai", "default", "_global"),
    ],
)
def test_value_sealed_for_one_identity_does_not_open_as_another(aad: bytes) -> None:
    with pytest.raises(SealBroken):
        open_sealed(KEY, seal(KEY, b"v", AAD), aad)


def test_wrong_key_tampering_and_garbage_do_not_open() -> None:
    sealed = seal(KEY, b"value", AAD)
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 0x01
    for key, text in [
        (OTHER_KEY, sealed),
        (KEY, base64.b64encode(bytes(raw)).decode()),
        (KEY, "not base64 at all!"),
        (KEY, base64.b64encode(b"short").decode()),
    ]:
        with pytest.raises(SealBroken):
            open_sealed(key, text, AAD)


def test_key_check_tells_the_right_key_from_a_wrong_one() -> None:
    check = seal_key_check(KEY)
    assert key_check_opens(KEY, check)
    assert not key_check_opens(OTHER_KEY, check)
    assert not key_check_opens(KEY, "garbage")
