"""The OpenAI Chat Completions dialect (`POST /v1/chat/completions`), both ways.

As a front door it parses what OpenAI SDK clients send and answers as OpenAI would: a
`chat.completion` body, or `chat.completion.chunk` SSE frames ending with `data: [DONE]`.
As an upstream it speaks to OpenAI and to the many servers that imitate it (Ollama, Groq,
vLLM, DeepSeek, LM Studio), so the parsers tolerate their quirks: reasoning text in
`reasoning_content` or `reasoning`, usage on the finish chunk or in a chunk of its own after
it, tool calls ending with finish reason "stop".
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.dialects.openai_chat.errors import error_body
from llmgw_desktop.engine.gateway.dialects.openai_chat.request import parse_request, render_request
from llmgw_desktop.engine.gateway.dialects.openai_chat.response import (
    parse_response,
    render_response,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.stream import (
    OpenAIChatStreamDecoder,
    OpenAIChatStreamEncoder,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
)
from llmgw_desktop.engine.gateway.translation import TargetModel
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["OpenAIChatDialect"]


class OpenAIChatDialect:
    """OpenAI Chat Completions, as a front door and as an upstream."""

    name = "openai-chat"
    # What the upstream is sent unless the client said otherwise (none here).
    default_headers: tuple[tuple[str, str], ...] = ()

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
        """A client's request in neutral form (`model` is a fallback when the body has none).

        Raises:
            InvalidRequest: naming the field that is missing or malformed.
        """
        return parse_request(body, model)

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The body for an OpenAI-compatible upstream; streams always ask for usage. What the
        target cannot take is added to `notes`.

        Raises:
            Untranslatable: a part has no Chat Completions form (a document by URL).
        """
        return render_request(request, reasoning=target is None or target.reasoning, notes=notes)

    def parse_response(self, body: Any) -> ChatResponse:
        """An upstream's `chat.completion` in neutral form.

        Raises:
            ValueError: the body is an error or not a chat completion.
        """
        return parse_response(body)

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """A `chat.completion` body for the client (`request` names its freeform tools)."""
        return render_response(response, request)

    def stream_decoder(self) -> OpenAIChatStreamDecoder:
        return OpenAIChatStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> OpenAIChatStreamEncoder:
        return OpenAIChatStreamEncoder(request)

    def api_root(self, base_url: str) -> str:
        """The API's root: the base URL itself (its `/v1` is the provider's to name)."""
        return base_url.rstrip("/")

    def upstream_url(
        self, base_url: str, model: str, *, stream: bool, count_tokens: bool = False
    ) -> str:
        """Where a call is sent at an upstream whose API root is `base_url`."""
        return base_url.rstrip("/") + "/chat/completions"

    def credential(self, api_key: str | None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {api_key}"),) if api_key else ()

    def answer_usage(self, body: Any) -> Usage:
        return parse_usage(body.get("usage")) if isinstance(body, dict) else Usage()

    def finish_reasons(self, body: Any) -> list[str]:
        choices = body.get("choices") if isinstance(body, dict) else None
        items = choices if isinstance(choices, list) else []
        return [
            str(c["finish_reason"]) for c in items if isinstance(c, dict) and c.get("finish_reason")
        ]

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """`{"error": {"message", "type", "param", "code"}}`, `type` chosen by status."""
        return {"error": error_body(status, code, message)}
