"""Tracing one request: what an error answer says about the request that failed.

Every gateway answer, success or error, names its flight-recorder row in
`x-gateway-request-id` (and MCP results in `requestId`), so the id a user copies from a client's
log finds the row in the recorder's search. An error also carries the provider and model when
one was chosen, and the upstream's `Retry-After` when it sent one on a 429, 503 or 529. The
status an error is answered with depends on the client's dialect only for "overloaded":
Anthropic's clients know 529 (`overloaded_error`); OpenAI's and Gemini's know a 503.
"""

from __future__ import annotations

import math
from typing import Any

from llmgw_desktop.config.api_catalog import DIALECT_ANTHROPIC, DIALECT_GEMINI
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.errors import OVERLOADED
from llmgw_desktop.engine.gateway.outcomes import NOT_ASKED
from llmgw_desktop.engine.gateway.records.report import RouteReport, header_value

# A write the disk refused (`disk_refused`): retryable once someone frees space.
INSUFFICIENT_STORAGE = 507

__all__ = ["client_status", "error_headers", "retry_after_seconds", "traced", "with_retry_info"]

# A tuple, not `X | Y`: a union written in the call is built again at each call, and
# isinstance reads a tuple faster (this runs for each value of each request).
_NUMBERS = (int, float)


def traced(error: EngineError, route: RouteReport) -> EngineError:
    """`error`, naming the recorder row of its request (headers, and `requestId` in its
    details for the MCP envelope)."""
    headers = route.headers()
    if not route.provider:
        # No answer came: name the provider and model of the last try, or (none was tried)
        # say nothing rather than an empty value.
        tried = [a for a in route.attempts if "/" in a.target and a.outcome not in _NOT_TRIED]
        if tried:
            provider, _, model = tried[-1].target.partition("/")
            headers["x-gateway-provider"] = header_value(provider)
            headers["x-gateway-model"] = header_value(model)
        else:
            headers = {k: v for k, v in headers.items() if k not in _EMPTY_WHEN_UNROUTED}
    error.trace_headers = headers
    error.details.setdefault("requestId", route.request_id)
    return error


def client_status(dialect: str, status: int) -> int:
    """The HTTP status a client of `dialect` is answered with for an error of `status`."""
    if status == OVERLOADED and dialect != DIALECT_ANTHROPIC:
        return 503
    return status


def retry_after_seconds(error: EngineError) -> int | None:
    """Whole seconds for a `Retry-After` header, when the error says how long to wait."""
    wait = error.details.get("retry_after_s")
    if not isinstance(wait, _NUMBERS) or isinstance(wait, bool) or wait < 0:
        return None
    return max(1, math.ceil(wait))


def error_headers(error: EngineError, status: int) -> dict[str, str]:
    """The headers of an error answer: the request's trace, and `Retry-After` on a
    429/503/507/529 whose wait is known."""
    headers = dict(error.trace_headers or {})
    seconds = retry_after_seconds(error)
    if seconds is not None and status in (429, 503, INSUFFICIENT_STORAGE, OVERLOADED):
        headers["Retry-After"] = str(seconds)
    return headers


def with_retry_info(dialect: str, body: dict[str, Any], seconds: int | None) -> dict[str, Any]:
    """`body` with the wait in it where the dialect's envelope has a place: Gemini's
    `google.rpc.RetryInfo` detail (OpenAI's and Anthropic's envelopes have none)."""
    if seconds is None or dialect != DIALECT_GEMINI or not isinstance(body.get("error"), dict):
        return body
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{seconds}s"}
    body["error"]["details"] = [*body["error"].get("details", []), detail]
    return body


_EMPTY_WHEN_UNROUTED = ("x-gateway-provider", "x-gateway-model")
_NOT_TRIED = NOT_ASKED
