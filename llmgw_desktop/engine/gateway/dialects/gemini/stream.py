"""Gemini streams (unnamed `data:` frames, each a whole response chunk): decoded from an upstream
into neutral events, encoded for a client.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.gemini.content import CallIds, args_object, parse_parts
from llmgw_desktop.engine.gateway.dialects.gemini.errors import status_name, stream_failure
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.dialects.gemini.response import (
    FINISH_REASONS,
    new_response_id,
    parse_finish,
)
from llmgw_desktop.engine.gateway.dialects.gemini.usage import parse_usage, render_usage
from llmgw_desktop.engine.gateway.http_client.sse import frame
from llmgw_desktop.engine.gateway.ir import (
    MessageEnd,
    MessageStart,
    Part,
    StopReason,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
)
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["GeminiStreamDecoder", "GeminiStreamEncoder"]


class GeminiStreamDecoder:
    """Reads `streamGenerateContent?alt=sse` chunks into neutral events."""

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._called = False
        self._ids = CallIds()
        self._usage: dict[str, Any] = {}  # every usageMetadata seen, later fields winning
        self._next_index = 0
        self._open: tuple[str, int] | None = None  # the text or thinking block still growing

    def feed(self, frame: SseFrame) -> list[StreamEvent]:
        """Events for one chunk.

        Raises:
            UpstreamMalformed: the frame is not a Gemini chunk.
            ProviderFailure: the upstream reported an error mid-stream.
        """
        data = frame[1].strip()
        if self._ended or not data or data == "[DONE]":
            return []
        try:
            chunk = jsonio.loads(data)
        except ValueError as exc:
            raise UpstreamMalformed(f"Gemini stream: frame is not JSON: {data[:80]!r}") from exc
        if not isinstance(chunk, dict):
            raise UpstreamMalformed("Gemini stream: frame is not a JSON object")
        if isinstance(chunk.get("error"), dict):
            raise stream_failure(chunk["error"])
        if isinstance(meta := field(chunk, "usageMetadata"), dict):
            self._usage.update(meta)
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            known = parse_usage(self._usage)
            response_id = field(chunk, "responseId")
            events.append(
                MessageStart(
                    id=response_id
                    if isinstance(response_id, str) and response_id
                    else new_response_id(),
                    model=str(field(chunk, "modelVersion") or ""),
                    usage=Usage(
                        input_tokens=known.input_tokens, cache_read_tokens=known.cache_read_tokens
                    ),
                )
            )
        candidates = field(chunk, "candidates")
        if not isinstance(candidates, list) or not candidates:
            feedback = field(chunk, "promptFeedback")
            if isinstance(feedback, dict) and field(feedback, "blockReason"):
                events.append(self._end("refusal"))
            return events
        candidate = _expect_candidate(candidates[0])
        content = field(candidate, "content")
        if isinstance(content, dict) and field(content, "parts"):
            try:
                parts = parse_parts(
                    field(content, "parts"), "candidates[0].content.parts", self._ids
                )
            except InvalidRequest as exc:
                raise UpstreamMalformed(f"Gemini stream: {exc.message}") from exc
            events.extend(self._deltas(parts))
        if reason := field(candidate, "finishReason"):
            events.append(self._end(parse_finish(reason, self._called)))
        return events

    def close(self) -> list[StreamEvent]:
        """Nothing is owed after a finishReason.

        Raises:
            UpstreamMalformed: the stream ended before the chunk with the finishReason.
        """
        if self._ended:
            return []
        if not self._started:
            raise UpstreamMalformed("Gemini stream ended before its first chunk")
        raise UpstreamMalformed("Gemini stream ended without a finishReason")

    def _deltas(self, parts: list[Part]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for part in parts:
            if isinstance(part, TextPart):
                events.append(TextDelta(self._block("text"), part.text))
            elif isinstance(part, ThinkingPart) and part.text:
                events.append(ThinkingDelta(self._block("thinking"), part.text))
            elif isinstance(part, ToolCallPart):
                # Gemini sends each call whole: one start and one delta with all the arguments.
                index, self._open, self._called = self._next_index, None, True
                self._next_index += 1
                events.append(ToolCallStart(index, part.id, part.name))
                events.append(ToolCallDelta(index, part.arguments))
            # Signatures, images and tool results have no neutral stream event.
        return events

    def _block(self, kind: str) -> int:
        if self._open is None or self._open[0] != kind:
            self._open = (kind, self._next_index)
            self._next_index += 1
        return self._open[1]

    def _end(self, reason: StopReason) -> MessageEnd:
        self._ended = True
        return MessageEnd(reason, parse_usage(self._usage))


def _expect_candidate(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UpstreamMalformed("Gemini stream: candidates[0] is not an object")
    return raw


class GeminiStreamEncoder:
    """Writes neutral events as the chunks `streamGenerateContent?alt=sse` sends."""

    def __init__(self, model: str) -> None:
        self._id = new_response_id()
        self._model = model
        self._start_usage = Usage()
        self._call: tuple[int, str, str] | None = None  # index, id, name of a call being built
        self._arguments: list[str] = []

    def encode(self, event: StreamEvent) -> bytes:
        """The chunk(s) due for this event (tool calls wait until their arguments are whole).

        Raises:
            UpstreamMalformed: a finished tool call's arguments are not a JSON object.
        """
        if isinstance(event, MessageStart):
            self._id = event.id or self._id
            self._model = event.model or self._model
            self._start_usage = event.usage
            return b""
        if isinstance(event, ToolCallDelta):
            if self._call is not None and self._call[0] == event.index:
                self._arguments.append(event.arguments)
            return b""
        if isinstance(event, MessageEnd):
            usage = self._final_usage(event.usage)
            parts = self._finished_call() or [{"text": ""}]
            return self._chunk(parts, finish=FINISH_REASONS[event.stop_reason], usage=usage)
        pending = self._finished_call()
        out = self._chunk(pending) if pending else b""
        if isinstance(event, ToolCallStart):
            self._call, self._arguments = (event.index, event.id, event.name), []
        elif event.text:
            part: dict[str, Any] = {"text": event.text}
            if isinstance(event, ThinkingDelta):
                part["thought"] = True
            out += self._chunk([part])
        return out

    def continue_at(self, sequence: int) -> None:
        """Nothing: this dialect's events carry no sequence numbers."""

    def close(self) -> bytes:
        return b""  # Gemini streams just end

    def error(self, status: int, code: str, message: str) -> bytes:
        return frame({"error": {"code": status, "message": message, "status": status_name(status)}})

    def _finished_call(self) -> list[dict[str, Any]]:
        if self._call is None:
            return []
        index, call_id, name = self._call
        args = args_object("".join(self._arguments), f"tool call {index}")
        self._call, self._arguments = None, []
        return [{"functionCall": {"name": name, "args": args, "id": call_id}}]

    def _final_usage(self, end: Usage) -> Usage:
        # MessageEnd should carry the full total; keep what MessageStart announced regardless.
        start = self._start_usage
        return Usage(
            input_tokens=max(end.input_tokens, start.input_tokens),
            output_tokens=end.output_tokens,
            cache_read_tokens=max(end.cache_read_tokens, start.cache_read_tokens),
            cache_write_tokens=max(end.cache_write_tokens, start.cache_write_tokens),
            reasoning_tokens=end.reasoning_tokens,
        )

    def _chunk(
        self, parts: list[dict[str, Any]], *, finish: str | None = None, usage: Usage | None = None
    ) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = render_usage(usage)
        elif prompt := self._start_usage.total_input_tokens:
            # Like Gemini, say the prompt count on every chunk once it is known.
            chunk["usageMetadata"] = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            if self._start_usage.cache_read_tokens:
                chunk["usageMetadata"]["cachedContentTokenCount"] = (
                    self._start_usage.cache_read_tokens
                )
        chunk["modelVersion"] = self._model
        chunk["responseId"] = self._id
        return frame(chunk)
