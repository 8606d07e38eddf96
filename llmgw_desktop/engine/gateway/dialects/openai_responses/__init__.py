"""The OpenAI Responses dialect (`POST /v1/responses`), to and from the neutral form.

Responses is stateful at OpenAI (`previous_response_id`, `store`, conversations); this
translator is not, so a request must carry the whole conversation in `input`, and requests that
point at server-side state are refused with a clear message.

Each neutral content block is its own output item: text a `message` item, thinking a
`reasoning` item (summary text), a tool call a `function_call` item whose `call_id` is the
neutral tool-call id (the item `id`, `fc_…`, is OpenAI's own and not kept). Usage arrives only in
the final response object, and its `input_tokens` include cached input.

Its parts: `request` (with its `input_items`), `response` (with its output `items`), `stream`,
`tools` and `usage`; its errors are Chat's (`openai_chat/errors.py`).
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.gateway.dialects.openai_chat.errors import error_body
from llmgw_desktop.engine.gateway.dialects.openai_responses.request import (
    parse_request,
    render_request,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.response import (
    parse_response,
    render_response,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.stream import (
    OpenAIResponsesStreamDecoder,
    OpenAIResponsesStreamEncoder,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
)
from llmgw_desktop.engine.gateway.translation import TargetModel
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["OpenAIResponsesDialect"]


class OpenAIResponsesDialect:
    """Translator for the OpenAI Responses API."""

    name = "openai-responses"
    # What the upstream is sent unless the client said otherwise (none here).
    default_headers: tuple[tuple[str, str], ...] = ()

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
        """A `/v1/responses` request in neutral form.

        Raises:
            InvalidRequest: naming the field that is missing, malformed or not supported.
        """
        return parse_request(body, model)

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The body for a Responses upstream; what it cannot take (stop sequences, seeds) is
        added to `notes`."""
        return render_request(request, reasoning=target is None or target.reasoning, notes=notes)

    def parse_response(self, body: Any) -> ChatResponse:
        """A complete `response` object in neutral form.

        Raises:
            ValueError: the body is not a Responses answer.
        """
        return parse_response(body)

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """The `response` object a Responses client expects; calls of the client's namespaced
        or freeform tools go back in the form the client declared them."""
        return render_response(response, request)

    def stream_decoder(self) -> OpenAIResponsesStreamDecoder:
        return OpenAIResponsesStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> OpenAIResponsesStreamEncoder:
        return OpenAIResponsesStreamEncoder(request)

    def api_root(self, base_url: str) -> str:
        """The API's root: the base URL itself (its `/v1` is the provider's to name)."""
        return base_url.rstrip("/")

    def upstream_url(
        self, base_url: str, model: str, *, stream: bool, count_tokens: bool = False
    ) -> str:
        """Where a call (or a count of its input) is sent at an upstream rooted at `base_url`."""
        return base_url.rstrip("/") + ("/responses/input_tokens" if count_tokens else "/responses")

    def credential(self, api_key: str | None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {api_key}"),) if api_key else ()

    def answer_usage(self, body: Any) -> Usage:
        return parse_usage(body.get("usage")) if isinstance(body, dict) else Usage()

    def finish_reasons(self, body: Any) -> list[str]:
        status = body.get("status") if isinstance(body, dict) else None
        return [str(status)] if status else []

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """`{"error": {"message", "type", "param", "code"}}`, `type` chosen by status."""
        return {"error": error_body(status, code, message, other_type="server_error")}
