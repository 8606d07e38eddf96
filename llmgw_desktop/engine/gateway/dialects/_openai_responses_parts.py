"""Pieces of the OpenAI Responses dialect: requests both ways, usage, stop reasons, items.

Private to `openai_responses.py`, which holds the dialect and its stream translators; the
split only keeps both files short.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from llmgw_desktop.engine.gateway.dialects._openai_responses_request import (
    render_tool_choice,
    render_tools,
)
from llmgw_desktop.engine.gateway.dialects._shared import custom_input
from llmgw_desktop.engine.gateway.ir import (
    MAX_TOKEN_COUNT,
    ChatRequest,
    Part,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    Usage,
)


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: `resp_…`, `msg_…`, `fc_…`, `rs_…`."""
    return f"{prefix}_{uuid.uuid4().hex}"


# -- usage, stop reasons, output items ---------------------------------------------------------


def parse_usage(raw: Any) -> Usage:
    """Responses usage in neutral form: its `input_tokens` include cache reads and writes."""
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    out_details = raw.get("output_tokens_details")
    out_details = out_details if isinstance(out_details, dict) else {}
    read = _count(details.get("cached_tokens"))
    # `cache_creation_input_tokens` is where other gateways keep cache writes.
    write = _count(details.get("cache_write_tokens", details.get("cache_creation_input_tokens")))
    return Usage(
        input_tokens=max(_count(raw.get("input_tokens")) - read - write, 0),
        output_tokens=_count(raw.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=_count(out_details.get("reasoning_tokens")),
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    """Neutral usage as Responses `usage` (input counts everything, cached included)."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
    }


def _count(value: Any) -> int:
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 < value <= MAX_TOKEN_COUNT else 0


def status_of(stop: StopReason) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(status, incomplete_details, error) of a response that stopped for `stop`."""
    if stop == "max_tokens":
        return "incomplete", {"reason": "max_output_tokens"}, None
    if stop == "refusal":
        return "incomplete", {"reason": "content_filter"}, None
    if stop == "error":
        error = {"code": "server_error", "message": "The model failed to complete the response."}
        return "failed", None, error
    return "completed", None, None


def stop_reason_of(response: dict[str, Any], *, tool_called: bool = False) -> StopReason:
    """The neutral stop reason of a final response object."""
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "refusal" if reason == "content_filter" else "max_tokens"
    if status == "failed":
        return "error"
    items = dicts(response.get("output"))
    if tool_called or any(item.get("type") == "function_call" for item in items):
        return "tool_use"
    contents = [c for i in items if i.get("type") == "message" for c in dicts(i.get("content"))]
    return "refusal" if any(c.get("type") == "refusal" for c in contents) else "end_turn"


def output_parts(item: Any) -> list[tuple[int, Part]]:
    """The neutral parts of one output item, each with its content (or summary) index."""
    if not isinstance(item, dict):
        return []
    kind = item.get("type")
    if kind == "function_call":
        arguments = item.get("arguments")
        if not isinstance(arguments, str):  # some compatible servers send an object
            arguments = json.dumps(arguments if arguments is not None else {})
        call = ToolCallPart(str(item.get("call_id") or ""), str(item.get("name") or ""), arguments)
        return [(0, call)]
    found: list[tuple[int, Part]] = []
    if kind == "message":
        for j, content in enumerate(dicts(item.get("content"))):
            text = content.get("text" if content.get("type") == "output_text" else "refusal")
            if isinstance(text, str) and content.get("type") in ("output_text", "refusal"):
                found.append((j, TextPart(text)))
    elif kind == "reasoning":
        for j, summary in enumerate(dicts(item.get("summary"))):
            text = summary.get("text")
            if isinstance(text, str) and text:
                found.append((j, ThinkingPart(text)))
    return found


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects in a JSON list (anything else counts as empty)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def message_item(item_id: str, texts: list[str], status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": t, "annotations": []} for t in texts]
    head = {"id": item_id, "type": "message", "status": status, "role": "assistant"}
    return {**head, "content": content}


def reasoning_item(item_id: str, texts: list[str]) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": t} for t in texts]
    return {"id": item_id, "type": "reasoning", "summary": summary}


def function_call_item(
    item_id: str, call: ToolCallPart, status: str, tool: ToolDef | None = None
) -> dict[str, Any]:
    """The output item of a tool call: a `function_call`, with its `namespace` when the client
    declared the tool in one, or a `custom_tool_call` carrying the raw input of a freeform
    tool."""
    name = tool.local_name or call.name if tool is not None else call.name
    head: dict[str, Any] = {"id": item_id}
    if tool is not None and tool.kind == "custom":
        head |= {"type": "custom_tool_call", "status": status, "call_id": call.id, "name": name}
        item = head | {"input": custom_input(call.arguments)}
    else:
        fields = {"call_id": call.id, "name": name, "arguments": call.arguments}
        item = head | {"type": "function_call", "status": status, **fields}
    if tool is not None and tool.namespace:
        item["namespace"] = tool.namespace
    return item


def response_object(
    response_id: str,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
    *,
    request: ChatRequest | None = None,
    created_at: int | None = None,
    incomplete: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `response` object; given the request, it echoes the settings as OpenAI does."""
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at if created_at is not None else int(time.time()),
        "status": status,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": render_usage(usage) if usage is not None else None,
    }
    if request is not None:
        body["max_output_tokens"] = request.max_tokens
        body["temperature"] = request.temperature
        body["top_p"] = request.top_p
        body["tools"] = render_tools(request.tools)
        if request.tool_choice is not None:
            body["tool_choice"] = render_tool_choice(request.tool_choice)
    return body
