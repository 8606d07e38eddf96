"""The error codes: one enum, stable wire strings, the documentation's table in step with it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import (
    Cure,
    EngineError,
    ErrorCode,
    InvalidRequest,
    NotFound,
    ProviderFailure,
    ProviderUnavailable,
    error_code_table,
    retried_by_clients,
)

ROOT = Path(__file__).resolve().parent.parent.parent
START = "<!-- error-codes: written by scripts/docs_reference.py -->"
END = "<!-- /error-codes -->"


def test_docs_table_of_error_codes_is_generated_from_the_enum() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    found = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), page, flags=re.S)
    assert found, f"docs/troubleshooting.md lost its {START} ... {END} markers"
    assert found.group(1) == error_code_table(), (
        "docs/troubleshooting.md's table of error codes differs from ErrorCode: "
        "regenerate it with `python scripts/docs_reference.py`"
    )


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_every_code_has_a_status_and_a_meaning(code: ErrorCode) -> None:
    assert 400 <= code.http_status < 600
    assert code.meaning and "|" not in code.meaning
    assert re.fullmatch(r"[a-z_]+", code.value)


def test_codes_go_on_the_wire_as_their_plain_strings() -> None:
    error = NotFound("no such job", code=ErrorCode.SESSION_NOT_FOUND)
    assert json.dumps(error.to_dict())[:30] == '{"code": "session_not_found", '
    assert jsonio.dumps({"code": error.code}) == b'{"code":"session_not_found"}'
    assert f"{error.code}" == "session_not_found" == error.code


def test_stored_error_with_a_known_code_comes_back_as_the_member() -> None:
    stored = ProviderFailure("slow", code=ErrorCode.TIMEOUT, retryable=True, waited_s=3).to_dict()
    rebuilt = EngineError.from_dict(stored)
    assert rebuilt.code is ErrorCode.TIMEOUT
    assert rebuilt.to_dict() == stored


def test_stored_error_with_a_code_of_another_version_keeps_its_string() -> None:
    stored = {"code": "some_future_code", "message": "from a newer gateway", "retryable": False}
    rebuilt = EngineError.from_dict(stored)
    assert rebuilt.code == "some_future_code"
    assert rebuilt.to_dict() == stored


def test_stored_error_without_a_code_is_a_gateway_error() -> None:
    assert EngineError.from_dict({"message": "?"}).code is ErrorCode.GATEWAY_ERROR


def test_error_classes_default_to_their_codes() -> None:
    assert InvalidRequest("x").code is ErrorCode.INVALID_REQUEST
    assert InvalidRequest("x").http_status == ErrorCode.INVALID_REQUEST.http_status


def test_raise_sites_name_their_code_from_the_enum() -> None:
    literals = []
    for path in sorted((ROOT / "llmgw_desktop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                literals += [
                    f"{path.relative_to(ROOT)}:{node.lineno} code={kw.value.value!r}"
                    for kw in node.keywords
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant)
                ]
    assert not literals, "use ErrorCode members, not string literals:\n" + "\n".join(literals)


@pytest.mark.parametrize("code", [c for c in ErrorCode if c.cure is not None], ids=str)
def test_a_refusals_status_says_whether_clients_retry_it(code: ErrorCode) -> None:
    # Someone must set it up: a status the SDKs and coding CLIs show at once. It may pass by
    # itself: one they wait out and retry.
    assert retried_by_clients(code.http_status) is (code.cure is Cure.WAIT)


def test_a_refusal_someone_must_set_up_keeps_its_codes_status_whatever_raised_it() -> None:
    refused = ProviderUnavailable("no CLI", code=ErrorCode.NOT_INSTALLED)
    assert refused.http_status == 400 and not retried_by_clients(refused.http_status)
    assert ProviderUnavailable("paused", code=ErrorCode.GATEWAY_PAUSED).http_status == 503


def test_clients_retry_timeouts_conflicts_rate_limits_and_server_errors_only() -> None:
    statuses = (400, 401, 402, 403, 404, 408, 409, 413, 422, 429)
    assert [s for s in statuses if retried_by_clients(s)] == [408, 409, 429]
    assert all(retried_by_clients(s) for s in (500, 502, 503, 504, 529))
