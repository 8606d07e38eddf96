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
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
)
from llmgw_desktop.engine.gateway.translation import TargetModel

__all__ = ["AnthropicDialect"]


class AnthropicDialect:
    """Anthropic Messages: `/v1/messages`, named SSE events, usage split by cache."""

    name = "anthropic"

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

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
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

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """`{"type":"error","error":{"type","message"}}`, the type chosen by HTTP status."""
        return error_body(status, code, message)
