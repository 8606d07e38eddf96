"""OpenAI Responses: POST /v1/responses answers (JSON and named SSE events)."""

from __future__ import annotations

import time
import uuid

from .openai_common import error
from .script import (
    OPENAI_CACHED_TOKENS,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    OPENAI_REASONING_TOKENS,
    ToolCall,
)
from .sse import (
    AnswerFacts,
    JsonObject,
    StreamAnswer,
    last_user_text,
    split_json,
    split_text,
    sse_event,
)

name = "responses"

# Codex sends its environment and AGENTS.md as user messages ahead of the prompt.
_INJECTED_PREFIXES = ("<environment_context>", "# AGENTS.md", "<user_instructions>")


def usage() -> JsonObject:
    """Usage of every answer: cached tokens inside input, reasoning inside output."""
    return {
        "input_tokens": OPENAI_PROMPT_TOKENS,
        "input_tokens_details": {"cached_tokens": OPENAI_CACHED_TOKENS},
        "output_tokens": OPENAI_OUTPUT_TOKENS,
        "output_tokens_details": {"reasoning_tokens": OPENAI_REASONING_TOKENS},
        "total_tokens": OPENAI_PROMPT_TOKENS + OPENAI_OUTPUT_TOKENS,
    }


def facts(body: JsonObject) -> AnswerFacts:
    """Input item count (a bare string input is one message) and the last user text."""
    items = body.get("input")
    if isinstance(items, str):
        return AnswerFacts(1, items)
    items = items or []
    text = last_user_text(items, text_types=("input_text", "text"), injected=_INJECTED_PREFIXES)
    return AnswerFacts(len(items), text)


def wanted_schema(body: JsonObject) -> JsonObject | None:
    """The schema of a structured-output request (text.format json_schema / json_object)."""
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_object":
        return {"type": "object"}
    return fmt.get("schema") if fmt.get("type") == "json_schema" else None


def _message_item(item_id: str, text: str) -> JsonObject:
    return {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def _response(
    body: JsonObject, model: str, response_id: str, status: str, output: list[JsonObject]
) -> JsonObject:
    done = status == "completed"
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "usage": usage() if done else None,
    }


def _function_call_item(item_id: str, call: ToolCall) -> JsonObject:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "arguments": call.arguments_json,
        "call_id": call.call_id,
        "name": call.name,
    }


def _output(text: str, call: ToolCall | None) -> list[JsonObject]:
    """The output items: a message (unless a tool call comes alone), then the function call."""
    items: list[JsonObject] = []
    if text or call is None:
        items.append(_message_item("msg_fake_" + uuid.uuid4().hex[:20], text))
    if call is not None:
        items.append(_function_call_item("fc_fake_" + uuid.uuid4().hex[:20], call))
    return items


def json_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> JsonObject:
    """A completed Response object; with `call`, a function_call item after any message."""
    output = _output(text, call)
    return _response(body, model, "resp_fake_" + uuid.uuid4().hex[:20], "completed", output)


def _message_events(output_index: int, item: JsonObject) -> list[JsonObject]:
    """A message item added, its one output_text part filled by deltas, then done."""
    text = item["content"][0]["text"]
    where = {"item_id": item["id"], "output_index": output_index, "content_index": 0}
    empty_part = {"type": "output_text", "text": "", "annotations": []}
    return [
        {
            "type": "response.output_item.added",
            "output_index": output_index,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": empty_part},
        *(
            {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            for piece in split_text(text)
        ),
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": item["content"][0]},
        {"type": "response.output_item.done", "output_index": output_index, "item": item},
    ]


def _function_call_events(output_index: int, item: JsonObject) -> list[JsonObject]:
    """A function_call item added with empty arguments, argument deltas, then done."""
    where = {"item_id": item["id"], "output_index": output_index}
    return [
        {
            "type": "response.output_item.added",
            "output_index": output_index,
            "item": {**item, "status": "in_progress", "arguments": ""},
        },
        *(
            {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            for piece in split_json(item["arguments"])
        ),
        {
            "type": "response.function_call_arguments.done",
            **where,
            "arguments": item["arguments"],
        },
        {"type": "response.output_item.done", "output_index": output_index, "item": item},
    ]


def stream_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> StreamAnswer:
    """Named events, each with `type` and an increasing `sequence_number`; usage at the end."""
    response_id = "resp_fake_" + uuid.uuid4().hex[:20]
    shell = _response(body, model, response_id, "in_progress", [])
    output = _output(text, call)
    payloads: list[JsonObject] = [
        {"type": "response.created", "response": shell},
        {"type": "response.in_progress", "response": shell},
    ]
    for output_index, item in enumerate(output):
        events = _message_events if item["type"] == "message" else _function_call_events
        payloads += events(output_index, item)
    payloads.append(
        {
            "type": "response.completed",
            "response": _response(body, model, response_id, "completed", output),
        }
    )
    first_delta = next(i for i, p in enumerate(payloads) if p["type"].endswith(".delta"))
    frames = [
        sse_event({**payload, "sequence_number": seq}, payload["type"])
        for seq, payload in enumerate(payloads)
    ]
    return StreamAnswer(frames, cut_after=first_delta)


def malformed_json() -> bytes:
    """A Response body that stops inside the output array."""
    return b'{"id":"resp_fake","object":"response","output":['


def malformed_stream() -> list[bytes]:
    """A valid response.created, then events whose data is not JSON."""
    created = {
        "type": "response.created",
        "sequence_number": 0,
        "response": _response({}, "gpt-fake", "resp_fake", "in_progress", []),
    }
    return [
        sse_event(created, "response.created"),
        sse_event('{"type":"response.in_progress",,,', "response.in_progress"),
        sse_event("{not json", "response.output_text.delta"),
        sse_event('{"type":"response.completed","response":{"id":', "response.completed"),
    ]


__all__ = [
    "error",
    "facts",
    "json_answer",
    "malformed_json",
    "malformed_stream",
    "name",
    "stream_answer",
    "wanted_schema",
]
