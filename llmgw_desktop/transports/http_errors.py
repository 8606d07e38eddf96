"""Error answers of the HTTP front door's own endpoints, in the OpenAI envelope.

`{"error": {"message", "type", "param", "code"}}` is what most HTTP clients already parse.
`error_response` is the one mapping from an `EngineError` to that answer for the native API
(/v1/generate, /v1/jobs ...) and the edge's own refusals. The chat endpoints answer in the
caller's dialect instead (`transports.gateway.dialect_errors`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmgw_desktop.engine.api import (
    DIALECT_OPENAI_CHAT,
    EngineError,
    ErrorCode,
    client_status,
    error_headers,
)

__all__ = ["REFUSAL_CODE_KEY", "EdgeRefusal", "error_body", "error_response"]

# The code an error was answered with, kept on the response: the refusal counter reads it.
REFUSAL_CODE_KEY = web.ResponseKey("refusal_code", str)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    421: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class EdgeRefusal(EngineError):
    """The HTTP front door refused a request itself (Host, Origin, size, media type, route,
    throttle), before the engine saw it; the status is the code's unless given."""

    def __init__(self, code: ErrorCode, message: str, *, status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.http_status = code.http_status if status is None else status


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """The OpenAI error envelope, its `type` chosen by HTTP status."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def error_response(error: EngineError) -> web.Response:
    """`error` as the native API answers it: the envelope, its status (529 said as 503), the
    request's trace headers and a known `Retry-After`; its code kept for the refusal count."""
    status = client_status(DIALECT_OPENAI_CHAT, error.http_status)
    response = web.json_response(
        error_body(status, error.code, error.message),
        status=status,
        headers=error_headers(error, status),
    )
    response[REFUSAL_CODE_KEY] = error.code
    return response
