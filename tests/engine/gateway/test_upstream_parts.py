"""Pure parts of upstream calls: URLs and credentials (each dialect's, `addressed`), headers,
error bodies, key scrubbing, route reports."""

from __future__ import annotations

import json

import pytest

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine.gateway.dialects.anthropic import ANTHROPIC_VERSION
from llmgw_desktop.engine.gateway.dialects.by_name import addressed
from llmgw_desktop.engine.gateway.errors import AllRoutesFailed, UpstreamRejected
from llmgw_desktop.engine.gateway.http_client.upstream import (
    UpstreamTarget,
    _scrubbed,
    error_message,
)
from llmgw_desktop.engine.gateway.records.report import Attempt, RouteReport
from llmgw_desktop.engine.tokens.usage import Usage


def _target(
    dialect: str,
    base_url: str = "https://h",
    key: str | None = "k-123",
    *,
    stream: bool = False,
    count_tokens: bool = False,
) -> UpstreamTarget:
    return addressed(
        "p", base_url, dialect, "m-1", key, "config#1", stream=stream, count_tokens=count_tokens
    )


A, G, C, R = DIALECT_ANTHROPIC, DIALECT_GEMINI, DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES
URLS = [
    (A, "https://api.anthropic.com", {}, "https://api.anthropic.com/v1/messages"),
    (A, "https://proxy/v1/", {}, "https://proxy/v1/messages"),
    (A, "https://proxy/anthropic", {}, "https://proxy/anthropic/v1/messages"),
    (A, "https://h", {"count_tokens": True}, "https://h/v1/messages/count_tokens"),
    (G, "https://g", {}, "https://g/v1beta/models/m-1:generateContent"),
    (G, "https://g/v1beta/", {}, "https://g/v1beta/models/m-1:generateContent"),
    (G, "https://g/v1", {}, "https://g/v1/models/m-1:generateContent"),
    (G, "https://g", {"stream": True}, "https://g/v1beta/models/m-1:streamGenerateContent?alt=sse"),
    (C, "https://api.openai.com/v1", {}, "https://api.openai.com/v1/chat/completions"),
    (
        C,
        "http://127.0.0.1:11434/v1/",
        {"stream": True},
        "http://127.0.0.1:11434/v1/chat/completions",
    ),
    (C, "https://h", {}, "https://h/chat/completions"),
    (R, "https://api.openai.com/v1", {"stream": True}, "https://api.openai.com/v1/responses"),
]


@pytest.mark.parametrize(("dialect", "base", "flags", "url"), URLS)
def test_url_per_dialect_and_base_shape(
    dialect: str, base: str, flags: dict[str, bool], url: str
) -> None:
    target = _target(dialect, base, **flags)
    assert target.endpoint == url


@pytest.mark.parametrize(
    ("dialect", "auth"),
    [
        (A, {"anthropic-version": ANTHROPIC_VERSION, "x-api-key": "k-123"}),
        (G, {"x-goog-api-key": "k-123"}),
        (C, {"authorization": "Bearer k-123"}),
        (R, {"authorization": "Bearer k-123"}),
    ],
)
def test_headers_carry_the_key_the_dialect_way(dialect: str, auth: dict[str, str]) -> None:
    assert _target(dialect).headers(stream=False) == {"content-type": "application/json", **auth}
    streaming = _target(dialect).headers(stream=True)
    assert streaming["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("dialect", "auth"), [(A, {"anthropic-version": ANTHROPIC_VERSION}), (G, {}), (C, {})]
)
def test_headers_without_a_key_send_no_credentials(dialect: str, auth: dict[str, str]) -> None:
    headers = _target(dialect, key=None).headers(stream=False)
    assert headers == {"content-type": "application/json", **auth}


def test_passthrough_headers_are_added_and_may_override() -> None:
    headers = _target(A).headers(
        stream=False, passthrough={"anthropic-beta": "x", "anthropic-version": "2099-01-01"}
    )
    assert headers["anthropic-beta"] == "x" and headers["anthropic-version"] == "2099-01-01"


ANTHROPIC_ERROR = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
OPENAI_ERROR = {"error": {"message": "bad model", "type": "invalid_request_error", "code": None}}
GEMINI_ERROR = {"error": {"code": 400, "message": "API key not valid", "status": "INVALID"}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (json.dumps(ANTHROPIC_ERROR).encode(), "slow down"),
        (json.dumps(OPENAI_ERROR).encode(), "bad model"),
        (json.dumps(GEMINI_ERROR).encode(), "API key not valid"),
        (b'{"error": "model not loaded"}', "model not loaded"),
        (b'{"message": "top-level message"}', "top-level message"),
        (b'{"detail": "x"}', '{"detail": "x"}'),
        (b"[1, 2]", "[1, 2]"),
        (b"  Bad Gateway\n", "Bad Gateway"),
        (b"", "(empty body)"),
        (b"\xff\xfe oops", "\ufffd\ufffd oops"),
        (b"x" * 600, "x" * 500),
        (json.dumps({"error": {"message": "y" * 600}}).encode(), "y" * 500),
    ],
)
def test_error_message_from_any_envelope(raw: bytes, message: str) -> None:
    assert error_message(raw) == message


@pytest.mark.parametrize(
    ("key", "message", "scrubbed"),
    [
        ("plainkey-9876", "invalid key plainkey-9876 given", "invalid key [REDACTED] given"),
        ("abcdefgh", "abcdefgh and abcdefgh", "[REDACTED] and [REDACTED]"),
        ("short", "short is fine", "short is fine"),  # too short to remove blindly
        (None, "nothing to remove", "nothing to remove"),
    ],
)
def test_scrubbed_removes_the_exact_key(key: str | None, message: str, scrubbed: str) -> None:
    assert _scrubbed(message, _target(C, key=key)) == scrubbed


def test_route_report_headers() -> None:
    report = RouteReport("req-1", "sonnet")
    report.provider, report.model = "anthropic", "claude-sonnet-4-6"
    assert report.headers() == {
        "x-gateway-request-id": "req-1",
        "x-gateway-requested-model": "sonnet",
        "x-gateway-provider": "anthropic",
        "x-gateway-model": "claude-sonnet-4-6",
        "x-gateway-fallback": "false",
        "x-gateway-attempts": "0",
    }


def test_route_report_headers_with_rule_notices_and_odd_characters() -> None:
    report = RouteReport("req-2", "mödel\n" + "x" * 600)
    report.provider, report.model = "groq", "m"
    report.fallback_used, report.rule = True, "pin"
    report.attempts += [Attempt("openai/gpt-4o", "env:OPENAI_API_KEY", "429")] * 2
    report.notices += ["one", "two"]
    headers = report.headers()
    assert headers["x-gateway-requested-model"].startswith("m?del?xx")
    assert len(headers["x-gateway-requested-model"]) == 500
    assert headers["x-gateway-fallback"] == "true"
    assert headers["x-gateway-attempts"] == "2"
    assert headers["x-gateway-rule"] == "pin"
    assert headers["x-gateway-notice"] == "one; two"


def test_x_gateway_body_with_and_without_usage() -> None:
    report = RouteReport("req-3", "gpt-4o", project="web")
    report.requested_provider, report.provider, report.model = "openai", "openai", "gpt-4o"
    report.attempts.append(Attempt("openai/gpt-4o", "config#1", "ok"))
    body = report.x_gateway(None)
    assert body == {
        "requestId": "req-3",
        "requestedProvider": "openai",
        "requestedModel": "gpt-4o",
        "resolvedProvider": "openai",
        "resolvedModel": "gpt-4o",
        "fallbackUsed": False,
        "rule": None,
        "attempts": [{"target": "openai/gpt-4o", "key": "config#1", "outcome": "ok"}],
    }
    usage = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3, cache_write_tokens=2)
    with_usage = report.x_gateway(usage)
    assert with_usage["tokensUsed"] == 20
    assert with_usage["tokens"] == {
        "input": 10,
        "output": 5,
        "cacheRead": 3,
        "cacheWrite": 2,
        "reasoning": 0,
    }
    assert report.to_record()["project"] == "web"


def _attempts(*outcomes: str) -> list[Attempt]:
    return [Attempt(f"p{i}/m", f"k{i}", o) for i, o in enumerate(outcomes)]


@pytest.mark.parametrize(
    ("outcomes", "status", "code", "retryable"),
    [
        ((), 400, "no_provider_available", False),
        (("no_key", "disabled"), 400, "no_provider_available", False),
        (("429",), 429, "rate_limited", True),
        (("no_key", "429", "429"), 429, "rate_limited", True),
        (("429", "500"), 502, "all_routes_failed", True),
        (("connect", "timeout"), 502, "all_routes_failed", True),
        (("timeout",), 504, "upstream_timeout", True),
        (("no_key", "timeout", "timeout"), 504, "upstream_timeout", True),
        (("no_key", "503"), 502, "all_routes_failed", True),
    ],
)
def test_all_routes_failed_status(
    outcomes: tuple[str, ...], status: int, code: str, retryable: bool
) -> None:
    attempts = _attempts(*outcomes)
    error = AllRoutesFailed.from_attempts("m", attempts, RuntimeError("last one"))
    assert (error.http_status, error.code, error.retryable) == (status, code, retryable)
    assert error.details.get("attempts", []) == [a.to_dict() for a in attempts]
    # The class default is untouched by one instance's status.
    assert AllRoutesFailed.http_status == 502 and AllRoutesFailed.code == "all_routes_failed"


def test_nothing_set_up_says_what_is_missing_and_how_to_fix_it() -> None:
    error = AllRoutesFailed.from_attempts("m", _attempts("no_key", "disabled"), None)
    assert "p0/m has no API key" in error.message and "p1/m is switched off" in error.message
    assert "POST /v1/credentials" in error.message
    assert "no route" in AllRoutesFailed.from_attempts("m", [], None).message


def test_every_route_failed_lists_outcomes_and_the_last_error() -> None:
    error = AllRoutesFailed.from_attempts("m", _attempts("429", "500"), RuntimeError("boom"))
    assert "p0/m: 429, p1/m: 500" in error.message and error.message.endswith("boom")


@pytest.mark.parametrize(
    ("status", "http"), [(400, 400), (404, 404), (599, 599), (200, 502), (302, 502), (600, 502)]
)
def test_upstream_rejected_keeps_the_upstream_status(status: int, http: int) -> None:
    error = UpstreamRejected(status, "nope")
    assert (error.http_status, error.code, error.details) == (
        http,
        "upstream_rejected",
        {"upstream_status": status},
    )


def test_a_gemini_model_id_stays_one_path_segment() -> None:
    target = addressed("google", "https://g.example", "gemini", "../x?y=1#z", None, "")
    assert target.endpoint == ("https://g.example/v1beta/models/..%2Fx%3Fy%3D1%23z:generateContent")


def test_route_report_fields_set_later_start_as_their_defaults_in_each_report() -> None:
    """Set as a request is served, not by `__init__`: each report starts from the defaults and
    a report's lists and dicts are its own."""
    first, second = RouteReport("a", "m"), RouteReport("b", "m", "web", "r0")
    first.provider, first.held_output = "groq", 10
    first.attempts.append(Attempt("groq/m", "k", "ok"))
    first.row_facts["note"] = "x"
    assert (second.provider, second.model, second.kind, second.held_output) == ("", "", "api", 0)
    assert second.attempts == [] and second.notices == [] and second.row_facts == {}
    assert (second.project, second.replay_of) == ("web", "r0")
    assert first != second and RouteReport("c", "m") == RouteReport("c", "m")
