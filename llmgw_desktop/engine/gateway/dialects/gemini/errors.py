"""Gemini's error statuses: the rpc status name for an HTTP status, and a stream error as a provider
failure.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import Cure, ErrorCode, ProviderFailure

__all__ = ["ERROR_DOMAIN", "error_info", "status_name", "stream_failure"]

# Gemini's stream error statuses -> (neutral failure code, worth retrying).
_FAILURES = {
    "RESOURCE_EXHAUSTED": ("rate_limited", True),
    "UNAUTHENTICATED": ("auth_required", False),
    "PERMISSION_DENIED": ("auth_required", False),
    "DEADLINE_EXCEEDED": ("timeout", True),
    "UNAVAILABLE": ("provider_error", True),
    "INTERNAL": ("provider_error", True),
}


def stream_failure(error: dict[str, Any]) -> ProviderFailure:
    status = str(error.get("status") or "")
    code, retryable = _FAILURES.get(status, ("provider_error", False))
    message = f"Gemini stream error {error.get('code')} {status}: {error.get('message')}"
    return ProviderFailure(message, code=code, retryable=retryable, status=error.get("code"))


_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    # A spent budget (`budget_exceeded`): refused until the budget or its period changes, which
    # is Google's "not in the state the operation needs"; never RESOURCE_EXHAUSTED, which
    # clients treat as a rate limit and retry.
    402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


# The domain of the gateway's ErrorInfo details (Google's own name a service).
ERROR_DOMAIN = "llmgw-desktop"


def error_info(code: str) -> dict[str, str]:
    """The gateway's stable error `code` as a `google.rpc.ErrorInfo` detail."""
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": code,
        "domain": ERROR_DOMAIN,
    }


def status_name(status: int, code: str = "") -> str:
    """The google.rpc status name Gemini pairs with an HTTP status; a refusal someone must set
    up (`Cure.SET_UP`: no key, a CLI not installed) is Google's FAILED_PRECONDITION, as its
    own "enable billing" refusal is, whatever its status."""
    if getattr(ErrorCode.parse(code), "cure", None) is Cure.SET_UP and 400 <= status < 500:
        return "FAILED_PRECONDITION" if status != 404 else "NOT_FOUND"
    if status in _STATUSES:
        return _STATUSES[status]
    return "INVALID_ARGUMENT" if 400 <= status < 500 else "INTERNAL"
