"""Amazon Bedrock's Converse: POST /model/{modelId}/converse answers (JSON) and ConverseStream
answers (AWS event-stream messages), and Bedrock's errors.

The shapes follow AWS's Bedrock API reference (Converse, ConverseStream, TokenUsage): the
answer under `output.message.content`, `stopReason`, `usage` with the cache fields; the stream's
`messageStart`, `contentBlockStart` (tool calls), `contentBlockDelta`, `contentBlockStop`,
`messageStop` and, last, `metadata` with the usage; errors as `{"message"}` with the type in
`x-amzn-ErrorType`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from tests.fakes.clouds.aws import event

from .script import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    ToolCall,
)
from .sse import AnswerFacts, JsonObject, StreamAnswer, dumps, split_json, split_text

name = "bedrock"
STREAM_HEADERS: Final[Mapping[str, str]] = {"Content-Type": "application/vnd.amazon.eventstream"}
ERROR_TYPES: Final[Mapping[int, str]] = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def usage() -> JsonObject:
    """Every answer's usage: input without the cache, as Bedrock counts Claude's."""
    total = (
        ANTHROPIC_INPUT_TOKENS
        + ANTHROPIC_OUTPUT_TOKENS
        + ANTHROPIC_CACHE_READ_TOKENS
        + ANTHROPIC_CACHE_CREATION_TOKENS
    )
    return {
        "inputTokens": ANTHROPIC_INPUT_TOKENS,
        "outputTokens": ANTHROPIC_OUTPUT_TOKENS,
        "totalTokens": total,
        "cacheReadInputTokens": ANTHROPIC_CACHE_READ_TOKENS,
        "cacheWriteInputTokens": ANTHROPIC_CACHE_CREATION_TOKENS,
    }


def facts(body: JsonObject) -> AnswerFacts:
    messages = body.get("messages") or []
    last = ""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        texts = [b["text"] for b in message.get("content") or [] if "text" in b]
        real = [t for t in texts if not t.startswith("<system-reminder>")]
        if real:
            last = real[-1]
            break
    return AnswerFacts(len(messages), last)


def wanted_schema(body: JsonObject) -> JsonObject | None:
    return None


def _content(text: str, call: ToolCall | None) -> list[JsonObject]:
    blocks: list[JsonObject] = [{"text": text}] if text or call is None else []
    if call is not None:
        blocks.append(
            {"toolUse": {"toolUseId": call.call_id, "name": call.name, "input": call.arguments}}
        )
    return blocks


def json_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> JsonObject:
    return {
        "output": {"message": {"role": "assistant", "content": _content(text, call)}},
        "stopReason": "tool_use" if call is not None else "end_turn",
        "usage": usage(),
        "metrics": {"latencyMs": 42},
    }


def stream_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> StreamAnswer:
    frames = [event("messageStart", b'{"role":"assistant"}')]
    index = 0
    first_delta = 1
    if text or call is None:
        for piece in split_text(text):
            delta = {"delta": {"text": piece}, "contentBlockIndex": index}
            frames.append(event("contentBlockDelta", dumps(delta).encode()))
        frames.append(event("contentBlockStop", dumps({"contentBlockIndex": index}).encode()))
        index += 1
    if call is not None:
        start = {
            "start": {"toolUse": {"toolUseId": call.call_id, "name": call.name}},
            "contentBlockIndex": index,
        }
        frames.append(event("contentBlockStart", dumps(start).encode()))
        for piece in split_json(dumps(call.arguments)):
            delta = {"delta": {"toolUse": {"input": piece}}, "contentBlockIndex": index}
            frames.append(event("contentBlockDelta", dumps(delta).encode()))
        frames.append(event("contentBlockStop", dumps({"contentBlockIndex": index}).encode()))
    stop = "tool_use" if call is not None else "end_turn"
    frames.append(event("messageStop", dumps({"stopReason": stop}).encode()))
    metadata = {"usage": usage(), "metrics": {"latencyMs": 42}}
    frames.append(event("metadata", dumps(metadata).encode()))
    # messageStop says how the answer finished; the metadata with its usage follows.
    return StreamAnswer(frames, cut_after=first_delta, finish_at=len(frames) - 2)


def malformed_json() -> bytes:
    return b'{"output":{"message":{"role":"assistant","content":[{"text":"broken'


def malformed_stream() -> list[bytes]:
    return [event("messageStart", b'{"role":"assistant"}'), event("contentBlockDelta", b"{,,")]


def error(status: int, message: str) -> tuple[JsonObject, dict[str, str]]:
    kind = ERROR_TYPES.get(status, "InternalServerException")
    if status == 400 and "quota" in message.lower():
        kind = "ServiceQuotaExceededException"  # Bedrock answers a used-up quota with a 400
    return {"message": message}, {
        "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    }
