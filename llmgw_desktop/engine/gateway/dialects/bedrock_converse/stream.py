"""ConverseStream's events, decoded into neutral events.

Each frame is one event of the AWS event stream, its framing already taken off: `(event type,
JSON payload)`. The order Bedrock sends: `messageStart`, then per content block an optional
`contentBlockStart` (tool calls), `contentBlockDelta`s and `contentBlockStop`, then
`messageStop` with the stop reason and, last, `metadata` with the usage. An exception in the
stream (throttling, a model error, validation) arrives as a frame named `exception:<type>`.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, StreamCut, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.response import (
    new_answer_id,
    stop_reason_in,
)
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.usage import parse_usage
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

__all__ = ["EXCEPTION_PREFIX", "ConverseStreamDecoder"]

# The frame name an exception message of the event stream is given (`exception:<type>`).
EXCEPTION_PREFIX = "exception:"


class ConverseStreamDecoder:
    """ConverseStream events into neutral events, block indexes renumbered without gaps."""

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._stop: StopReason | None = None
        # Bedrock's contentBlockIndex -> neutral index, and each block's kind so far.
        self._blocks: dict[int, int] = {}
        self._next = 0

    def feed(self, frame: SseFrame) -> list[StreamEvent]:
        """Neutral events for one event.

        Raises:
            UpstreamMalformed: an exception event, a payload that is not JSON, or events out of
                order.
        """
        name, data = frame
        if self._ended:
            return []
        kind = name or ""
        if kind.startswith(EXCEPTION_PREFIX):
            raise UpstreamMalformed(
                f"bedrock stream: {kind.removeprefix(EXCEPTION_PREFIX)}: {_message(data)}"
            )
        try:
            payload = jsonio.loads(data) if data else {}
        except ValueError as exc:
            raise UpstreamMalformed(f"bedrock stream: {kind} is not JSON: {data[:80]!r}") from exc
        if not isinstance(payload, dict):
            raise UpstreamMalformed(f"bedrock stream: {kind} is not a JSON object")
        if kind == "messageStart":
            self._started = True
            return [MessageStart(new_answer_id(), "")]
        events: list[StreamEvent] = []
        if not self._started:
            # Tolerated: the answer's shell is made up when its first event is not it.
            self._started = True
            events.append(MessageStart(new_answer_id(), ""))
        if kind == "contentBlockStart":
            events += self._block_start(payload)
        elif kind == "contentBlockDelta":
            events += self._block_delta(payload)
        elif kind == "messageStop":
            self._stop = stop_reason_in(payload.get("stopReason"))
        elif kind == "metadata":
            self._ended = True
            events.append(MessageEnd(self._stop or "end_turn", parse_usage(payload.get("usage"))))
        return events  # contentBlockStop, and events added after this was written

    def close(self) -> list[StreamEvent]:
        """Nothing once `metadata` has come.

        Raises:
            StreamCut: the stream ended after `messageStop` but before its `metadata`, which
                carries the usage.
            UpstreamMalformed: the stream ended before the answer was complete.
        """
        if self._ended:
            return []
        if self._stop is None:
            raise UpstreamMalformed("bedrock stream ended before the message was complete")
        raise StreamCut("bedrock stream ended after messageStop but before its metadata", Usage())

    def _index(self, payload: dict[str, Any]) -> int:
        upstream = payload.get("contentBlockIndex")
        if not isinstance(upstream, int) or isinstance(upstream, bool):
            raise UpstreamMalformed("bedrock stream: a content block without an integer index")
        if upstream not in self._blocks:
            self._blocks[upstream] = self._next
            self._next += 1
        return self._blocks[upstream]

    def _block_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        start = payload.get("start")
        use = start.get("toolUse") if isinstance(start, dict) else None
        if not isinstance(use, dict):
            return []
        index = self._index(payload)
        return [ToolCallStart(index, str(use.get("toolUseId") or ""), str(use.get("name") or ""))]

    def _block_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        delta = payload.get("delta")
        if not isinstance(delta, dict):
            return []
        index = self._index(payload)
        text = delta.get("text")
        if isinstance(text, str):
            return [TextDelta(index, text)] if text else []
        use = delta.get("toolUse")
        if isinstance(use, dict) and isinstance(use.get("input"), str) and use["input"]:
            return [ToolCallDelta(index, use["input"])]
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
            return [ThinkingDelta(index, reasoning["text"])] if reasoning["text"] else []
        return []  # a reasoning signature or redacted reasoning: no neutral event


def _message(data: str) -> str:
    try:
        payload = jsonio.loads(data)
    except ValueError:
        return data[:300]
    if isinstance(payload, dict):
        message = payload.get("message") or payload.get("Message")
        if isinstance(message, str):
            return message[:500]
    return data[:300]
