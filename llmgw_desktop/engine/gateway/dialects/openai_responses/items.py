"""Output items (`message`, `reasoning`, `function_call`, `custom_tool_call`) and the `response`
object that carries them, both ways.
"""

from __future__ import annotations

import json
import time
from typing import Any

from llmgw_desktop.engine.gateway.dialects.freeform import (
    custom_input,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.tools import (
    render_tool_choice,
    render_tools,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.usage import render_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
)
from llmgw_desktop.engine.ids import random_hex
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = [
    "dicts",
    "function_call_item",
    "message_item",
    "new_id",
    "output_parts",
    "reasoning_item",
    "response_object",
]


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: `resp_…`, `msg_…`, `fc_…`, `rs_…`."""
    return f"{prefix}_{random_hex()}"


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
