"""OpenAI's error object (Chat's and Responses' alike), in a body or mid-stream, and an
upstream's error read back as text."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["error_body", "upstream_error"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "server_error",
}


# "messages[2].content: expected ..." -> param "messages[2].content", as OpenAI reports it
# (Responses' "input[2].content: ..." alike).
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


def error_body(
    status: int, code: str, message: str, *, other_type: str = "api_error"
) -> dict[str, Any]:
    """OpenAI's error object, its `type` chosen by HTTP status (`other_type` for a status
    neither listed nor 4xx: Chat says `api_error`, Responses `server_error`)."""
    if status in _ERROR_TYPES:
        kind = _ERROR_TYPES[status]
    elif 400 <= status < 500:
        kind = "invalid_request_error"
    else:
        kind = other_type
    field = _FIELD_PREFIX.match(message) if status == 400 else None
    return {
        "message": message,
        "type": kind,
        "param": field.group(1) if field else None,
        "code": code,
    }


def upstream_error(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type') or error.get('code') or 'error'}: {error.get('message')}"
    return str(error)
