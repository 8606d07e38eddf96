"""`chat.completion.chunk` streams: decoded from an upstream into neutral events, encoded for a
client.
"""

from __future__ import annotations

import json
import time
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, StreamCut, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.freeform import custom_input
from llmgw_desktop.engine.gateway.dialects.openai_chat.errors import error_body, upstream_error
from llmgw_desktop.engine.gateway.dialects.openai_chat.response import (
    finish_reason,
    reasoning_text,
    stop_reason,
    string_or_empty,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.tools import tool_arguments
from llmgw_desktop.engine.gateway.dialects.openai_chat.usage import (
    merge_usage,
    parse_usage,
    render_usage,
)
from llmgw_desktop.engine.gateway.http_client.sse import frame
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from llmgw_desktop.engine.ids import random_hex
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["OpenAIChatStreamDecoder", "OpenAIChatStreamEncoder"]

_DONE = "[DONE]"


class OpenAIChatStreamDecoder:
    """Reads `chat.completion.chunk` frames into neutral events.

    Text, reasoning and tool calls share one content-block index space; OpenAI's tool-call
    `index` (counted among tool calls only) is mapped onto it. MessageEnd waits for `[DONE]`
    because the usage chunk comes after the finish chunk: a stream that ends without `[DONE]`
    was cut (`StreamCut`), even after its finish chunk, and may have lost its usage with it.
    """

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._next_block = 0
        self._open: tuple[str, int] | None = None  # the text or thinking block being written
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> content-block index
        self._finish: str | None = None
        self._counted = False  # a usage chunk came at or after the finish chunk
        self._start_usage = Usage()
        self._usage = Usage()

    def feed(self, frame: SseFrame) -> list[StreamEvent]:
        """Neutral events for one SSE frame.

        Raises:
            UpstreamMalformed: the frame is not JSON, or the upstream reported an error in the
                stream.
        """
        data = frame[1].strip()
        if self._ended or not data:
            return []
        if data == _DONE:
            return self._end()
        try:
            chunk = jsonio.loads(data)
        except json.JSONDecodeError as exc:
            raise UpstreamMalformed(f"not a chat completion chunk: {data[:80]!r}") from exc
        if not isinstance(chunk, dict):
            raise UpstreamMalformed("not a chat completion chunk: expected a JSON object")
        if chunk.get("error"):
            raise UpstreamMalformed(f"upstream error in stream: {upstream_error(chunk['error'])}")
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
        if has_usage and self._finish is not None:
            self._counted = True  # the usage at or after the finish: the answer's whole count
        return events

    def close(self) -> list[StreamEvent]:
        """Nothing once `[DONE]` has come.

        Raises:
            StreamCut: the stream ended after its finish chunk but before `[DONE]` and before
                any usage at or after the finish (the usage chunk is what was lost).
            UpstreamMalformed: the stream ended before a finish reason.
        """
        if self._ended:
            return []
        if not self._started:
            raise UpstreamMalformed("chat completion stream ended before any chunk")
        if self._finish is None:
            raise UpstreamMalformed("chat completion stream ended before its finish_reason")
        if self._counted:
            # Its usage came after the finish, and only `[DONE]` is missing: nothing that counts
            # was lost (a server that leaves `[DONE]` out, or a cut just before it).
            return self._end()
        raise StreamCut(
            "chat completion stream ended after its finish_reason but before [DONE]",
            merge_usage(self._start_usage, self._usage),
        )

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if reasoning := reasoning_text(delta):
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
            call_id = call.get("id") or f"call_{random_hex()[:24]}"
            name = string_or_empty(function.get("name"))
            events.append(ToolCallStart(self._tools[position], str(call_id), name))
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = tool_arguments(arguments)  # an object from a non-conforming server
        if arguments:
            events.append(ToolCallDelta(self._tools[position], arguments))
        return events

    def _end(self) -> list[StreamEvent]:
        if not self._started:
            raise UpstreamMalformed("chat completion stream ended before any chunk")
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
            UpstreamMalformed: the event is out of order (before MessageStart, or an unknown tool
                call).
        """
        if isinstance(event, MessageStart):
            self._started = True
            self._id = event.id or f"chatcmpl-{random_hex()}"
            self._model = event.model or self._model
            self._start_usage = event.usage
            return self._chunk({"role": "assistant", "content": "", "refusal": None})
        if not self._started:
            raise UpstreamMalformed(f"{type(event).__name__} before MessageStart")
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
                raise UpstreamMalformed(
                    f"ToolCallDelta for block {event.index} with no ToolCallStart"
                )
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

    def continue_at(self, sequence: int) -> None:
        """Nothing: this dialect's events carry no sequence numbers."""

    def close(self) -> bytes:
        """The `data: [DONE]` terminator, once."""
        if self._closed:
            return b""
        self._closed = True
        return frame(_DONE)

    def error(self, status: int, code: str, message: str) -> bytes:
        """An in-stream error frame, `data: {"error": {...}}`, as OpenAI sends it."""
        return frame({"error": error_body(status, code, message)})

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
