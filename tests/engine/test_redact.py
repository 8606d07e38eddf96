from __future__ import annotations

import pytest

from llmgw_desktop.engine.redact import REDACTED, redact


@pytest.mark.parametrize(
    "secret_text",
    [
        "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
        "OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        '{"api_key": "abcd1234efgh5678"}',
        "password=hunter2hunter2",
        "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "AIzaSyA-abcdefghijklmnopqrstuvwxyz12345",
        "x-api-key: something-secret-value",
        "my gateway key is llmgw-abcdefghijklmnop_ABCDEFGHIJKLMNOP-0123456789a",
    ],
)
def test_secrets_are_masked(secret_text: str) -> None:
    masked = redact(secret_text)
    assert REDACTED in masked
    for secret in ("abcdefghijklmnop", "hunter2", "eyJhbGci", "abcd1234", "something-secret"):
        assert secret not in masked


def test_ordinary_text_is_unchanged() -> None:
    text = "listening on 127.0.0.1:3333; 5 tokens used; the key point is speed"
    assert redact(text) == text
    # The Connect page's placeholder for an open loopback gateway is not a key.
    assert redact("use llmgw-local as the key") == "use llmgw-local as the key"


def test_code_in_answers_is_not_mistaken_for_secrets() -> None:
    code = (
        "password = getpass()\ntoken = request.headers\napi_key = settings.api_key\nsecret = None"
    )
    assert redact(code) == code
    assert redact('password = "hunter22"') == 'password = "[REDACTED]"'


def test_token_counts_in_cli_output_are_kept() -> None:
    """Every CLI answer carries usage such as `"cache_read_input_tokens": 12345`; the stored
    output once had every count of four digits or more masked as a secret."""
    usage = (
        '{"input_tokens": 12345, "cache_read_input_tokens": 98765, "output_tokens": 4096, '
        '"max_tokens": 8192, "total_token_count": 20000}'
    )
    assert redact(usage) == usage
    assert redact("total_tokens=12345") == "total_tokens=12345"
    # Numbers under keys that name one secret are still masked.
    assert redact("api_token=12345678") == "api_token=[REDACTED]"
    assert redact("password: 12345678") == "password: [REDACTED]"
    assert redact('"max_tokens": "sk-ant-api03-abcdefghijklmnop"') != (
        '"max_tokens": "sk-ant-api03-abcdefghijklmnop"'
    )


_SAMPLES = [
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
    "sk-proj-abcdefghijklmnop1234",
    "gsk_abcdefghijklmnop1234",
    "sk_live_abcdefghijklmnop1234",
    "rk_live_abcdefghijklmnop1234",
    "xai-abcdefghijklmnop1234",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github_pat_abcdefghijklmnop1234",
    "AIzaSyA-abcdefghijklmnopqrstuvwxyz12345",
    "hf_abcdefghijklmnop1234",
    "xoxb-abcdefghijklmnop1234",
    "glpat-abcdefghijklmnop1234",
    "npm_abcdefghijklmnop1234",
    "mcp_abcdefghijklmnop1234",
    "llmgw-abcdefghijklmnop1234",
    "llmgw-local",
    "AKIAABCDEFGHIJKLMNOP",
    "ASIAABCDEFGHIJKLMNOP",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
    "https://user:hunter22@example.com/path",
    "Authorization: Bearer abcdefghijklmnop",
    "Basic dXNlcjpwYXNzd29yZA==",
    "api_key=abcd1234efgh",
    "X-Api-Key: abcd1234efgh",
    "token: abcd1234efgh",
    "client_secret=abcd1234efgh",
    "password=hunter2hunter2",
    "passwd: hunter2hunter2",
    "credential=abcd1234efgh",
    "authorization=abcd1234efgh",
    "claude-sonnet-4-5-20250929",
    "openai/gpt-4o-mini",
    "env:OPENAI_API_KEY",
    "the token: is here, then a secret = abcd1234efgh",
    'say "password" then key=value',
    "token\u00a0=\u2003abcd1234efgh",
    "listening on 127.0.0.1:3333; 5 tokens used",
]
# The letters the case-insensitive patterns match beyond ASCII: İ ı (i), ſ (s), K (Kelvin, k).
_LOOKALIKES = {"i": ("\u0130", "\u0131"), "s": ("\u017f",), "k": ("\u212a",)}


def _variants(text: str) -> list[str]:
    found = [text, text.upper(), text.lower(), text.swapcase(), f"x {text} y"]
    for ascii_letter, others in _LOOKALIKES.items():
        for other in others:
            found += [text.replace(ascii_letter, other), text.replace(ascii_letter.upper(), other)]
    return found


def _every_pattern(text: str, *, named: bool) -> str:
    """What `redact` must return: every pattern run over the whole text, in order, no gates."""
    from llmgw_desktop.engine import redact as module

    text = module._mask_pem(text)
    text = module._JWT.sub(lambda m: m.group(1) + REDACTED, text)
    text = module._KEY_SHAPES.sub(lambda m: m.group(1) + REDACTED, text)
    text = module._AWS_KEY_ID.sub(lambda m: m.group(1) + REDACTED, text)
    text = module._URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    text = module._BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
    return module._NAMED.sub(module._mask_named, text) if named else text


@pytest.mark.parametrize("named", [True, False])
def test_the_quick_check_never_skips_what_the_patterns_mask(named: bool) -> None:
    """`redact` skips each pattern whose gate the text lacks; it must never be wrong."""
    for sample in _SAMPLES:
        for text in _variants(sample):
            assert redact(text, named=named) == _every_pattern(text, named=named), text


# Pieces that make and break `name: value` pairs: the trigger words in any case and in their
# look-alike letters, name characters, dots, quotes, separators, values, and code that is kept.
_PAIR_PIECES = [
    "token",
    "TOKEN",
    "tokens",
    "api",
    "api_key",
    "Api-Key",
    "secret",
    "passw",
    "password",
    "passwd",
    "authorization",
    "credential",
    "to\u212aen",
    "ſecret",
    "apİ_key",
    "apı_key",
    "input_",
    "x",
    "_",
    "-",
    ".",
    "a.",
    '"',
    "'",
    ":",
    "=",
    " = ",
    ": ",
    " ",
    "\n",
    "\u00a0",
    ",",
    ";",
    "&",
    "}",
    "{",
    "12345",
    "abcd1234efgh",
    "hunter2hunter2",
    "getpass()",
    "None",
    "a.b",
    "sk-ant-api03-abcdefghijklmnop",
    "Bearer abcdefghij",
    "eyJ",
    "é",
    "_9",
]


def test_named_pairs_are_masked_exactly_as_a_full_scan_masks_them() -> None:
    """The `name: value` rule is tried only where a trigger word's name starts; on thousands of
    generated texts it must mask exactly what the pattern scanned over every position masks
    (the pairs it alone catches, pairs side by side, a trigger inside a value, quoted names)."""
    import random

    from llmgw_desktop.engine import redact as module

    generated = random.Random(17)
    for _ in range(4000):
        text = "".join(generated.choices(_PAIR_PIECES, k=generated.randint(1, 24)))
        assert redact(text) == _every_pattern(text, named=True), text
        lowered = module._folded(text)
        assert module._mask_named_pairs(text, lowered) == module._NAMED.sub(
            module._mask_named, text
        ), text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Only the `name: value` rule catches these: no key shape, no bearer, no URL.
        ("db_password=hunter2hunter2", "db_password=[REDACTED]"),
        ('{"client.secret": "s3cr3t-value"}', '{"client.secret": "[REDACTED]"}'),
        ("x-api-key:abcd1234efgh", "x-api-key:[REDACTED]"),
        # The trigger word at the very start and the value at the very end of the text.
        ("token=abcd", "token=[REDACTED]"),
        # The word is in an earlier dotted part only: not a secret's name.
        ("token.count=12345678", "token.count=12345678"),
        # A second pair right after the first one's value, and one inside a value.
        ("token=abcd;secret=efgh", "token=[REDACTED];secret=[REDACTED]"),
        ("token=password=abcd1234", "token=[REDACTED]"),
        # A name run several triggers long, and the quote before a name.
        ("apitokensecret: 'abcd1234'", "apitokensecret: '[REDACTED]'"),
        ("abcd/'password':'hunter22'", "abcd/'password':'[REDACTED]'"),
        # Look-alike letters the case-insensitive pattern reads as ASCII.
        ("paſſword=hunter22", "paſſword=[REDACTED]"),
        ("API_\u212aEY=abcd1234", "API_\u212aEY=[REDACTED]"),
    ],
)
def test_pairs_only_the_named_rule_catches_are_masked(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_a_gate_is_checked_on_the_text_the_patterns_before_it_left() -> None:
    """Each pattern runs when the text holds its gate; a secret of each kind side by side
    with the others is masked whatever came before it."""
    text = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY----- "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz "
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz AKIAABCDEFGHIJKLMNOP "
        "https://user:hunter22@example.com Bearer abcdefghijklmnop password=hunter2hunter2"
    )
    masked = redact(text)
    assert masked == _every_pattern(text, named=True)
    for secret in ("MIIabc", "eyJzdWIi", "abcdefghijklmnopqrstuvwxyz", "BCDEFGHIJ", "hunter2"):
        assert secret not in masked


def test_claude_stream_output_is_masked_as_a_full_scan_masks_it() -> None:
    """The text a job's end masks most often: a CLI's stream-json answer (usage counts, ids)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    captured = root / "tests" / "fixtures" / "cli" / "claude" / "plain_stream_json.stdout"
    text = captured.read_text()
    leaked = text.replace('"cwd":"', '"cwd":"x", "api_key": "sk-ant-api03-abcdefghijklmnop", "')
    for sample in (text, leaked):
        assert redact(sample) == _every_pattern(sample, named=True)
    assert "abcdefghijklmnop" not in redact(leaked)


def test_a_text_met_again_is_masked_once_with_the_same_result() -> None:
    from llmgw_desktop.engine.redact import redact_data

    answer = "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 and password=hunter2hunter2"
    masked: dict[str, str] = {}
    stored = redact_data({"text": answer, "raw": [answer, {"again": answer}]}, masked=masked)
    assert stored == redact_data({"text": answer, "raw": [answer, {"again": answer}]})
    assert masked == {answer: redact(answer)} and "hunter2" not in masked[answer]
