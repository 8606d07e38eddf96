"""OpenAI's error envelope for a Responses client, its `type` chosen by HTTP status and `param`
naming the field.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["render_error"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


# "input[2].content: expected …" names the field; OpenAI reports it as `param`.
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


def render_error(status: int, code: str, message: str) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}`, `type` chosen by status."""
    if status in _ERROR_TYPES:
        kind = _ERROR_TYPES[status]
    else:
        kind = "invalid_request_error" if 400 <= status < 500 else "server_error"
    named = _FIELD_PREFIX.match(message) if status == 400 else None
    param = named.group(1) if named else None
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
