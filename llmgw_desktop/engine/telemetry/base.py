"""What the gateway tells a trace, and the do-nothing version used while export is off.

Every method is cheap when off: a gateway request pays a few attribute lookups and a
`nullcontext`, and no OpenTelemetry module is imported (a fresh-interpreter test checks it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

__all__ = ["NO_SPAN", "SpanLike", "Telemetry"]

Attributes = Mapping[str, str | int | float | bool]


class SpanLike(Protocol):
    def set(self, key: str, value: str | int | float | bool | None) -> None: ...

    def rename(self, name: str) -> None: ...

    def failed(self, error_type: str) -> None: ...


class _NoSpan:
    def set(self, key: str, value: str | int | float | bool | None) -> None:
        return None

    def rename(self, name: str) -> None:
        return None

    def failed(self, error_type: str) -> None:
        return None


NO_SPAN: SpanLike = _NoSpan()


class Telemetry:
    """Export switched off: every call is a no-op."""

    enabled = False

    def request_span(
        self, name: str, carrier: Mapping[str, str], attributes: Attributes
    ) -> AbstractContextManager[SpanLike]:
        """The span of one gateway request, continuing the client's `traceparent` in
        `carrier` (its headers) when it sent one; current while the block runs."""
        return nullcontext(NO_SPAN)

    def span(self, name: str, attributes: Attributes) -> AbstractContextManager[SpanLike]:
        """A child span of the current one (a translation, an MCP tool call)."""
        return nullcontext(NO_SPAN)

    def attempt(self, record_id: str, name: str, attributes: Attributes) -> None:
        """Start the span of one upstream attempt, ended when its recorder row finishes."""

    def upstream_headers(
        self, record_id: str, headers: Mapping[str, str] | None
    ) -> Mapping[str, str] | None:
        """`headers` plus the `traceparent` that carries the attempt's trace upstream."""
        return headers

    def answered(self, record_id: str, finish_reasons: Iterator[str] | list[str]) -> None:
        """The finish reasons of the attempt's answer (`gen_ai.response.finish_reasons`)."""

    def capture(self, span: SpanLike, key: str, text: bytes | str) -> None:
        """Put prompt or answer `text` on `span` when the operator opted in (redacted)."""

    def trace_id(self) -> str | None:
        """The current trace's id (32 hex digits), or None."""
        return None

    async def flush(self) -> None:
        """Export what is buffered now."""

    async def close(self) -> None:
        """Export what is buffered and stop."""
