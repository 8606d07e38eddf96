"""The OpenAI Chat Completions dialect (`POST /v1/chat/completions`), both ways.

As a front door it parses what OpenAI SDK clients send and answers as OpenAI would: a
`chat.completion` body, or `chat.completion.chunk` SSE frames ending with `data: [DONE]`.
As an upstream it speaks to OpenAI and to the many servers that imitate it (Ollama, Groq,
vLLM, DeepSeek, LM Studio), so the parsers tolerate their quirks: reasoning text in
`reasoning_content` or `reasoning`, usage on the finish chunk or in a chunk of its own after
it, tool calls ending with finish reason "stop".

Usage follows the neutral convention: OpenAI's `prompt_tokens` includes cached input, the
neutral `input_tokens` does not. Cache writes, which OpenAI never reports, are carried in
`prompt_tokens_details.cache_write_tokens` so a round trip does not lose them.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects._openai_chat_parts import (
    finish_reason,
    merge_usage,
    parse_request,
    parse_usage,
    render_request,
    render_tool_call,
    render_usage,
    stop_reason,
    tool_arguments,
)
from llmgw_desktop.engine.gateway.dialects._shared import custom_input
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    MessageEnd,
    MessageStart,
    Part,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
    Usage,
)
from llmgw_desktop.engine.gateway.sse import frame
from llmgw_desktop.engine.gateway.translation import TargetModel

__all__ = ["OpenAIChatDialect", "OpenAIChatStreamDecoder", "OpenAIChatStreamEncoder"]

_DONE = "[DONE]"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "server_error",
}
# "messages[2].content: expected ..." -> param "messages[2].content", as OpenAI reports it.
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """OpenAI's error object, its `type` chosen by HTTP status."""
    if status in _ERROR_TYPES:
        kind = _ERROR_TYPES[status]
    elif 400 <= status < 500:
        kind = "invalid_request_error"
    else:
        kind = "api_error"
    field = _FIELD_PREFIX.match(message) if status == 400 else None
    return {
        "message": message,
        "type": kind,
        "param": field.group(1) if field else None,
        "code": code,
    }


def _upstream_error(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type') or error.get('code') or 'error'}: {error.get('message')}"
    return str(error)


def _string(value: Any) -> str:
    """The value if it is a string, else "" (compatible servers send nulls and odd types)."""
    return value if isinstance(value, str) else ""


def _reasoning_text(message: dict[str, Any]) -> str:
    """Reasoning text from compatible servers (DeepSeek, vLLM: `reasoning_content`; Ollama,
    OpenRouter, Groq: `reasoning`). OpenAI itself never returns it."""
    return _string(message.get("reasoning_content") or message.get("reasoning"))


def _content_text(content: Any) -> str:
    """Answer text: a string, or (Mistral and a few others) a list of text chunks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            c["text"]
            for c in content
            if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
        )
    return ""


def _parse_response(body: Any) -> ChatResponse:
    if not isinstance(body, dict):
        raise ValueError("not a chat completion: expected a JSON object")
    if body.get("error"):
        raise ValueError(f"upstream returned an error: {_upstream_error(body['error'])}")
    if body.get("object", "chat.completion") != "chat.completion":
        raise ValueError(f"not a chat completion: object is {body.get('object')!r}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("not a chat completion: choices is missing or empty")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ValueError("not a chat completion: choices[0].message is missing")
    parts: list[Part] = []
    if reasoning := _reasoning_text(message):
        parts.append(ThinkingPart(reasoning))
    # A structured-output refusal comes in its own field, with finish reason "stop".
    refusal = _string(message.get("refusal"))
    text = _content_text(message.get("content"))
    if text or refusal:
        parts.append(TextPart(text or refusal))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError("not a chat completion: a tool call has no function name")
        call_id = call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
        parts.append(
            ToolCallPart(call_id, function["name"], tool_arguments(function.get("arguments")))
        )
    finish = choices[0].get("finish_reason")
    saw_tool_call = any(isinstance(p, ToolCallPart) for p in parts)
    stop = stop_reason(finish, saw_tool_call=saw_tool_call)
    if refusal and not text and not saw_tool_call:
        stop = "refusal"
    return ChatResponse(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        parts=tuple(parts),
        stop_reason=stop,
        usage=parse_usage(body.get("usage")),
    )


def _render_response(response: ChatResponse, request: ChatRequest | None) -> dict[str, Any]:
    text = "".join(p.text for p in response.parts if isinstance(p, TextPart))
    thinking = "".join(p.text for p in response.parts if isinstance(p, ThinkingPart))
    calls = [
        render_tool_call(p, request.tool_named(p.name) if request else None)
        for p in response.parts
        if isinstance(p, ToolCallPart)
    ]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text or (None if calls else ""),
        "refusal": None,
        "annotations": [],
    }
    if thinking:
        # The DeepSeek-style extension many clients show; strict OpenAI clients ignore it.
        message["reasoning_content"] = thinking
    if calls:
        message["tool_calls"] = calls
    return {
        "id": response.id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(response.stop_reason),
            }
        ],
        "usage": render_usage(response.usage),
    }


class OpenAIChatStreamDecoder:
    """Reads `chat.completion.chunk` frames into neutral events.

    Text, reasoning and tool calls share one content-block index space; OpenAI's tool-call
    `index` (counted among tool calls only) is mapped onto it. MessageEnd waits for `[DONE]`
    (or the end of the stream) because the usage chunk comes after the finish chunk.
    """

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._next_block = 0
        self._open: tuple[str, int] | None = None  # the text or thinking block being written
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> content-block index
        self._finish: str | None = None
        self._start_usage = Usage()
        self._usage = Usage()

    def feed(self, frame: SseFrame) -> list[StreamEvent]:
        """Neutral events for one SSE frame.

        Raises:
            ValueError: the frame is not JSON, or the upstream reported an error in the stream.
        """
        data = frame[1].strip()
        if self._ended or not data:
            return []
        if data == _DONE:
            return self._end(done=True)
        try:
            chunk = jsonio.loads(data)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a chat completion chunk: {data[:80]!r}") from exc
        if not isinstance(chunk, dict):
            raise ValueError("not a chat completion chunk: expected a JSON object")
        if chunk.get("error"):
            raise ValueError(f"upstream error in stream: {_upstream_error(chunk['error'])}")
        choices = chunk.get("choices")
        choices = [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
        has_usage = isinstance(chunk.get("usage"), dict)
        if has_usage:
            # Usage is cumulative; the last one seen is the total.
            self._usage = parse_usage(chunk["usage"])
        events: list[StreamEvent] = []
        # Azure opens with a choice-less chunk of content-filter results: not the answer yet.
        if not self._started and (choices or has_usage):
            self._started = True
            self._start_usage = self._usage
            events.append(
                MessageStart(
                    id=str(chunk.get("id") or ""),
                    model=str(chunk.get("model") or ""),
                    usage=self._start_usage,
                )
            )
        for choice in choices[:1]:  # one choice: the gateway refuses n > 1
            delta = choice.get("delta")
            if isinstance(delta, dict):
                events.extend(self._delta(delta))
            if isinstance(choice.get("finish_reason"), str):
                self._finish = choice["finish_reason"]
        return events

    def close(self) -> list[StreamEvent]:
        """MessageEnd if the upstream closed after its finish chunk without `[DONE]`.

        Raises:
            ValueError: the stream ended before a finish reason.
        """
        return [] if self._ended else self._end(done=False)

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if reasoning := _reasoning_text(delta):
            events.append(ThinkingDelta(self._block("thinking"), reasoning))
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                events.append(TextDelta(self._block("text"), text))
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                events.extend(self._tool_call(call))
        return events

    def _block(self, kind: str) -> int:
        """The index of the open block of this kind, or of a new one."""
        if self._open is None or self._open[0] != kind:
            self._open = (kind, self._next_block)
            self._next_block += 1
        return self._open[1]

    def _tool_call(self, call: dict[str, Any]) -> list[StreamEvent]:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        position = call.get("index")
        if not isinstance(position, int):
            # A few servers omit the index: a call with a new id is a new call.
            is_new = call.get("id") or not self._tools
            position = len(self._tools) if is_new else max(self._tools)
        events: list[StreamEvent] = []
        if position not in self._tools:
            self._open = None
            self._tools[position] = self._next_block
            self._next_block += 1
            call_id = call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
            name = _string(function.get("name"))
            events.append(ToolCallStart(self._tools[position], str(call_id), name))
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = tool_arguments(arguments)  # an object from a non-conforming server
        if arguments:
            events.append(ToolCallDelta(self._tools[position], arguments))
        return events

    def _end(self, *, done: bool) -> list[StreamEvent]:
        if not self._started:
            raise ValueError("chat completion stream ended before any chunk")
        if self._finish is None and not done:
            raise ValueError("chat completion stream ended before its finish_reason")
        self._ended = True
        # After [DONE] without a finish reason (seen from lax servers) the answer is complete.
        stop = stop_reason(self._finish, saw_tool_call=bool(self._tools))
        return [MessageEnd(stop, merge_usage(self._start_usage, self._usage))]


class OpenAIChatStreamEncoder:
    """Writes neutral events as OpenAI sends them: chunks, a usage chunk, then `[DONE]`."""

    def __init__(self, request: ChatRequest) -> None:
        self._include_usage = request.stream_usage
        self._model = request.model
        self._id = ""
        self._created = int(time.time())
        self._started = False
        self._closed = False
        self._tools: dict[int, int] = {}  # content-block index -> OpenAI tool-call index
        self._start_usage = Usage()
        self._request = request
        # Calls of the client's freeform tools: their raw input is known only once the JSON
        # arguments are whole, so each goes out in one piece at the end.
        self._custom: dict[int, tuple[str, str, list[str]]] = {}

    def encode(self, event: StreamEvent) -> bytes:
        """SSE bytes for one neutral event.

        Raises:
            ValueError: the event is out of order (before MessageStart, or an unknown tool call).
        """
        if isinstance(event, MessageStart):
            self._started = True
            self._id = event.id or f"chatcmpl-{uuid.uuid4().hex}"
            self._model = event.model or self._model
            self._start_usage = event.usage
            return self._chunk({"role": "assistant", "content": "", "refusal": None})
        if not self._started:
            raise ValueError(f"{type(event).__name__} before MessageStart")
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text}) if event.text else b""
        if isinstance(event, ThinkingDelta):
            return self._chunk({"reasoning_content": event.text}) if event.text else b""
        if isinstance(event, ToolCallStart):
            position = self._tools.setdefault(event.index, len(self._tools))
            tool = self._request.tool_named(event.name)
            if tool is not None and tool.kind == "custom":
                self._custom[event.index] = (event.id, event.name, [])
                return b""
            call = {
                "index": position,
                "id": event.id,
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, ToolCallDelta):
            if event.index not in self._tools:
                raise ValueError(f"ToolCallDelta for block {event.index} with no ToolCallStart")
            if event.index in self._custom:
                self._custom[event.index][2].append(event.arguments)
                return b""
            call = {"index": self._tools[event.index], "function": {"arguments": event.arguments}}
            return self._chunk({"tool_calls": [call]})
        out = self._custom_calls() + self._chunk({}, finish_reason(event.stop_reason))
        if self._include_usage:
            usage = render_usage(merge_usage(self._start_usage, event.usage))
            out += frame(self._envelope() | {"choices": [], "usage": usage})
        return out

    def _custom_calls(self) -> bytes:
        out = b""
        for index, (call_id, name, pieces) in self._custom.items():
            custom = {"name": name, "input": custom_input("".join(pieces))}
            call = {"index": self._tools[index], "id": call_id, "type": "custom", "custom": custom}
            out += self._chunk({"tool_calls": [call]})
        self._custom.clear()
        return out

    def close(self) -> bytes:
        """The `data: [DONE]` terminator, once."""
        if self._closed:
            return b""
        self._closed = True
        return frame(_DONE)

    def error(self, status: int, code: str, message: str) -> bytes:
        """An in-stream error frame, `data: {"error": {...}}`, as OpenAI sends it."""
        return frame({"error": _error_body(status, code, message)})

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        chunk = self._envelope() | {"choices": [choice]}
        if self._include_usage:
            chunk["usage"] = None  # OpenAI marks every chunk but the last when usage is on
        return frame(chunk)


class OpenAIChatDialect:
    """OpenAI Chat Completions, as a front door and as an upstream."""

    name = "openai-chat"

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

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        """An upstream's `chat.completion` in neutral form.

        Raises:
            ValueError: the body is an error or not a chat completion.
        """
        return _parse_response(body)

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """A `chat.completion` body for the client (`request` names its freeform tools)."""
        return _render_response(response, request)

    def stream_decoder(self) -> OpenAIChatStreamDecoder:
        return OpenAIChatStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> OpenAIChatStreamEncoder:
        return OpenAIChatStreamEncoder(request)

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """`{"error": {"message", "type", "param", "code"}}`, `type` chosen by status."""
        return {"error": _error_body(status, code, message)}
