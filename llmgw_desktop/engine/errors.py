"""Errors the engine raises, grouped by what the caller must do, each with a stable code.

Transports map these once: to a JSON-RPC/MCP tool error, or to the caller's HTTP dialect.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApprovalDenied",
    "EngineError",
    "InvalidRequest",
    "NotFound",
    "ProviderFailure",
    "ProviderUnavailable",
    "Saturated",
]


class EngineError(Exception):
    """Base of every error the engine reports to a caller."""

    code = "gateway_error"
    http_status = 500
    retryable = False
    # The `x-gateway-*` headers of the request that failed (its recorder row id, and the
    # provider and model where one was chosen); set by the gateway, sent by the HTTP door.
    trace_headers: dict[str, str] | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """The structured form every front door returns."""
        return {"code": self.code, "message": self.message, "retryable": self.retryable} | (
            {"details": self.details} if self.details else {}
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineError:
        """Rebuild an error stored with `to_dict` (the job store keeps failures this way)."""
        error = cls(
            str(data.get("message", "")),
            code=str(data.get("code", "gateway_error")),
            retryable=bool(data.get("retryable", False)),
            **dict(data.get("details") or {}),
        )
        return error


class InvalidRequest(EngineError):
    """The caller sent something wrong; retrying the same request will fail the same way."""

    code = "invalid_request"
    http_status = 400


class NotFound(EngineError):
    """The thing asked for does not exist, or belongs to another principal."""

    code = "not_found"
    http_status = 404


class ProviderUnavailable(EngineError):
    """The provider will not run now: switched off, paused, circuit open, or not installed.

    Retrying at once will not help; the details say what would (switch it on, wait
    `retry_after_s`, install it).
    """

    code = "provider_unavailable"
    http_status = 503


class ApprovalDenied(EngineError):
    """The approval gate refused the call; the details carry the score and reasons."""

    code = "approval_denied"
    http_status = 403


class Saturated(EngineError):
    """Too much work is queued already; retry later."""

    code = "saturated"
    http_status = 429
    retryable = True


class ProviderFailure(EngineError):
    """The provider ran and failed: auth, rate limit, timeout, crash, overflow, cancel.

    Codes: `auth_required`, `rate_limited` (detail `retry_after_s` when known), `timeout`,
    `idle_timeout`, `output_overflow`, `canceled`, `provider_error` (detail `stderr_tail`,
    secrets redacted). `retryable` says whether the same call may succeed if tried again.
    """

    code = "provider_error"
    http_status = 502
