"""Error bodies for the HTTP front door's own endpoints, in the OpenAI envelope.

`{"error": {"message", "type", "param", "code"}}` is what most HTTP clients already parse. The
chat endpoints answer in the caller's dialect instead (`Dialect.render_error`).
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["REFUSAL_CODE_KEY", "error_response"]

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


def error_response(
    status: int, code: str, message: str, *, param: str | None = None
) -> web.Response:
    """A JSON error answer with a stable `code` the caller can act on."""
    body = {
        "error": {
            "message": message,
            "type": _TYPES.get(
                status, "server_error" if status >= 500 else "invalid_request_error"
            ),
            "param": param,
            "code": code,
        }
    }
    response = web.json_response(body, status=status)
    response[REFUSAL_CODE_KEY] = code
    return response
