"""Recognising a refused key and saying which key and what to change, for every source."""

from __future__ import annotations

import json

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.gateway.errors import AllRoutesFailed
from llmgw_desktop.engine.gateway.key_refusal import key_fix, refusal_status
from llmgw_desktop.engine.gateway.records.report import Attempt

GEMINI_BAD_KEY = json.dumps(
    {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
).encode()


def test_gemini_s_invalid_key_400_is_a_401_and_other_400s_stay() -> None:
    assert refusal_status(400, GEMINI_BAD_KEY) == 401
    assert refusal_status(400, b'{"error": {"message": "API_KEY_INVALID is a word here"}}') == 400
    assert refusal_status(400, b"API_KEY_INVALID but not JSON") == 400
    assert refusal_status(401, b"") == 401
    assert refusal_status(500, GEMINI_BAD_KEY) == 500


def test_each_key_source_says_what_to_change() -> None:
    assert "Put a working openai key in OPENAI_API_KEY and restart" in key_fix(
        "env:OPENAI_API_KEY", "openai"
    )
    assert "vault key 2 of openai" in key_fix("vault:openai#2", "openai")
    assert "[gateway.providers.groq] in config.toml" in key_fix("config#1", "groq")


def test_every_key_refused_is_a_401_naming_each_key_and_not_retryable() -> None:
    attempts = [
        Attempt("openai/gpt-4o", "vault:openai#1", "401"),
        Attempt("openai/gpt-4o", "env:OPENAI_API_KEY", "401"),
        Attempt("anthropic/claude-sonnet-4-6", "", "no_key"),
    ]
    error = AllRoutesFailed.from_attempts("gpt-4o", attempts, None)
    assert (error.code, error.http_status, error.retryable) == (
        ErrorCode.UPSTREAM_KEY_REFUSED,
        401,
        False,
    )
    assert "openai refused the gateway's keys vault:openai#1, env:OPENAI_API_KEY" in error.message
    assert "vault key 1 of openai" in error.message and "OPENAI_API_KEY" in error.message


def test_a_403_alone_stays_a_403_and_a_mix_with_other_failures_stays_a_502() -> None:
    forbidden = AllRoutesFailed.from_attempts("m", [Attempt("p/m", "config#1", "403")], None)
    assert (forbidden.code, forbidden.http_status) == (ErrorCode.UPSTREAM_KEY_REFUSED, 403)
    mixed = AllRoutesFailed.from_attempts(
        "m", [Attempt("p/m", "config#1", "401"), Attempt("q/m", "env:Q_KEY", "500")], None
    )
    assert (mixed.code, mixed.http_status) == (ErrorCode.ALL_ROUTES_FAILED, 502)
