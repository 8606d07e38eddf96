"""What every dialect translator offers. Translators are pure: bytes and dicts in and out.

A dialect parses what a client sends (`parse_request`) and renders what it expects back
(`render_response`, `StreamEncoder`); the same dialect renders requests for an upstream of its
kind (`render_request`) and parses its answers (`parse_response`, `StreamDecoder`).
"""

from __future__ import annotations

from typing import Any, Protocol

from llmgw_desktop.engine.gateway.http_client.malformed import (
    FrameParser,
    SseFrame,
    UpstreamMalformed,
)
from llmgw_desktop.engine.gateway.ir import ChatRequest, ChatResponse, StreamEvent
from llmgw_desktop.engine.gateway.translation import TargetModel
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "Dialect",
    "FrameParser",
    "SseFrame",
    "StreamCut",
    "StreamDecoder",
    "StreamEncoder",
    "UpstreamDialect",
    "UpstreamMalformed",
]


class StreamCut(UpstreamMalformed):
    """A stream that ended after its answer's finish but before its last event (OpenAI Chat's
    `[DONE]`, Anthropic's `message_stop`, Bedrock's `metadata`): cut off, not complete. A body
    delimited by the connection's close ends as cleanly when the connection drops as when the
    server is done, so only the last event tells; and what it lost may be the usage (OpenAI
    Chat's usage chunk, Bedrock's metadata), which an answer taken as whole would count at 0.

    `usage`: what the upstream had reported before the cut (nothing, where the lost events
    carried it); the recorder counts the call at that, or at its estimate.
    """

    def __init__(self, message: str, usage: Usage) -> None:
        super().__init__(message)
        self.usage = usage


class StreamDecoder(Protocol):
    """Reads an upstream's stream, one SSE frame at a time, into neutral events."""

    def feed(self, frame: SseFrame) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]:
        """Events owed at the end of the stream (none where the dialect's last event ends the
        answer, as in every dialect now).

        Raises:
            StreamCut: the stream ended after its answer's finish but before its last event.
            UpstreamMalformed: the stream ended before the answer was complete.
        """
        ...


class StreamEncoder(Protocol):
    """Writes neutral events as this dialect's SSE bytes for a client."""

    def encode(self, event: StreamEvent) -> bytes: ...

    def close(self) -> bytes:
        """Whatever the dialect sends after the last event (OpenAI's `data: [DONE]`)."""
        ...

    def error(self, status: int, code: str, message: str) -> bytes:
        """An error in the middle of a stream, in this dialect's form."""
        ...

    def continue_at(self, sequence: int) -> None:
        """Number the next event `sequence`, continuing a relayed stream's own numbering
        (only the Responses dialect numbers its events; the others have nothing to do)."""
        ...


class Dialect(Protocol):
    name: str

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
        """A client's request in neutral form (`model` from the URL, for Gemini), for an
        upstream of another dialect. What it cannot carry is in `ChatRequest.left_out`.

        Raises:
            InvalidRequest: naming the field that is missing or malformed.
            Untranslatable: it uses something no other dialect can carry.
        """
        ...

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The body to send an upstream that speaks this dialect, for `target` (which says,
        e.g., whether the model takes reasoning settings); what it cannot take goes to `notes`.

        Raises:
            Untranslatable: a part of the request has no form in this dialect.
        """
        ...

    def parse_response(self, body: Any) -> ChatResponse:
        """An upstream's complete answer, from its decoded JSON: whatever value the upstream
        sent (a list or a string too, which is refused here, not typed away).

        Raises:
            ValueError: the body is not an answer in this dialect.
        """
        ...

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """The body a client of this dialect expects; `request` (the client's, parsed) says how
        its own tools are named (namespaces, freeform tools)."""
        ...

    def stream_decoder(self) -> StreamDecoder: ...

    def stream_encoder(self, request: ChatRequest) -> StreamEncoder: ...

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """An error body in this dialect's envelope."""
        ...

    # -- an upstream of this dialect: where a call goes, with which credential, and what a
    # whole answer says it used (the upstream client knows no dialect: it is told these) ----

    # Headers the upstream is sent unless the client sent its own (Anthropic's version).
    default_headers: tuple[tuple[str, str], ...]

    def api_root(self, base_url: str) -> str:
        """The API's root under a provider's base URL (its model list is there)."""
        ...

    def upstream_url(
        self, base_url: str, model: str, *, stream: bool, count_tokens: bool = False
    ) -> str:
        """Where a call for `model` (streamed or not; or a count of its input tokens) goes."""
        ...

    def credential(self, api_key: str | None) -> tuple[tuple[str, str], ...]:
        """The headers (name, value) an API key is sent in (none without a key: a local
        server's)."""
        ...

    def answer_usage(self, body: Any) -> Usage:
        """What a whole answer says it used (zeros where it says nothing, or is no object)."""
        ...

    def finish_reasons(self, body: Any) -> list[str]:
        """Why a whole answer ended, as this dialect says it (for traces and the cache)."""
        ...


class UpstreamDialect(Protocol):
    """What the gateway needs of a dialect it sends requests in: every client dialect, and
    Bedrock's Converse, which no client speaks."""

    name: str

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]: ...

    def parse_response(self, body: Any) -> ChatResponse: ...

    def stream_decoder(self) -> StreamDecoder: ...
