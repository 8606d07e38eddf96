"""OpenAI Chat Completions pieces: request messages, tools, usage and finish reasons.

Private to `openai_chat.py`, which holds the dialect, its response translation and its stream
translators. Everything here is pure: dicts in, neutral dataclasses out, and back.
"""

from __future__ import annotations

import dataclasses
import json
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

__all__ = [
    "finish_reason",
    "merge_usage",
    "parse_request",
    "parse_usage",
    "render_request",
    "render_tool_call",
    "render_usage",
    "stop_reason",
    "tool_arguments",
]

_FINISH_TO_STOP: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
    "error": "error",
}
# OpenAI has no "error" finish reason; "stop" is the least misleading of its five values.
_STOP_TO_FINISH: dict[StopReason, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "error": "stop",
}
# The neutral form knows low/medium/high; OpenAI's finer levels fold onto the nearest one.
_EFFORTS: dict[str, str | None] = {
    "none": None,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}
_TOOL_CHOICES = ("auto", "none", "required")


def stop_reason(finish: str | None, *, saw_tool_call: bool) -> StopReason:
    """The neutral stop reason for an OpenAI `finish_reason`."""
    # Some compatible servers (older Ollama, a few proxies) say "stop" after tool calls.
    if saw_tool_call and finish in (None, "stop"):
        return "tool_use"
    return _FINISH_TO_STOP.get(finish or "stop", "end_turn")


def finish_reason(stop: StopReason) -> str:
    """The OpenAI `finish_reason` for a neutral stop reason."""
    return _STOP_TO_FINISH.get(stop, "stop")


# -- usage ------------------------------------------------------------------------------------


def _count(value: Any) -> int:
    """A token count, tolerating the nulls and floats some compatible servers send."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(int(value), 0)


def parse_usage(raw: Any) -> Usage:
    """Neutral usage from an OpenAI `usage` object (cached tokens are inside prompt_tokens)."""
    if not isinstance(raw, dict):
        return Usage()
    prompt_details = raw.get("prompt_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
    completion_details = raw.get("completion_tokens_details")
    completion_details = completion_details if isinstance(completion_details, dict) else {}
    # Fallbacks: DeepSeek's prompt_cache_hit_tokens, LiteLLM's Anthropic-style top-level fields.
    cache_read = _count(
        prompt_details.get("cached_tokens")
        or raw.get("prompt_cache_hit_tokens")
        or raw.get("cache_read_input_tokens")
    )
    cache_write = _count(
        prompt_details.get("cache_write_tokens")
        or prompt_details.get("cache_creation_input_tokens")
        or raw.get("cache_creation_input_tokens")
    )
    prompt = _count(raw.get("prompt_tokens"))
    return Usage(
        input_tokens=max(prompt - cache_read - cache_write, 0),
        output_tokens=_count(raw.get("completion_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=_count(completion_details.get("reasoning_tokens")),
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    """An OpenAI `usage` object; cache writes go to `cache_write_tokens` (the SDK's slot)."""
    prompt_details: dict[str, Any] = {"cached_tokens": usage.cache_read_tokens}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def merge_usage(start: Usage, final: Usage) -> Usage:
    """The final usage, keeping input and cache counts known only from the stream's start."""
    return Usage(
        input_tokens=final.input_tokens or start.input_tokens,
        output_tokens=final.output_tokens or start.output_tokens,
        cache_read_tokens=final.cache_read_tokens or start.cache_read_tokens,
        cache_write_tokens=final.cache_write_tokens or start.cache_write_tokens,
        reasoning_tokens=final.reasoning_tokens or start.reasoning_tokens,
    )


def render_tool_call(call: ToolCallPart) -> dict[str, Any]:
    """One entry of an assistant message's `tool_calls`."""
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def tool_arguments(value: Any) -> str:
    """Tool-call arguments as JSON text (some servers send an object, or nothing)."""
    if isinstance(value, str):
        return value if value.strip() else "{}"
    if value is None:
        return "{}"
    return json.dumps(value, separators=(",", ":"))


# -- request validation -------------------------------------------------------------------------


def _dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}: expected an object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{path}: expected a list")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{path}: expected a string")
    return value


def _opt_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{key}: expected a number")
    return float(value)


def _opt_bool(value: Any, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"{path}: expected true or false")
    return value


def _max_tokens(body: dict[str, Any]) -> int | None:
    # max_completion_tokens is the current name; max_tokens the deprecated one, still common.
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequest(f"{key}: expected a positive integer")
        return value
    return None


def _text_of(content: Any, path: str) -> str:
    """Content that may only hold text: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}: expected a string or a list of text parts")
    texts = []
    for i, part in enumerate(content):
        part = _dict(part, f"{path}[{i}]")
        if part.get("type") not in ("text", "refusal"):
            raise InvalidRequest(f"{path}[{i}].type: expected 'text'")
        key = "text" if part["type"] == "text" else "refusal"
        texts.append(_str(part.get(key), f"{path}[{i}].{key}"))
    return "".join(texts)


def _image(part: dict[str, Any], path: str) -> ImagePart:
    image = part.get("image_url")
    url = image if isinstance(image, str) else _dict(image, f"{path}.image_url").get("url")
    url = _str(url, f"{path}.image_url.url")
    if not url.startswith("data:"):
        return ImagePart(url=url)
    header, comma, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != "base64":
        raise InvalidRequest(f"{path}.image_url.url: expected a base64 data: URL or an http URL")
    return ImagePart(media_type=media_type, data=data)


def _user_parts(content: Any, path: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)]
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}: expected a string or a list of parts")
    parts: list[Part] = []
    for i, raw in enumerate(content):
        part = _dict(raw, f"{path}[{i}]")
        kind = part.get("type")
        if kind == "text":
            parts.append(TextPart(_str(part.get("text"), f"{path}[{i}].text")))
        elif kind == "image_url":
            parts.append(_image(part, f"{path}[{i}]"))
        else:
            raise InvalidRequest(f"{path}[{i}].type: unsupported part type {kind!r}")
    return parts


def _assistant_parts(msg: dict[str, Any], path: str, names: dict[str, str]) -> list[Part]:
    parts: list[Part] = []
    # DeepSeek-style servers want earlier reasoning echoed back; keep it when a client sends it.
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ThinkingPart(reasoning))
    content = msg.get("content")
    if content is not None:
        text = _text_of(content, f"{path}.content")
        if text or not msg.get("tool_calls"):
            parts.append(TextPart(text))
    for i, raw in enumerate(_list(msg.get("tool_calls") or [], f"{path}.tool_calls")):
        call_path = f"{path}.tool_calls[{i}]"
        call = _dict(raw, call_path)
        if call.get("type", "function") != "function":
            raise InvalidRequest(f"{call_path}.type: only 'function' tool calls are supported")
        function = _dict(call.get("function"), f"{call_path}.function")
        call_id = _str(call.get("id"), f"{call_path}.id")
        name = _str(function.get("name"), f"{call_path}.function.name")
        names[call_id] = name
        parts.append(ToolCallPart(call_id, name, tool_arguments(function.get("arguments"))))
    return parts


def _messages(raw: Any) -> tuple[tuple[TextPart, ...], tuple[Message, ...]]:
    """The system prompt and the turns; consecutive tool messages become one user turn."""
    system: list[TextPart] = []
    turns: list[tuple[str, list[Part]]] = []
    names: dict[str, str] = {}  # tool-call id -> function name, for Gemini's name matching
    previous_was_tool = False
    for i, item in enumerate(_list(raw, "messages")):
        path = f"messages[{i}]"
        msg = _dict(item, path)
        role = _str(msg.get("role"), f"{path}.role")
        is_tool = role == "tool"
        if role in ("system", "developer"):
            text = _text_of(msg.get("content"), f"{path}.content")
            if text:
                system.append(TextPart(text))
        elif role == "user":
            turns.append(("user", _user_parts(msg.get("content"), f"{path}.content")))
        elif role == "assistant":
            turns.append(("assistant", _assistant_parts(msg, path, names)))
        elif is_tool:
            call_id = _str(msg.get("tool_call_id"), f"{path}.tool_call_id")
            name = names.get(call_id) or (msg["name"] if isinstance(msg.get("name"), str) else None)
            content = _text_of(msg.get("content"), f"{path}.content")
            result = ToolResultPart(call_id, content, name=name)
            if previous_was_tool:
                turns[-1][1].append(result)
            else:
                turns.append(("user", [result]))
        else:
            raise InvalidRequest(f"{path}.role: unsupported role {role!r}")
        previous_was_tool = is_tool
    messages = tuple(
        Message("user" if role == "user" else "assistant", tuple(parts)) for role, parts in turns
    )
    return tuple(system), messages


def _tools(raw: Any) -> tuple[ToolDef, ...]:
    tools = []
    for i, item in enumerate(_list(raw, "tools")):
        tool = _dict(item, f"tools[{i}]")
        if tool.get("type", "function") != "function":
            raise InvalidRequest(f"tools[{i}].type: only 'function' tools are supported")
        function = _dict(tool.get("function"), f"tools[{i}].function")
        name = _str(function.get("name"), f"tools[{i}].function.name")
        description = _str(function.get("description") or "", f"tools[{i}].function.description")
        # OpenAI allows a tool without parameters; the neutral default is the empty object.
        parameters = function.get("parameters")
        if parameters is None:
            parameters = ToolDef(name).parameters
        parameters = _dict(parameters, f"tools[{i}].function.parameters")
        tools.append(ToolDef(name, description, parameters))
    return tuple(tools)


def _tool_choice(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in _TOOL_CHOICES:
            raise InvalidRequest(f"tool_choice: expected one of {', '.join(_TOOL_CHOICES)}")
        return raw
    choice = _dict(raw, "tool_choice")
    if choice.get("type") != "function":
        raise InvalidRequest("tool_choice.type: only 'function' is supported")
    function = _dict(choice.get("function"), "tool_choice.function")
    return _str(function.get("name"), "tool_choice.function.name")


def _stop(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(_str(s, f"stop[{i}]") for i, s in enumerate(_list(raw, "stop")))


def _effort(raw: Any) -> str | None:
    if raw is None:
        return None
    effort = _str(raw, "reasoning_effort")
    if effort not in _EFFORTS:
        raise InvalidRequest(f"reasoning_effort: expected one of {', '.join(_EFFORTS)}")
    return _EFFORTS[effort]


def parse_request(body: dict[str, Any], model: str | None) -> ChatRequest:
    """A neutral request from a Chat Completions body.

    Raises:
        InvalidRequest: naming the field that is missing or malformed.
    """
    body = _dict(body, "body")
    name = body.get("model") or model
    if not isinstance(name, str) or not name:
        raise InvalidRequest("model: expected a model name")
    if body.get("n") not in (None, 1):
        raise InvalidRequest("n: only one choice per request is supported")
    system, messages = _messages(body.get("messages"))
    if not messages:
        raise InvalidRequest("messages: expected at least one user or assistant message")
    stream_options = body.get("stream_options")
    include_usage = None
    if stream_options is not None:
        include_usage = _dict(stream_options, "stream_options").get("include_usage")
    return ChatRequest(
        model=name,
        messages=messages,
        system=system,
        tools=_tools(body.get("tools") or []),
        tool_choice=_tool_choice(body.get("tool_choice")),
        max_tokens=_max_tokens(body),
        temperature=_opt_number(body, "temperature"),
        top_p=_opt_number(body, "top_p"),
        stop=_stop(body.get("stop")),
        stream=_opt_bool(body.get("stream"), "stream"),
        stream_usage=_opt_bool(include_usage, "stream_options.include_usage"),
        user=None if body.get("user") is None else _str(body["user"], "user"),
        reasoning_effort=_effort(body.get("reasoning_effort")),
    )


# -- request rendering ------------------------------------------------------------------------


def _render_user(parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    # Tool results must directly follow the assistant turn that asked, so they go first.
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": p.tool_call_id, "content": p.content}
        for p in parts
        if isinstance(p, ToolResultPart)
    ]
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url if part.data is None else f"data:{part.media_type};base64,{part.data}"
            content.append({"type": "image_url", "image_url": {"url": url}})
    if len(content) == 1 and content[0]["type"] == "text":
        out.append({"role": "user", "content": content[0]["text"]})
    elif content:
        out.append({"role": "user", "content": content})
    return out


def _render_assistant(parts: tuple[Part, ...]) -> dict[str, Any]:
    # Thinking is not sent back: OpenAI has no input slot for it, and text would mislead.
    text = "".join(p.text for p in parts if isinstance(p, TextPart))
    calls = [render_tool_call(p) for p in parts if isinstance(p, ToolCallPart)]
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return message


def render_request(request: ChatRequest) -> dict[str, Any]:
    """A Chat Completions body for an OpenAI or OpenAI-compatible upstream."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": "\n\n".join(p.text for p in request.system)})
    for message in request.messages:
        if message.role == "user":
            messages.extend(_render_user(message.parts))
        else:
            messages.append(_render_assistant(message.parts))
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    # max_tokens rather than max_completion_tokens: Ollama, Groq and most compatible servers
    # only know the older name, and OpenAI still accepts it for non-reasoning models.
    optional = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "reasoning_effort": request.reasoning_effort,
        "user": request.user,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if request.tools:
        body["tools"] = [
            {"type": "function", "function": dataclasses.asdict(t)} for t in request.tools
        ]
    if request.tool_choice in _TOOL_CHOICES:
        body["tool_choice"] = request.tool_choice
    elif request.tool_choice:
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
    if request.stream:
        body["stream"] = True
        # Always ask: the gateway needs the final usage whatever the client asked for, and
        # each client's encoder decides whether to pass it on.
        body["stream_options"] = {"include_usage": True}
    return body
