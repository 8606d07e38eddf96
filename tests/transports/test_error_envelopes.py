"""Every error code renders through every front door's one mapping into a well-formed envelope.

The MCP tools (`tool_error`), the native HTTP API (`error_response`) and each chat dialect
(`dialect_error`) answer an `EngineError` in their own shape; a code added to `ErrorCode` is
covered here without a test of its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.gateway.errors import OVERLOADED
from llmgw_desktop.transports.gateway.dialect_errors import dialect_error
from llmgw_desktop.transports.http_errors import REFUSAL_CODE_KEY, error_response
from llmgw_desktop.transports.mcp.results import tool_error

CODES = list(ErrorCode)
# The `error.type` values Anthropic's API documents.
ANTHROPIC_ERROR_TYPES = {
    "invalid_request_error",
    "authentication_error",
    "billing_error",  # 402: a budget used up
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
}


def _error(code: ErrorCode) -> EngineError:
    error = EngineError(f"refused with {code}", code=code, param="model")
    error.http_status = code.http_status
    return error


def _status_outside_anthropic(code: ErrorCode) -> int:
    return 503 if code.http_status == OVERLOADED else code.http_status


@pytest.mark.parametrize("code", CODES, ids=str)
def test_mcp_tool_error_carries_the_code(code: ErrorCode) -> None:
    result = tool_error(_error(code))
    assert result.is_error
    body: dict[str, Any] = json.loads(result.content[0].text)
    assert body == result.structured_content
    assert body["error"] == {
        "code": code.value,
        "message": f"refused with {code}",
        "retryable": False,
        "details": {"param": "model"},
    }


@pytest.mark.parametrize("code", CODES, ids=str)
def test_native_http_error_is_the_openai_envelope(code: ErrorCode) -> None:
    response = error_response(_error(code))
    assert response.status == _status_outside_anthropic(code)
    assert response[REFUSAL_CODE_KEY] == code.value
    error = json.loads(response.body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code.value
    assert error["message"] == f"refused with {code}"
    assert isinstance(error["type"], str) and error["type"]


@pytest.mark.parametrize("code", CODES, ids=str)
@pytest.mark.parametrize("front", [DIALECT_OPENAI_CHAT, DIALECT_OPENAI_RESPONSES])
def test_openai_dialect_error_is_the_openai_envelope(front: str, code: ErrorCode) -> None:
    response = dialect_error(front, _error(code))
    assert response.status == _status_outside_anthropic(code)
    assert response.content_type == "application/json"
    error = json.loads(response.body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code.value
    assert error["message"] == f"refused with {code}"


@pytest.mark.parametrize("code", CODES, ids=str)
def test_anthropic_dialect_error_is_typed_by_status(code: ErrorCode) -> None:
    response = dialect_error(DIALECT_ANTHROPIC, _error(code))
    assert response.status == code.http_status
    body = json.loads(response.body)
    assert body["type"] == "error"
    # Anthropic's two fields, and the gateway's stable code (the envelope has no place for it).
    assert set(body["error"]) == {"type", "message", "code"}
    assert body["error"]["code"] == code.value
    assert body["error"]["type"] in ANTHROPIC_ERROR_TYPES
    assert body["error"]["message"] == f"refused with {code}"


@pytest.mark.parametrize("code", CODES, ids=str)
def test_gemini_dialect_error_names_the_rpc_status(code: ErrorCode) -> None:
    response = dialect_error(DIALECT_GEMINI, _error(code))
    status = _status_outside_anthropic(code)
    assert response.status == status
    error = json.loads(response.body)["error"]
    assert error["code"] == status
    assert error["message"] == f"refused with {code}"
    assert error["status"].isupper()
    # The gateway's stable code as the reason of Google's ErrorInfo detail.
    infos = [d for d in error["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    assert [d["reason"] for d in infos] == [code.value]


def test_dialect_error_relays_a_wait_the_error_knows() -> None:
    error = _error(ErrorCode.RATE_LIMITED)
    error.details["retry_after_s"] = 2.5
    response = dialect_error(DIALECT_GEMINI, error)
    assert response.headers["Retry-After"] == "3"
    details = json.loads(response.body)["error"]["details"]
    (retry,) = [d for d in details if d["@type"].endswith("google.rpc.RetryInfo")]
    assert retry["retryDelay"] == "3s"
