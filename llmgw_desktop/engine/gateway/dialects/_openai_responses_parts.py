"""Pieces of the OpenAI Responses dialect: requests both ways, usage, stop reasons, items.

Private to `openai_responses.py`, which holds the dialect and its stream translators; the
split only keeps both files short.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ImagePart,
    Message,
    Part,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    Usage,
)

# Responses efforts onto the neutral three; "none" means the client asked for no reasoning.
_EFFORTS: dict[str, str | None] = {
    "none": None,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
}
_TOOL_CHOICES = ("auto", "none", "required")
_ROLES = ("user", "assistant", "system", "developer")
# Fields that point at state kept by OpenAI; a stateless translator cannot resolve them.
_STATEFUL = {
    "previous_response_id": "previous_response_id: not supported; send the full conversation "
    "in input",
    "conversation": "conversation: not supported; send the full conversation in input",
    "prompt": "prompt: stored prompts are not supported; send instructions and input",
}


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: `resp_…`, `msg_…`, `fc_…`, `rs_…`."""
    return f"{prefix}_{uuid.uuid4().hex}"


# -- request parsing ---------------------------------------------------------------------------


def parse_request(body: Any, model: str | None) -> ChatRequest:
    """A `/v1/responses` body in neutral form.

    Raises:
        InvalidRequest: naming the field that is missing, malformed or not supported.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("body: expected a JSON object")
    for key, message in _STATEFUL.items():
        if body.get(key) is not None:
            raise InvalidRequest(message)
    name = body.get("model", model)
    if not isinstance(name, str) or not name:
        raise InvalidRequest("model: expected a non-empty string")
    system: list[TextPart] = []
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("instructions: expected a string")
    if instructions:
        system.append(TextPart(instructions))
    messages = _parse_input(body.get("input"), system)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("stream: expected true or false")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InvalidRequest("user: expected a string")
    return ChatRequest(
        model=name,
        messages=messages,
        system=tuple(system),
        tools=_parse_tools(body.get("tools")),
        tool_choice=_parse_tool_choice(body.get("tool_choice")),
        max_tokens=_positive_int(body, "max_output_tokens"),
        temperature=_number(body, "temperature"),
        top_p=_number(body, "top_p"),
        stream=bool(stream),
        # A Responses stream always ends with usage, so ask any upstream for it.
        stream_usage=bool(stream),
        user=user,
        reasoning_effort=_parse_effort(body.get("reasoning")),
    )


def _parse_input(raw: Any, system: list[TextPart]) -> tuple[Message, ...]:
    if raw is None:
        raise InvalidRequest("input: required")
    if isinstance(raw, str):
        return (Message("user", (TextPart(raw),)),)
    if not isinstance(raw, list):
        raise InvalidRequest("input: expected a string or a list of items")
    turns: list[tuple[str, list[Part]]] = []

    def add(role: str, parts: list[Part]) -> None:
        # Consecutive items of one role are one neutral turn (tool calls join the assistant's).
        if not parts:
            return
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(parts)
        else:
            turns.append((role, list(parts)))

    for i, item in enumerate(raw):
        path = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{path}: expected an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise InvalidRequest(f"{path}.role: expected one of {', '.join(_ROLES)}")
            parts = _parse_content(item.get("content"), f"{path}.content", role)
            if role in ("system", "developer"):
                system.extend(p for p in parts if isinstance(p, TextPart))
            else:
                add(role, parts)
        elif kind == "function_call":
            call = ToolCallPart(
                id=_string(item, "call_id", path),
                name=_string(item, "name", path),
                arguments=_string(item, "arguments", path),
            )
            add("assistant", [call])
        elif kind == "function_call_output":
            output = _parse_tool_output(item.get("output"), f"{path}.output")
            add("user", [ToolResultPart(_string(item, "call_id", path), output)])
        elif kind == "reasoning":
            # Reasoning items only mean something to OpenAI, which does not need them back.
            continue
        else:
            raise InvalidRequest(f"{path}.type: {kind!r} is not supported")
    return tuple(Message("user" if role == "user" else "assistant", tuple(p)) for role, p in turns)


def _parse_content(content: Any, path: str, role: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}: expected a string or a list of parts")
    parts: list[Part] = []
    for j, part in enumerate(content):
        where = f"{path}[{j}]"
        if not isinstance(part, dict):
            raise InvalidRequest(f"{where}: expected an object")
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            parts.append(TextPart(_string(part, "text", where)))
        elif kind == "refusal":
            parts.append(TextPart(_string(part, "refusal", where)))
        elif kind == "input_image":
            if role != "user":
                raise InvalidRequest(f"{where}.type: images are only supported in user messages")
            parts.append(_parse_image(part.get("image_url"), f"{where}.image_url"))
        else:
            raise InvalidRequest(f"{where}.type: {kind!r} is not supported")
    return parts


def _parse_image(url: Any, path: str) -> ImagePart:
    if isinstance(url, str) and url.startswith("data:"):
        head, comma, data = url[len("data:") :].partition(",")
        if comma and data and head.endswith(";base64"):
            return ImagePart(media_type=head.split(";")[0] or "application/octet-stream", data=data)
        raise InvalidRequest(f"{path}: expected a base64 data URL (data:<type>;base64,<data>)")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return ImagePart(url=url)
    raise InvalidRequest(
        f"{path}: expected a data: URL or an http(s) URL (file_id is not supported)"
    )


def _parse_tool_output(output: Any, path: str) -> str:
    if isinstance(output, str):
        return output
    items: list[Any] = output if isinstance(output, list) else [None]
    if not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in items):
        raise InvalidRequest(f"{path}: expected a string or a list of input_text parts")
    return "".join(p["text"] for p in items)


def _parse_tools(raw: Any) -> tuple[ToolDef, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("tools: expected a list")
    tools: list[ToolDef] = []
    for i, tool in enumerate(raw):
        path = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise InvalidRequest(f"{path}: expected an object")
        kind = tool.get("type")
        if kind != "function":
            raise InvalidRequest(
                f"{path}.type: {kind!r} is not supported; only 'function' tools are"
            )
        if "name" not in tool and isinstance(tool.get("function"), dict):
            raise InvalidRequest(
                f"{path}.name: required (Responses tools are not nested in 'function')"
            )
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            raise InvalidRequest(f"{path}.description: expected a string")
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidRequest(f"{path}.parameters: expected a JSON Schema object")
        name, description = _string(tool, "name", path), description or ""
        tools.append(
            ToolDef(name, description, parameters) if parameters else ToolDef(name, description)
        )
    return tuple(tools)


def _parse_tool_choice(raw: Any) -> str | None:
    if raw is None or raw in _TOOL_CHOICES:
        return raw
    if isinstance(raw, dict):
        if raw.get("type") != "function":
            raise InvalidRequest(f"tool_choice.type: {raw.get('type')!r} is not supported")
        return _string(raw, "name", "tool_choice")
    raise InvalidRequest(
        "tool_choice: expected 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": …}"
    )


def _parse_effort(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidRequest("reasoning: expected an object")
    effort = raw.get("effort")
    if effort is None:
        return None
    if not isinstance(effort, str) or effort not in _EFFORTS:
        raise InvalidRequest(f"reasoning.effort: expected one of {', '.join(_EFFORTS)}")
    return _EFFORTS[effort]


def _string(obj: dict[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{path}.{key}: required string")
    return value


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidRequest(f"{key}: expected a number")
    return None if value is None else float(value)


def _positive_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidRequest(f"{key}: expected a positive integer")
    return value


# -- request rendering -------------------------------------------------------------------------


def render_request(request: ChatRequest) -> dict[str, Any]:
    """The `/v1/responses` body for a neutral request (stateless: the whole conversation)."""
    effort = request.reasoning_effort
    optional = {
        "instructions": "\n\n".join(part.text for part in request.system) or None,
        "tools": render_tools(request.tools) or None,
        "tool_choice": render_tool_choice(request.tool_choice) if request.tool_choice else None,
        "max_output_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "reasoning": {"effort": effort} if effort else None,
        "stream": True if request.stream else None,
        "user": request.user,
    }
    body = {"model": request.model, "input": _render_input(request.messages)}
    return body | {key: value for key, value in optional.items() if value is not None}


def render_tools(tools: tuple[ToolDef, ...]) -> list[dict[str, Any]]:
    # strict defaults to true in Responses; other dialects' schemas are not written for it.
    return [
        {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
            "strict": False,
        }
        for tool in tools
    ]


def render_tool_choice(choice: str) -> str | dict[str, Any]:
    return choice if choice in _TOOL_CHOICES else {"type": "function", "name": choice}


def _render_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        content: list[TextPart | ImagePart] = []
        for part in message.parts:
            if isinstance(part, TextPart | ImagePart):
                content.append(part)
                continue
            if isinstance(part, ThinkingPart):
                # A reasoning item needs the id OpenAI gave it; without one it is refused.
                continue
            if content:
                items.append(_message_item(message.role, content))
                content = []
            if isinstance(part, ToolCallPart):
                call = {"call_id": part.id, "name": part.name, "arguments": part.arguments}
                items.append({"type": "function_call", **call})
            else:
                result = {"call_id": part.tool_call_id, "output": part.content}
                items.append({"type": "function_call_output", **result})
        if content:
            items.append(_message_item(message.role, content))
    return items


def _message_item(role: str, parts: list[TextPart | ImagePart]) -> dict[str, Any]:
    if role == "assistant":
        # Plain text is the one assistant content form every Responses server takes.
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        return {"type": "message", "role": "assistant", "content": text}
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "input_text", "text": part.text})
        else:
            url = part.url if part.data is None else f"data:{part.media_type};base64,{part.data}"
            content.append({"type": "input_image", "image_url": url, "detail": "auto"})
    return {"type": "message", "role": "user", "content": content}


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
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


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


def function_call_item(item_id: str, call: ToolCallPart, status: str) -> dict[str, Any]:
    fields = {"call_id": call.id, "name": call.name, "arguments": call.arguments}
    return {"id": item_id, "type": "function_call", "status": status, **fields}


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
