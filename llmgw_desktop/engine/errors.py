"""Errors the engine raises, grouped by what the caller must do, each with a stable code.

Transports map these once: to a JSON-RPC/MCP tool error, or to the caller's HTTP dialect.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GatewayError", "InvalidRequest", "NotFound", "ProviderUnavailable"]


class GatewayError(Exception):
    """Base of every error the engine reports to a caller."""

    code = "gateway_error"
    http_status = 500
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The structured form every front door returns."""
        return {"code": self.code, "message": self.message, "retryable": self.retryable} | (
            {"details": self.details} if self.details else {}
        )


class InvalidRequest(GatewayError):
    """The caller sent something wrong; retrying the same request will fail the same way."""

    code = "invalid_request"
    http_status = 400


class NotFound(GatewayError):
    """The thing asked for does not exist, or belongs to another principal."""

    code = "not_found"
    http_status = 404


class ProviderUnavailable(GatewayError):
    """The provider will not run now: switched off, paused, or otherwise refusing.

    The caller can retry after the user switches it back on; retrying at once will not help.
    """

    code = "provider_unavailable"
    http_status = 503
