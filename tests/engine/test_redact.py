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
