"""Responses streams (typed SSE events): decoded from an upstream into neutral events, encoded for a
client.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.freeform import (
    custom_input,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.items import (
    function_call_item,
    message_item,
    new_id,
    output_parts,
    reasoning_item,
    response_object,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.response import (
    response_id,
    status_of,
    stop_reason_of,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.usage import parse_usage
from llmgw_desktop.engine.gateway.http_client.sse import frame
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
    ToolDef,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["OpenAIResponsesStreamDecoder", "OpenAIResponsesStreamEncoder"]

_FINAL_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


_ITEM_PREFIX = {"text": "msg", "thinking": "rs", "tool": "fc"}


def _index(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_Key = tuple[str, int, int]  # (kind, output_index, content or summary index)


class OpenAIResponsesStreamDecoder:
    """Reads a Responses event stream into neutral events.

    Content comes from the deltas; `output_item.done` and the final response object only fill
    in what no delta carried (some compatible servers send whole items). Usage and the stop
    reason come from the final response object.
    """

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._indexes: dict[_Key, int] = {}  # neutral block index of each part seen
        self._filled: set[_Key] = set()  # parts that already have content
        self._done_items: set[int] = set()

    def feed(self, sse: SseFrame) -> list[StreamEvent]:
        """Neutral events for one SSE frame.

        Raises:
            UpstreamMalformed: the frame is not a JSON object, or the upstream reported an error.
        """
        event, data = sse
        if self._ended or data.strip() == "[DONE]":
            return []
        try:
            payload = jsonio.loads(data)
        except json.JSONDecodeError as exc:
            raise UpstreamMalformed(
                f"OpenAI Responses stream: frame is not JSON: {data[:80]!r}"
            ) from exc
        if not isinstance(payload, dict):
            raise UpstreamMalformed("OpenAI Responses stream: frame is not a JSON object")
        kind = payload.setdefault("type", event)
        if kind == "error":
            code, message = payload.get("code"), payload.get("message")
            raise UpstreamMalformed(f"OpenAI Responses stream error ({code}): {message}")
        # Others (.done repeats of the deltas, hosted-tool progress) say nothing new.
        events = self._start(payload.get("response"))
        output_index = _index(payload.get("output_index"))
        if kind == "response.output_item.added":
            events += self._item(output_index, payload.get("item"))
        elif kind == "response.output_item.done":
            self._done_items.add(output_index)
            events += self._item(output_index, payload.get("item"))
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            key = ("text", output_index, _index(payload.get("content_index")))
            events += self._content(key, payload.get("delta"))
        elif kind == "response.reasoning_summary_text.delta":
            key = ("think", output_index, _index(payload.get("summary_index")))
            events += self._content(key, payload.get("delta"))
        elif kind == "response.function_call_arguments.delta":
            events += self._arguments(output_index, payload.get("delta"))
        elif kind in _FINAL_EVENTS.values():
            events += self._final(payload.get("response"))
        return events

    def close(self) -> list[StreamEvent]:
        """Nothing, once the final response arrived.

        Raises:
            UpstreamMalformed: the stream ended without response.completed (or .incomplete,
                .failed).
        """
        if not self._ended:
            raise UpstreamMalformed("OpenAI Responses stream ended before response.completed")
        return []

    def _start(self, response: Any) -> list[StreamEvent]:
        if self._started:
            return []
        self._started = True
        shell = response if isinstance(response, dict) else {}
        return [MessageStart(str(shell.get("id") or ""), str(shell.get("model") or ""))]

    def _content(self, key: _Key, text: Any, *, fill: bool = False) -> list[StreamEvent]:
        """A delta for the part at `key`; with `fill`, only if no delta carried it already."""
        if not isinstance(text, str) or not text or (fill and key in self._filled):
            return []
        self._filled.add(key)
        index = self._indexes.setdefault(key, len(self._indexes))
        if key[0] == "tool":
            return [ToolCallDelta(index, text)]
        return [ThinkingDelta(index, text) if key[0] == "think" else TextDelta(index, text)]

    def _arguments(self, output_index: int, text: Any) -> list[StreamEvent]:
        key = ("tool", output_index, 0)
        # Arguments before their item was announced have no call to belong to yet; the
        # item's `output_item.done` brings them whole.
        return self._content(key, text) if key in self._indexes else []

    def _item(self, output_index: int, item: Any) -> list[StreamEvent]:
        """What an announced or finished item says that the deltas have not said."""
        events: list[StreamEvent] = []
        for j, part in output_parts(item):
            if isinstance(part, ToolCallPart):
                key = ("tool", output_index, 0)
                if key not in self._indexes:
                    self._indexes[key] = len(self._indexes)
                    events.append(ToolCallStart(self._indexes[key], part.id, part.name))
                events += self._content(key, part.arguments, fill=True)
            elif isinstance(part, TextPart | ThinkingPart):
                kind = "think" if isinstance(part, ThinkingPart) else "text"
                events += self._content((kind, output_index, j), part.text, fill=True)
        return events

    def _final(self, response: Any) -> list[StreamEvent]:
        response = response if isinstance(response, dict) else {}
        events: list[StreamEvent] = []
        # Items the stream never finished (or never mentioned) are taken from the final object.
        for output_index, item in enumerate(response.get("output") or []):
            if output_index not in self._done_items:
                events += self._item(output_index, item)
        tool_called = any(key[0] == "tool" for key in self._indexes)
        stop = stop_reason_of(response, tool_called=tool_called)
        self._ended = True
        return [*events, MessageEnd(stop, parse_usage(response.get("usage")))]


@dataclass
class _Block:
    """One output item being streamed, with what it has said so far."""

    kind: Literal["text", "thinking", "tool"]
    output_index: int
    item_id: str
    call_id: str = ""
    name: str = ""
    chunks: list[str] = field(default_factory=list)
    status: str = "in_progress"
    # The client's tool this call is for (its namespace, or a freeform tool), if declared.
    tool: ToolDef | None = None

    @property
    def custom(self) -> bool:
        return self.tool is not None and self.tool.kind == "custom"

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def where(self) -> dict[str, Any]:
        """The fields that place an event in this item (and in its one part, if any)."""
        sub = {"text": {"content_index": 0}, "thinking": {"summary_index": 0}}.get(self.kind, {})
        return {"item_id": self.item_id, "output_index": self.output_index, **sub}

    def part(self, text: str) -> dict[str, Any]:
        if self.kind == "text":
            return {"type": "output_text", "text": text, "annotations": []}
        return {"type": "summary_text", "text": text}

    def item(self) -> dict[str, Any]:
        texts = [self.text] if self.status != "in_progress" else []
        if self.kind == "text":
            return message_item(self.item_id, texts, self.status)
        if self.kind == "thinking":
            return reasoning_item(self.item_id, texts)
        call = ToolCallPart(self.call_id, self.name, "".join(texts))
        return function_call_item(self.item_id, call, self.status, self.tool)


# Per block kind: the event family of its one content part, and of its deltas.
_PART_EVENTS = {"text": "response.content_part", "thinking": "response.reasoning_summary_part"}


_DELTA_EVENTS = {
    "text": "response.output_text",
    "thinking": "response.reasoning_summary_text",
    "tool": "response.function_call_arguments",
}


_CUSTOM_EVENTS = "response.custom_tool_call_input"


class OpenAIResponsesStreamEncoder:
    """Writes neutral events as a Responses event stream.

    Items are opened and closed in turn, as OpenAI sends them; the text of each is kept so the
    `.done` events and the final `response.completed` can carry it whole.
    """

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._id = new_id("resp")
        self._model = request.model
        self._created_at = int(time.time())
        self._sequence = 0
        self._started = False
        self._ended = False
        self._start_usage = Usage()
        self._blocks: dict[int, _Block] = {}  # by neutral index, in output order
        self._current: _Block | None = None

    def encode(self, event: StreamEvent) -> bytes:
        """SSE bytes for one neutral event.

        Raises:
            UpstreamMalformed: a delta names a block of another kind, or a tool call never started.
        """
        if self._ended:
            return b""
        out = self._start(event if isinstance(event, MessageStart) else None)
        if isinstance(event, TextDelta | ThinkingDelta):
            kind: Literal["text", "thinking"] = "text"
            if isinstance(event, ThinkingDelta):
                kind = "thinking"
            block = self._blocks.get(event.index)
            if block is None:
                block, opened = self._open(event.index, kind)
                out += opened
            if block.kind != kind:
                raise UpstreamMalformed(
                    f"{kind} delta for block {event.index}, a {block.kind} block"
                )
            out += self._delta(block, event.text)
        elif isinstance(event, ToolCallStart) and event.index not in self._blocks:
            call_id = event.id or new_id("call")
            out += self._open(event.index, "tool", call_id, event.name)[1]
        elif isinstance(event, ToolCallDelta):
            block = self._blocks.get(event.index)
            if block is None or block.kind != "tool":
                raise UpstreamMalformed(
                    f"tool-call arguments for block {event.index} before its start"
                )
            out += self._delta(block, event.arguments)
        elif isinstance(event, MessageEnd):
            out += self._end(event)
        return b"".join(out)

    def continue_at(self, sequence: int) -> None:
        """Number the next event `sequence` (after a relayed stream's last)."""
        self._sequence = sequence

    def close(self) -> bytes:
        """Nothing: a Responses stream ends with its final event, without a trailer."""
        return b""

    def error(self, status: int, code: str, message: str) -> bytes:
        """An `error` event; nothing is sent after it."""
        self._ended = True
        return self._emit("error", {"code": code, "message": message, "param": None})

    def _emit(self, kind: str, payload: dict[str, Any]) -> bytes:
        data = {"type": kind, **payload, "sequence_number": self._sequence}
        self._sequence += 1
        return frame(data, event=kind)

    def _response(self, status: str, usage: Usage | None, **extra: Any) -> dict[str, Any]:
        output = [block.item() for block in self._blocks.values()]
        return response_object(
            self._id,
            self._model,
            status,
            output,
            usage,
            request=self._request,
            created_at=self._created_at,
            **extra,
        )

    def _start(self, event: MessageStart | None) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        if event is not None:
            self._id = response_id(event.id)
            self._model = event.model or self._model
            self._start_usage = event.usage
        shell = self._response("in_progress", None)
        return [
            self._emit("response.created", {"response": shell}),
            self._emit("response.in_progress", {"response": shell}),
        ]

    def _open(
        self,
        index: int,
        kind: Literal["text", "thinking", "tool"],
        call_id: str = "",
        name: str = "",
    ) -> tuple[_Block, list[bytes]]:
        out = self._finish_current("completed")
        tool = self._request.tool_named(name) if kind == "tool" else None
        prefix = "ctc" if tool is not None and tool.kind == "custom" else _ITEM_PREFIX[kind]
        block = _Block(kind, len(self._blocks), new_id(prefix), call_id, name, tool=tool)
        self._blocks[index] = self._current = block
        added = {"output_index": block.output_index, "item": block.item()}
        out.append(self._emit("response.output_item.added", added))
        if kind in _PART_EVENTS:
            added = {**block.where(), "part": block.part("")}
            out.append(self._emit(f"{_PART_EVENTS[kind]}.added", added))
        return block, out

    def _delta(self, block: _Block, text: str) -> list[bytes]:
        if not text:
            return []
        # A late delta for an item already closed still reaches the final response object.
        block.chunks.append(text)
        if block.custom:
            return []  # a freeform tool's raw input is known once its arguments are whole
        payload = {**block.where(), "delta": text}
        if block.kind == "text":
            payload["logprobs"] = []
        return [self._emit(f"{_DELTA_EVENTS[block.kind]}.delta", payload)]

    def _finish_current(self, status: str) -> list[bytes]:
        block, self._current = self._current, None
        if block is None:
            return []
        block.status = status
        text = block.text
        if block.custom:
            out = self._custom_input(block)
        else:
            done = {**block.where(), ("arguments" if block.kind == "tool" else "text"): text}
            if block.kind == "text":
                done["logprobs"] = []
            out = [self._emit(f"{_DELTA_EVENTS[block.kind]}.done", done)]
        if block.kind in _PART_EVENTS:
            done = {**block.where(), "part": block.part(text)}
            out.append(self._emit(f"{_PART_EVENTS[block.kind]}.done", done))
        done = {"output_index": block.output_index, "item": block.item()}
        out.append(self._emit("response.output_item.done", done))
        return out

    def _custom_input(self, block: _Block) -> list[bytes]:
        """A freeform tool call's input, in one delta and its done event."""
        text = custom_input(block.text)
        where = block.where()
        return [
            self._emit(f"{_CUSTOM_EVENTS}.delta", {**where, "delta": text}),
            self._emit(f"{_CUSTOM_EVENTS}.done", {**where, "input": text}),
        ]

    def _end(self, event: MessageEnd) -> list[bytes]:
        status, incomplete, error = status_of(event.stop_reason)
        out = self._finish_current("completed" if status == "completed" else "incomplete")
        # The end should carry input and cache counts already; if not, keep those from the start.
        usage, start = event.usage, self._start_usage
        usage = replace(
            usage,
            input_tokens=usage.input_tokens or start.input_tokens,
            cache_read_tokens=usage.cache_read_tokens or start.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens or start.cache_write_tokens,
        )
        response = self._response(status, usage, incomplete=incomplete, error=error)
        out.append(self._emit(_FINAL_EVENTS[status], {"response": response}))
        self._ended = True
        return out
