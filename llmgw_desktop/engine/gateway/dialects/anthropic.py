"""The Anthropic Messages dialect (`POST /v1/messages`), to and from the neutral form.

Parses clients' requests and upstream answers (whole or streamed), renders requests for an
Anthropic upstream and answers for Anthropic clients. Usage needs no conversion: the neutral
form follows Anthropic's convention (input tokens exclude cache reads and writes). Block-level
helpers live in `_anthropic_parts.py`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects import _anthropic_parts as parts
from llmgw_desktop.engine.gateway.dialects._anthropic_parts import DEFAULT_MAX_TOKENS
from llmgw_desktop.engine.gateway.dialects._anthropic_tools import parse_tools, render_tool
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.dialects.body import (
    typed_field,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    MessageEnd,
    MessageStart,
    Part,
    StopReason,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from llmgw_desktop.engine.gateway.sse import frame
from llmgw_desktop.engine.gateway.translation import TargetModel, left_out_fields

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AnthropicDialect",
    "AnthropicStreamDecoder",
    "AnthropicStreamEncoder",
]


# Top-level fields the translation carries, and why the others it knows are left out.
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "max_tokens",
        "stop_sequences",
        "metadata",
        "temperature",
        "top_p",
        "top_k",
        "stream",
        "thinking",
        "output_config",
        "output_format",
    }
)
_LEFT_OUT = {
    "context_management": "context editing is Anthropic's",
    "cache_control": "prompt caching is Anthropic's",
    "container": "Anthropic's code-execution container",
    "mcp_servers": "Anthropic's MCP connector",
    "service_tier": "Anthropic's",
    "inference_geo": "Anthropic's",
    "speed": "Anthropic's",
}
# What a client asking for "any JSON object" is told when the upstream takes only schemas.
JSON_OBJECT_INSTRUCTION = "Answer with one JSON object and nothing else."


class AnthropicDialect:
    """Anthropic Messages: `/v1/messages`, named SSE events, usage split by cache."""

    name = "anthropic"

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
        """A client's Messages request in neutral form, for an upstream of another dialect.

        Raises:
            InvalidRequest: naming the field that is missing or malformed.
            Untranslatable: the request uses something no other dialect can carry.
        """
        model = model or typed_field(body, "model", "", str, "a string", required=True)
        raw_messages = typed_field(body, "messages", "", list, "a list of messages", required=True)
        if not raw_messages:
            raise InvalidRequest("messages: at least one message is required")
        # Required by Anthropic, but count_tokens takes none; a missing one is no obstacle to
        # another dialect (a limit is only rendered where one is needed).
        max_tokens = typed_field(body, "max_tokens", "", int, "an integer")
        if max_tokens is not None and max_tokens < 1:
            raise InvalidRequest("max_tokens: expected a positive integer")
        stop = typed_field(body, "stop_sequences", "", list, "a list of strings") or []
        if not all(isinstance(s, str) for s in stop):
            raise InvalidRequest("stop_sequences: expected a list of strings")
        metadata = typed_field(body, "metadata", "", dict, "an object") or {}
        temperature = typed_field(body, "temperature", "", (int, float), "a number")
        top_p = typed_field(body, "top_p", "", (int, float), "a number")
        stream = bool(typed_field(body, "stream", "", bool, "a boolean"))
        left_out = left_out_fields(body, _HANDLED, _LEFT_OUT)
        messages = tuple(parts.parse_message(i, m, left_out) for i, m in enumerate(raw_messages))
        tool_choice = body.get("tool_choice")
        return ChatRequest(
            model=str(model),
            messages=messages,
            system=parts.parse_system(body.get("system")),
            tools=parse_tools(body.get("tools"), left_out),
            tool_choice=parts.parse_tool_choice(tool_choice),
            max_tokens=max_tokens,
            temperature=None if temperature is None else float(temperature),
            top_p=None if top_p is None else float(top_p),
            top_k=typed_field(body, "top_k", "", int, "an integer"),
            stop=tuple(stop),
            stream=stream,
            # Anthropic streams always carry usage, so whatever serves this must ask for it.
            stream_usage=stream,
            user=typed_field(metadata, "user_id", "metadata.", str, "a string"),
            reasoning_effort=parts.parse_thinking(body),
            response_format=parts.parse_output_format(body),
            parallel_tool_calls=(
                False
                if isinstance(tool_choice, dict) and tool_choice.get("disable_parallel_tool_use")
                else None
            ),
            left_out=tuple(left_out),
        )

    def render_request(
        self,
        request: ChatRequest,
        *,
        target: TargetModel | None = None,
        notes: list[str] | None = None,
    ) -> dict[str, Any]:
        """The body for an Anthropic upstream; what it cannot take is added to `notes`."""
        notes = notes if notes is not None else []
        out: dict[str, Any] = {"model": request.model}
        system = [parts.text_block(p) for p in request.system if p.text]
        fmt = request.response_format
        if fmt is not None and fmt.kind == "json_object":
            # Anthropic constrains output only to a schema; any object is asked for in words.
            system.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
            notes.append("response_format json_object (asked for in the system prompt)")
        if system:
            out["system"] = system
        out["messages"] = parts.render_messages(request.messages)
        parts.render_sampling(
            request, out, reasoning=target is None or target.reasoning, notes=notes
        )
        if request.stop:
            out["stop_sequences"] = list(request.stop)
        if request.tools:
            out["tools"] = [render_tool(t) for t in request.tools]
        if request.tool_choice is not None or request.parallel_tool_calls is False:
            choice = parts.render_tool_choice(request.tool_choice or "auto")
            if request.parallel_tool_calls is False and choice["type"] != "none":
                choice["disable_parallel_tool_use"] = True
            out["tool_choice"] = choice
        if fmt is not None and fmt.kind == "json_schema" and fmt.schema is not None:
            out["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
        if request.user:
            out["metadata"] = {"user_id": request.user}
        if request.stream:
            out["stream"] = True
        return out

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        """An Anthropic upstream's complete answer.

        Raises:
            ValueError: the body is an error or not a Messages answer.
        """
        if not isinstance(body, dict):
            raise ValueError("not an Anthropic message: expected a JSON object")
        if body.get("type") == "error":
            raise ValueError(parts.upstream_error(body))
        content = body.get("content")
        if body.get("type") != "message" or not isinstance(content, list):
            raise ValueError(
                "not an Anthropic message: expected type 'message' with a content list"
            )
        found: list[Part] = []
        for block in content:
            part = parts.response_part(block)
            if part is not None:
                found.append(part)
        return ChatResponse(
            id=str(body.get("id") or ""),
            model=str(body.get("model") or ""),
            parts=tuple(found),
            stop_reason=parts.stop_reason_in(body.get("stop_reason")),
            usage=parts.parse_usage(body.get("usage")),
        )

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """The Messages answer an Anthropic client expects."""
        blocks = [b for b in map(parts.response_block, response.parts) if b is not None]
        return {
            "id": response.id or _message_id(),
            "type": "message",
            "role": "assistant",
            "model": response.model,
            "content": blocks,
            "stop_reason": parts.stop_reason_out(response.stop_reason),
            # The neutral form does not say which stop sequence matched.
            "stop_sequence": None,
            "usage": parts.render_usage(response.usage),
        }

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(request.model)

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """`{"type":"error","error":{"type","message"}}`, the type chosen by HTTP status."""
        return parts.error_body(status, code, message)


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


# -- streaming -------------------------------------------------------------------------------


class AnthropicStreamDecoder:
    """Anthropic SSE events into neutral events, block indexes renumbered without gaps."""

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._start_usage = Usage()
        self._usage = Usage()
        self._stop: StopReason | None = None
        # Upstream block index -> neutral index; None for blocks we skip (redacted thinking).
        self._blocks: dict[int, int | None] = {}
        self._next_index = 0

    def feed(self, sse: SseFrame) -> list[StreamEvent]:
        """Neutral events for one SSE frame.

        Raises:
            ValueError: the frame is not valid JSON, reports an upstream error, or is out of order.
        """
        if self._ended:
            return []
        try:
            data = jsonio.loads(sse[1])
        except ValueError as exc:
            raise ValueError(f"anthropic stream: frame is not JSON: {sse[1][:80]!r}") from exc
        if not isinstance(data, dict):
            raise ValueError("anthropic stream: frame is not a JSON object")
        # The payload's `type` is authoritative; some proxies omit the `event:` line.
        kind = data.get("type") or sse[0]
        if kind == "ping":
            return []
        if kind == "error":
            raise ValueError(parts.upstream_error(data))
        if kind == "message_start":
            return self._message_start(data)
        if not self._started:
            raise ValueError(f"anthropic stream: {kind} before message_start")
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "content_block_delta":
            return self._block_delta(data)
        if kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self._stop = parts.stop_reason_in(delta["stop_reason"])
            self._usage = parts.merge_usage(self._usage, parts.parse_usage(data.get("usage")))
            return []
        if kind == "message_stop":
            return self._end()
        return []  # content_block_stop, and event kinds added after this was written

    def close(self) -> list[StreamEvent]:
        """A MessageEnd if the upstream stopped after message_delta without message_stop.

        Raises:
            ValueError: the stream ended before the answer was complete.
        """
        if self._ended:
            return []
        if self._stop is None:
            raise ValueError("anthropic stream ended before the message was complete")
        return self._end()

    def _message_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            raise ValueError("anthropic stream: a second message_start")
        message = data.get("message")
        message = message if isinstance(message, dict) else {}
        self._started = True
        self._start_usage = self._usage = parts.parse_usage(message.get("usage"))
        return [
            MessageStart(
                id=str(message.get("id") or ""),
                model=str(message.get("model") or ""),
                usage=self._start_usage,
            )
        ]

    def _block_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        block = data.get("content_block")
        block = block if isinstance(block, dict) else {}
        kind = block.get("type")
        if kind not in ("text", "thinking", "tool_use"):
            self._blocks[_index(data)] = None
            return []
        index = self._next_index
        self._next_index += 1
        self._blocks[_index(data)] = index
        if kind == "text":
            text = block.get("text")
            return [TextDelta(index, text)] if isinstance(text, str) and text else []
        if kind == "thinking":
            text = block.get("thinking")
            return [ThinkingDelta(index, text)] if isinstance(text, str) and text else []
        events: list[StreamEvent] = [
            ToolCallStart(index, str(block.get("id") or ""), str(block.get("name") or ""))
        ]
        # The real API starts with `input: {}`; some proxies send the whole input up front.
        if isinstance(block.get("input"), dict) and block["input"]:
            events.append(ToolCallDelta(index, json.dumps(block["input"], ensure_ascii=False)))
        return events

    def _block_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        upstream = _index(data)
        if upstream not in self._blocks:
            raise ValueError(f"anthropic stream: delta for block {upstream} that never started")
        index = self._blocks[upstream]
        delta = data.get("delta")
        if index is None or not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [TextDelta(index, str(delta["text"]))]
        if kind == "input_json_delta" and delta.get("partial_json"):
            return [ToolCallDelta(index, str(delta["partial_json"]))]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [ThinkingDelta(index, str(delta["thinking"]))]
        return []  # signature_delta and citations_delta have no neutral event

    def _end(self) -> list[StreamEvent]:
        self._ended = True
        usage = parts.merge_usage(self._start_usage, self._usage)
        return [MessageEnd(self._stop or "end_turn", usage)]


def _index(data: dict[str, Any]) -> int:
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ValueError(f"anthropic stream: {data.get('type')} without an integer index")
    return index


class AnthropicStreamEncoder:
    """Neutral events as the SSE events the Anthropic API sends."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._ended = False
        self._start_usage = Usage()
        # Neutral index -> Anthropic index, in order of appearance.
        self._blocks: dict[int, int] = {}
        self._open: int | None = None

    def encode(self, event: StreamEvent) -> bytes:
        if self._ended:
            return b""
        out = b""
        if isinstance(event, MessageStart):
            if self._started:
                return b""
            return self._message_start(event)
        if not self._started:
            out += self._message_start(MessageStart(_message_id(), self._model))
        if isinstance(event, MessageEnd):
            return out + self._message_end(event)
        if isinstance(event, ToolCallStart):
            block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
            return out + self._open_block(event.index, block)
        if event.index not in self._blocks:
            if isinstance(event, ToolCallDelta):
                return out  # arguments for a call that never started: nowhere to put them
            block = (
                {"type": "text", "text": ""}
                if isinstance(event, TextDelta)
                else {"type": "thinking", "thinking": "", "signature": ""}
            )
            out += self._open_block(event.index, block)
        if isinstance(event, TextDelta):
            delta = {"type": "text_delta", "text": event.text}
        elif isinstance(event, ThinkingDelta):
            delta = {"type": "thinking_delta", "thinking": event.text}
        else:
            delta = {"type": "input_json_delta", "partial_json": event.arguments}
        # A late delta for an already closed block keeps its index: Anthropic cannot reopen one.
        payload = {
            "type": "content_block_delta",
            "index": self._blocks[event.index],
            "delta": delta,
        }
        return out + frame(payload, "content_block_delta")

    def close(self) -> bytes:
        return b""  # Anthropic streams end with message_stop; there is no trailer

    def error(self, status: int, code: str, message: str) -> bytes:
        self._ended = True
        return frame(parts.error_body(status, code, message), "error")

    def _message_start(self, event: MessageStart) -> bytes:
        self._started = True
        self._start_usage = event.usage
        message: dict[str, Any] = {
            "id": event.id or _message_id(),
            "type": "message",
            "role": "assistant",
            "model": event.model or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": parts.render_usage(event.usage),
        }
        return frame({"type": "message_start", "message": message}, "message_start")

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open = self._open, None
        return frame({"type": "content_block_stop", "index": index}, "content_block_stop")

    def _open_block(self, neutral_index: int, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        index = self._blocks[neutral_index] = len(self._blocks)
        self._open = index
        payload = {"type": "content_block_start", "index": index, "content_block": block}
        return out + frame(payload, "content_block_start")

    def _message_end(self, event: MessageEnd) -> bytes:
        self._ended = True
        usage = parts.merge_usage(self._start_usage, event.usage)
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": parts.stop_reason_out(event.stop_reason),
                "stop_sequence": None,
            },
            "usage": parts.render_usage(usage),
        }
        return (
            self._close_block()
            + frame(delta, "message_delta")
            + frame({"type": "message_stop"}, "message_stop")
        )
