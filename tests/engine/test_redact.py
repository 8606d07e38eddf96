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


@pytest.mark.parametrize("named", [True, False])
def test_the_quick_check_never_skips_what_the_patterns_mask(named: bool) -> None:
    """`redact` skips the patterns when `may_hold_secret` says no; it must never be wrong."""
    from llmgw_desktop.engine import redact as module

    for sample in _SAMPLES:
        for text in _variants(sample):
            full = module._mask_all(text, named=named)
            assert redact(text, named=named) == full, text
            if full != text:
                assert module.may_hold_secret(text, named=named), text


def test_plain_text_is_not_run_through_the_patterns() -> None:
    from llmgw_desktop.engine.redact import may_hold_secret

    for plain in ("claude-sonnet-4-5", "openai", "completed", "gw-1234", "env:OPENAI_API_KEY"):
        assert not may_hold_secret(plain)
