"""The Google Gemini `generateContent` dialect, to and from the neutral form.

Requests come to `POST /v1beta/models/{model}:generateContent` (or `:streamGenerateContent
?alt=sse`); the model is in the URL, so `parse_request` takes it as an argument and
`render_request` leaves it out of the body. The REST API and the google-genai SDK write keys in
camelCase, though the SDK sends a few in snake_case: both are read (`keys.field`).

What Gemini does differently from the other dialects:
- Function calls may come without ids, and results are matched to calls by name, in order.
  Missing ids are made up deterministically (`call_<name>_<n>`), and results take the id of the
  oldest unanswered call of their name; a neutral result without a name takes it from the call.
- Thought signatures ride on any part; they travel through the neutral form on empty, signed
  ThinkingParts (see `content.parse_parts`). A history without them gets Google's
  documented skip value, so Gemini 3 accepts tool calls made by another vendor's model.
- `promptTokenCount` includes cached tokens and `candidatesTokenCount` excludes thoughts.
- Streams are unnamed `data:` frames, each a whole response chunk; no `[DONE]`.

Its parts, one per piece of the wire: `request`, `response` and `stream` (the three shapes an
exchange takes), `content` (parts), `tools`, `schema` (the SDK's schemas as JSON Schema),
`usage`, `errors` and `keys` (either spelling of a key).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from llmgw_desktop.engine.gateway.dialects.gemini.errors import error_info, status_name
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.dialects.gemini.request import parse_request, render_request
from llmgw_desktop.engine.gateway.dialects.gemini.response import parse_response, render_response
from llmgw_desktop.engine.gateway.dialects.gemini.stream import (
    GeminiStreamDecoder,
    GeminiStreamEncoder,
)
from llmgw_desktop.engine.gateway.dialects.gemini.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
)
from llmgw_desktop.engine.gateway.translation import TargetModel
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["GeminiDialect"]


class GeminiDialect:
    """Google Gemini `generateContent` / `streamGenerateContent`."""

    name = "gemini"
    # What the upstream is sent unless the client said otherwise (none here).
    default_headers: tuple[tuple[str, str], ...] = ()

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
        """A Gemini client's request body in neutral form; `model` comes from the URL.

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
        """The body for a Gemini upstream (the model goes in the URL, not here). What Gemini
        cannot take is added to `notes`.

        Raises:
            InvalidRequest: a message cannot be said in Gemini (e.g. an orphan tool result).
        """
        return render_request(request, target=target, notes=notes)

    def parse_response(self, body: Any) -> ChatResponse:
        """A Gemini upstream's complete answer.

        Raises:
            ValueError: the body is not a Gemini answer.
        """
        return parse_response(body)

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """The body a Gemini client expects.

        Raises:
            ValueError: a tool call's arguments are not a JSON object.
        """
        return render_response(response, request)

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> GeminiStreamEncoder:
        return GeminiStreamEncoder(request.model)

    def api_root(self, base_url: str) -> str:
        """The API's root under `base_url` (`/v1beta`, added where the base URL lacks a
        version)."""
        base = base_url.rstrip("/")
        return base if base.endswith(("/v1beta", "/v1")) else base + "/v1beta"

    def upstream_url(
        self, base_url: str, model: str, *, stream: bool, count_tokens: bool = False
    ) -> str:
        """Where a call (or a count of its input) for `model` is sent at an upstream at
        `base_url`: the model is the client's, quoted so it stays one path segment."""
        if count_tokens:
            action = "countTokens"
        else:
            action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{self.api_root(base_url)}/models/{quote(model, safe='-._~')}:{action}"

    def credential(self, api_key: str | None) -> tuple[tuple[str, str], ...]:
        return (("x-goog-api-key", api_key),) if api_key else ()

    def answer_usage(self, body: Any) -> Usage:
        if not isinstance(body, dict):
            return Usage()
        return parse_usage(field(body, "usageMetadata"))

    def finish_reasons(self, body: Any) -> list[str]:
        candidates = body.get("candidates") if isinstance(body, dict) else None
        items = candidates if isinstance(candidates, list) else []
        return [
            str(reason)
            for c in items
            if isinstance(c, dict) and (reason := field(c, "finishReason"))
        ]

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """Google's error envelope: the HTTP status, the message and the rpc status name; the
        gateway's stable code as the reason of a `google.rpc.ErrorInfo` detail (Google's place
        for a machine-readable cause, since `code` is the HTTP status there)."""
        return {
            "error": {
                "code": status,
                "message": message,
                "status": status_name(status, code),
                "details": [error_info(code)],
            }
        }
