"""The Anthropic Messages dialect (`POST /v1/messages`), to and from the neutral form.

Parses clients' requests and upstream answers (whole or streamed), renders requests for an
Anthropic upstream and answers for Anthropic clients. Usage needs no conversion: the neutral
form follows Anthropic's convention (input tokens exclude cache reads and writes).
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.dialects.anthropic.errors import error_body
from llmgw_desktop.engine.gateway.dialects.anthropic.request import parse_request, render_request
from llmgw_desktop.engine.gateway.dialects.anthropic.response import parse_response, render_response
from llmgw_desktop.engine.gateway.dialects.anthropic.stream import (
    AnthropicStreamDecoder,
    AnthropicStreamEncoder,
)
from llmgw_desktop.engine.gateway.dialects.anthropic.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
)
from llmgw_desktop.engine.gateway.translation import TargetModel
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["ANTHROPIC_VERSION", "AnthropicDialect"]

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicDialect:
    """Anthropic Messages: `/v1/messages`, named SSE events, usage split by cache."""

    name = "anthropic"
    # The API version the upstream is asked in, unless the client named its own.
    default_headers: tuple[tuple[str, str], ...] = (("anthropic-version", ANTHROPIC_VERSION),)

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
        """A client's Messages request in neutral form, for an upstream of another dialect.

        Raises:
            InvalidRequest: naming the field that is missing or malformed.
            Untranslatable: the request uses something no other dialect can carry.
        """
        return parse_request(body, model=model)

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The body for an Anthropic upstream; what it cannot take is added to `notes`."""
        return render_request(request, target=target, notes=notes)

    def parse_response(self, body: Any) -> ChatResponse:
        """An Anthropic upstream's complete answer.

        Raises:
            ValueError: the body is an error or not a Messages answer.
        """
        return parse_response(body)

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """The Messages answer an Anthropic client expects."""
        return render_response(response, request)

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(request.model)

    def api_root(self, base_url: str) -> str:
        """The API's root under `base_url` (`/v1`, added where the base URL lacks it)."""
        base = base_url.rstrip("/")
        return base if base.endswith("/v1") else base + "/v1"

    def upstream_url(
        self, base_url: str, model: str, *, stream: bool, count_tokens: bool = False
    ) -> str:
        """Where a call (or a count of its input) is sent at an upstream at `base_url`."""
        return self.api_root(base_url) + ("/messages/count_tokens" if count_tokens else "/messages")

    def credential(self, api_key: str | None) -> tuple[tuple[str, str], ...]:
        return (("x-api-key", api_key),) if api_key else ()

    def answer_usage(self, body: Any) -> Usage:
        return parse_usage(body.get("usage")) if isinstance(body, dict) else Usage()

    def finish_reasons(self, body: Any) -> list[str]:
        reason = body.get("stop_reason") if isinstance(body, dict) else None
        return [str(reason)] if reason else []

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """`{"type":"error","error":{"type","message"}}`, the type chosen by HTTP status."""
        return error_body(status, code, message)
