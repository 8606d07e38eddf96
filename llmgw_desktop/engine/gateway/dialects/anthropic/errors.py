"""Anthropic's error envelope, by HTTP status, and an upstream's error read back as text."""

from __future__ import annotations

from typing import Any

__all__ = ["error_body", "upstream_error"]


def upstream_error(body: dict[str, Any]) -> str:
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    return f"upstream error: {error.get('type', 'unknown')}: {error.get('message', '')}"


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",  # Anthropic's own type for a spending limit (our budgets)
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


_KNOWN_ERROR_TYPES = {*_ERROR_TYPES.values(), "api_error"}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """The error envelope, typed by HTTP status (an Anthropic type given as code is kept).

    The envelope has no place for a stable code, so the gateway's is added to the error as
    `code` (the SDKs keep an error's unknown fields on its `body`): an Anthropic client can
    look it up as an OpenAI one does."""
    kind = code if code in _KNOWN_ERROR_TYPES else _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message, "code": code}}
