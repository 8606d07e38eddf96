"""A secret written with JSON escapes is the secret to the client that decodes it (`\\u0073`
is `s`, `\\/` is `/`, `\\"` is `"`): `redact.Spellings` finds it so, and leaves other escaped
text, and text that only begins as a secret does, as it is."""

from __future__ import annotations

import json

import pytest

from llmgw_desktop.engine.redact import REDACTED, Spellings, known_secrets

MASTER = "3RT3A0yupKB42xkk09u1wbgRDVmstJneLmNPOM6R8KU="
PASSWORD = 'pg/pa"ss\\wörd-€-\U0001f600'
SPELLINGS = Spellings((MASTER, PASSWORD))


def _u(char: str, *, upper: bool = False) -> str:
    """`char` as JSON's `\\u` escape (a pair of them past U+FFFF)."""
    escaped = json.dumps(char, ensure_ascii=True)[1:-1]
    if not escaped.startswith("\\u"):
        escaped = "".join(f"\\u{ord(c):04x}" for c in char)
    return escaped.upper().replace("\\U", "\\u") if upper else escaped


def _both(text: str) -> tuple[str, bytes]:
    return SPELLINGS.mask(text), SPELLINGS.mask_bytes(text.encode())


@pytest.mark.parametrize("upper", [False, True], ids=["lower-hex", "upper-hex"])
@pytest.mark.parametrize("secret", [MASTER, PASSWORD], ids=["base64", "punctuated"])
def test_a_secret_with_any_one_character_escaped_is_masked(secret: str, upper: bool) -> None:
    for at, char in enumerate(secret):
        written = secret[:at] + _u(char, upper=upper) + secret[at + 1 :]
        text = f"it is {written}."
        assert _both(text) == (f"it is {REDACTED}.", f"it is {REDACTED}.".encode()), at
        assert SPELLINGS.present(text) and SPELLINGS.present_bytes(text.encode())


@pytest.mark.parametrize("ascii_only", [False, True])
def test_a_secret_as_json_encoders_write_it_is_masked(ascii_only: bool) -> None:
    """`\\"` and `\\\\` always, `\\uXXXX` past ASCII where the encoder keeps to it, and `\\/`
    (PHP's) or `\\u0026` (Go's, for `&`)."""
    for secret in (MASTER, PASSWORD):
        written = json.dumps(f"<{secret}>", ensure_ascii=ascii_only)
        assert _both(written)[0] == f'"<{REDACTED}>"'
        php = written.replace("/", "\\/")
        assert _both(php)[0] == f'"<{REDACTED}>"'
    go = json.dumps(f"x {PASSWORD} y").replace("<", "\\u003c").replace("/", "\\u002F")
    assert _both(go)[0] == f'"x {REDACTED} y"'


def test_other_escaped_text_and_near_misses_are_left_as_they_are() -> None:
    text = (
        f'"caf\\u00e9 \\"said\\" a\\/b\\n{MASTER[:-1]}|{_u(MASTER[0])}{MASTER[1:20]}'
        f'|{json.dumps(PASSWORD)[1:-2]}|\\\\u0033RT3A0"'
    )
    assert _both(text) == (text, text.encode())
    assert not SPELLINGS.present(text) and not SPELLINGS.present_bytes(text.encode())


def test_the_process_secrets_are_found_escaped_wherever_they_are_masked() -> None:
    known_secrets.add(MASTER)
    try:
        written = f"key {MASTER[:5]}\\u{ord(MASTER[5]):04x}{MASTER[6:]}"
        assert known_secrets.mask(written) == f"key {REDACTED}"
        assert known_secrets.mask_bytes(written.encode()) == f"key {REDACTED}".encode()
        assert known_secrets.present(written) and known_secrets.present_bytes(written.encode())
    finally:
        known_secrets.clear()
