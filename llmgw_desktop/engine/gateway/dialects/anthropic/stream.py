"""Messages streams (named SSE events): decoded from an upstream into neutral events, encoded for a
client.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.anthropic.errors import error_body, upstream_error
from llmgw_desktop.engine.gateway.dialects.anthropic.response import (
    new_message_id,
    stop_reason_in,
    stop_reason_out,
)
from llmgw_desktop.engine.gateway.dialects.anthropic.usage import (
    merge_usage,
    parse_usage,
    render_usage,
)
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, StreamCut, UpstreamMalformed
from llmgw_desktop.engine.gateway.http_client.sse import frame
from llmgw_desktop.engine.gateway.ir import (
    MessageEnd,
    MessageStart,
    StopReason,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["AnthropicStreamDecoder", "AnthropicStreamEncoder"]


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
            UpstreamMalformed: the frame is not valid JSON, reports an upstream error, or is out of
                order.
        """
        if self._ended:
            return []
        try:
            data = jsonio.loads(sse[1])
        except ValueError as exc:
            raise UpstreamMalformed(
                f"anthropic stream: frame is not JSON: {sse[1][:80]!r}"
            ) from exc
        if not isinstance(data, dict):
            raise UpstreamMalformed("anthropic stream: frame is not a JSON object")
        # The payload's `type` is authoritative; some proxies omit the `event:` line.
        kind = data.get("type") or sse[0]
        if kind == "ping":
            return []
        if kind == "error":
            raise UpstreamMalformed(upstream_error(data))
        if kind == "message_start":
            return self._message_start(data)
        if not self._started:
            raise UpstreamMalformed(f"anthropic stream: {kind} before message_start")
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "content_block_delta":
            return self._block_delta(data)
        if kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self._stop = stop_reason_in(delta["stop_reason"])
            self._usage = merge_usage(self._usage, parse_usage(data.get("usage")))
            return []
        if kind == "message_stop":
            return self._end()
        return []  # content_block_stop, and event kinds added after this was written

    def close(self) -> list[StreamEvent]:
        """Nothing once message_stop has come.

        Raises:
            StreamCut: the stream ended after message_delta (its usage with it) but before
                message_stop.
            UpstreamMalformed: the stream ended before the answer was complete.
        """
        if self._ended:
            return []
        if self._stop is None:
            raise UpstreamMalformed("anthropic stream ended before the message was complete")
        raise StreamCut(
            "anthropic stream ended after message_delta but before message_stop",
            merge_usage(self._start_usage, self._usage),
        )

    def _message_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            raise UpstreamMalformed("anthropic stream: a second message_start")
        message = data.get("message")
        message = message if isinstance(message, dict) else {}
        self._started = True
        self._start_usage = self._usage = parse_usage(message.get("usage"))
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
            raise UpstreamMalformed(
                f"anthropic stream: delta for block {upstream} that never started"
            )
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
        usage = merge_usage(self._start_usage, self._usage)
        return [MessageEnd(self._stop or "end_turn", usage)]


def _index(data: dict[str, Any]) -> int:
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise UpstreamMalformed(f"anthropic stream: {data.get('type')} without an integer index")
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
            out += self._message_start(MessageStart(new_message_id(), self._model))
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

    def continue_at(self, sequence: int) -> None:
        """Nothing: this dialect's events carry no sequence numbers."""

    def close(self) -> bytes:
        return b""  # Anthropic streams end with message_stop; there is no trailer

    def error(self, status: int, code: str, message: str) -> bytes:
        self._ended = True
        return frame(error_body(status, code, message), "error")

    def _message_start(self, event: MessageStart) -> bytes:
        self._started = True
        self._start_usage = event.usage
        message: dict[str, Any] = {
            "id": event.id or new_message_id(),
            "type": "message",
            "role": "assistant",
            "model": event.model or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": render_usage(event.usage),
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
        usage = merge_usage(self._start_usage, event.usage)
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason_out(event.stop_reason),
                "stop_sequence": None,
            },
            "usage": render_usage(usage),
        }
        return (
            self._close_block()
            + frame(delta, "message_delta")
            + frame({"type": "message_stop"}, "message_stop")
        )
