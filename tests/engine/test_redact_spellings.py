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


def _json(text: str) -> str:
    """`text` as a JSON string's inside writes it (non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _both(text: str) -> tuple[str, bytes]:
    return SPELLINGS.mask(text), SPELLINGS.mask_bytes(text.encode())


@pytest.mark.parametrize("upper", [False, True], ids=["lower-hex", "upper-hex"])
@pytest.mark.parametrize("secret", [MASTER, PASSWORD], ids=["base64", "punctuated"])
def test_a_secret_with_any_one_character_escaped_is_masked(secret: str, upper: bool) -> None:
    for at, char in enumerate(secret):
        # The rest as JSON writes it: a backslash of the secret is `\\\\` around the escape.
        written = _json(secret[:at]) + _u(char, upper=upper) + _json(secret[at + 1 :])
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


@pytest.mark.parametrize("ascii_only", [False, True])
def test_a_secret_in_json_inside_json_is_masked_and_what_is_left_is_json(ascii_only: bool) -> None:
    """A tool call's arguments are a JSON text inside a JSON string, decoded twice: a quote is
    written `\\\\\\"` there, `ä` `\\\\u00e4` (review of 2026-11-30: both reached the client)."""
    for secret in (MASTER, PASSWORD):
        inner = json.dumps({"path": ".env", "value": secret}, ensure_ascii=ascii_only)
        written = json.dumps({"arguments": inner}, ensure_ascii=ascii_only)
        masked, masked_bytes = _both(written)
        decoded = json.loads(json.loads(masked)["arguments"])
        assert decoded == {"path": ".env", "value": REDACTED}, masked
        assert masked_bytes == masked.encode()


def test_a_match_takes_the_whole_run_of_backslashes_so_the_json_stays_valid() -> None:
    """An escaped backslash and then `u0061...` is text, not an escape, to a client decoding
    once; masked (decoded twice it is the secret), the run goes with it, never half of it."""
    spellings = Spellings(("abcdefgh12",))
    text = json.dumps({"t": "\\u0061bcdefgh12"})  # the backslash escaped: `\\\\u0061...`
    assert json.loads(spellings.mask(text)) == {"t": REDACTED}


def test_values_that_overlap_are_masked_whole_on_both_paths() -> None:
    """The longest value first, as the plain search always did: a text holding an escape once
    went to the pattern alone, leftmost first, which left a longer value's tail."""
    spellings = Spellings(("XYZ12345678", "ABCXYZ1"))
    for tail in ("", " \\u0041"):
        assert "2345678" not in spellings.mask(f"ABCXYZ12345678{tail}")


def test_a_value_with_a_run_of_backslashes_is_searched_without_backtracking_for_ever() -> None:
    """Each character's ways are atomic: with nested runs a value of 40 backslashes took hours
    on a text of backslashes (each four more, 16 times longer)."""
    spellings = Spellings(("a" + "\\" * 40 + "b",))
    text = "x" + "\\" * 2000 + "\\u0061"
    assert spellings.mask(text) == text
