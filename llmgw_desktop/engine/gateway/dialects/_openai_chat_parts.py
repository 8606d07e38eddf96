"""OpenAI Chat Completions pieces: request messages, tools, usage and finish reasons.

Private to `openai_chat.py`, which holds the dialect, its response translation and its stream
translators. Everything here is pure: dicts in, neutral dataclasses out, and back.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects._shared import (
    custom_input,
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_flag,
    optional_int,
    optional_number,
)
from llmgw_desktop.engine.gateway.ir import (
    CUSTOM_INPUT,
    MAX_TOKEN_COUNT,
    ChatRequest,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    ResponseFormat,
    Role,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    Usage,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable, left_out_fields

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
_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system"}
# Top-level fields the translation carries, and why the others it knows are left out.
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "n",
        "tools",
        "functions",
        "tool_choice",
        "function_call",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "stop",
        "stream",
        "stream_options",
        "user",
        "reasoning_effort",
        "response_format",
        "parallel_tool_calls",
        "modalities",
    }
)
_LEFT_OUT = {
    "logprobs": "log probabilities are OpenAI's",
    "top_logprobs": "log probabilities are OpenAI's",
    "logit_bias": "OpenAI's",
    "prediction": "predicted outputs are OpenAI's",
    "web_search_options": "OpenAI's web search",
    "store": "stored completions are OpenAI's",
    "metadata": "stored completions are OpenAI's",
    "service_tier": "OpenAI's",
    "prompt_cache_key": "OpenAI's cache routing",
    "prompt_cache_retention": "OpenAI's cache routing",
    "safety_identifier": "OpenAI's",
    "verbosity": "GPT-5's",
}


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
    count = max(int(value), 0)
    return count if count <= MAX_TOKEN_COUNT else 0


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


def render_tool_call(call: ToolCallPart, tool: ToolDef | None = None) -> dict[str, Any]:
    """One entry of an assistant message's `tool_calls`; a call of the client's freeform
    (custom) tool goes back in that form, with its raw input."""
    if tool is not None and tool.kind == "custom":
        custom = {"name": call.name, "input": custom_input(call.arguments)}
        return {"id": call.id, "type": "custom", "custom": custom}
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
        part = expect_dict(part, f"{path}[{i}]")
        if part.get("type") not in ("text", "refusal"):
            raise InvalidRequest(f"{path}[{i}].type: expected 'text'")
        key = "text" if part["type"] == "text" else "refusal"
        texts.append(expect_str(part.get(key), f"{path}[{i}].{key}"))
    return "".join(texts)


def _image(part: dict[str, Any], path: str) -> ImagePart:
    image = part.get("image_url")
    url = image if isinstance(image, str) else expect_dict(image, f"{path}.image_url").get("url")
    url = expect_str(url, f"{path}.image_url.url")
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
        part = expect_dict(raw, f"{path}[{i}]")
        kind = part.get("type")
        if kind == "text":
            parts.append(TextPart(expect_str(part.get("text"), f"{path}[{i}].text")))
        elif kind == "image_url":
            parts.append(_image(part, f"{path}[{i}]"))
        elif kind == "file":
            parts.append(_file(part, f"{path}[{i}]"))
        elif kind == "input_audio":
            raise Untranslatable("audio input", "only OpenAI's audio models take it")
        else:
            raise Untranslatable(
                f"content part type {kind!r}",
                "the gateway knows no equivalent for it",
                param=f"{path}[{i}].type",
            )
    return parts


def _file(part: dict[str, Any], path: str) -> DocumentPart:
    """A `file` part: inline base64 (a data URL, as the SDK sends it) is carried."""
    file = expect_dict(part.get("file"), f"{path}.file")
    if file.get("file_id"):
        raise Untranslatable("a file by file_id", "OpenAI's Files API is OpenAI's own")
    data = expect_str(file.get("file_data"), f"{path}.file.file_data")
    filename = file.get("filename") if isinstance(file.get("filename"), str) else None
    media_type = "application/pdf"
    if data.startswith("data:"):
        header, _, data = data[5:].partition(",")
        media_type = header.partition(";")[0] or media_type
    return DocumentPart(media_type=media_type, data=data, filename=filename)


def _assistant_parts(
    msg: dict[str, Any], path: str, names: dict[str, str], left_out: list[str]
) -> list[Part]:
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
    if msg.get("audio"):
        left_out.append("earlier audio answers")
    legacy = msg.get("function_call")
    calls = list(expect_list(msg.get("tool_calls") or [], f"{path}.tool_calls"))
    if isinstance(legacy, dict):
        calls.append({"type": "function", "id": f"call_{legacy.get('name')}", "function": legacy})
    for i, raw in enumerate(calls):
        call_path = f"{path}.tool_calls[{i}]"
        call = expect_dict(raw, call_path)
        call_id = expect_str(call.get("id"), f"{call_path}.id")
        kind = call.get("type", "function")
        if kind == "custom":
            custom = expect_dict(call.get("custom"), f"{call_path}.custom")
            name = expect_str(custom.get("name"), f"{call_path}.custom.name")
            text = expect_str(custom.get("input") or "", f"{call_path}.custom.input")
            names[call_id] = name
            parts.append(ToolCallPart(call_id, name, json.dumps({CUSTOM_INPUT: text})))
            continue
        if kind != "function":
            raise InvalidRequest(f"{call_path}.type: expected 'function' or 'custom'")
        function = expect_dict(call.get("function"), f"{call_path}.function")
        name = expect_str(function.get("name"), f"{call_path}.function.name")
        names[call_id] = name
        parts.append(ToolCallPart(call_id, name, tool_arguments(function.get("arguments"))))
    return parts


def _messages(raw: Any, left_out: list[str]) -> tuple[tuple[TextPart, ...], tuple[Message, ...]]:
    """The leading system prompt and the turns; consecutive tool messages become one user turn,
    and a system or developer message after the first turn keeps its place."""
    system: list[TextPart] = []
    turns: list[tuple[str, list[Part]]] = []
    names: dict[str, str] = {}  # tool-call id -> function name, for Gemini's name matching
    previous_was_tool = False
    for i, item in enumerate(expect_list(raw, "messages")):
        path = f"messages[{i}]"
        msg = expect_dict(item, path)
        role = expect_str(msg.get("role"), f"{path}.role")
        is_tool = role in ("tool", "function")
        if role in ("system", "developer"):
            text = _text_of(msg.get("content"), f"{path}.content")
            if text and turns:
                turns.append(("system", [TextPart(text)]))
            elif text:
                system.append(TextPart(text))
        elif role == "user":
            turns.append(("user", _user_parts(msg.get("content"), f"{path}.content")))
        elif role == "assistant":
            turns.append(("assistant", _assistant_parts(msg, path, names, left_out)))
        elif is_tool:
            name: str | None
            if role == "function":  # the legacy form: answered by function name
                name = expect_str(msg.get("name"), f"{path}.name")
                call_id = next((c for c, n in reversed(names.items()) if n == name), name)
            else:
                call_id = expect_str(msg.get("tool_call_id"), f"{path}.tool_call_id")
                given = msg.get("name")
                name = names.get(call_id) or (given if isinstance(given, str) else None)
            content = _text_of(msg.get("content"), f"{path}.content")
            result = ToolResultPart(call_id, content, name=name)
            if previous_was_tool:
                turns[-1][1].append(result)
            else:
                turns.append(("user", [result]))
        else:
            raise InvalidRequest(f"{path}.role: unsupported role {role!r}")
        previous_was_tool = is_tool
    messages = tuple(Message(_ROLES[role], tuple(parts)) for role, parts in turns)
    return tuple(system), messages


def _tools(raw: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    tools = []
    for i, item in enumerate(expect_list(raw, "tools")):
        tool = expect_dict(item, f"tools[{i}]")
        kind = tool.get("type", "function")
        if kind == "custom":
            custom = expect_dict(tool.get("custom"), f"tools[{i}].custom")
            name = expect_str(custom.get("name"), f"tools[{i}].custom.name")
            description = expect_str(
                custom.get("description") or "", f"tools[{i}].custom.description"
            )
            fmt = custom.get("format")
            tools.append(
                ToolDef(
                    name, description, kind="custom", format=fmt if isinstance(fmt, dict) else None
                )
            )
            continue
        if kind != "function":
            left_out.append(f"{kind} tool (OpenAI's)")
            continue
        function = expect_dict(tool.get("function"), f"tools[{i}].function")
        name = expect_str(function.get("name"), f"tools[{i}].function.name")
        description = expect_str(
            function.get("description") or "", f"tools[{i}].function.description"
        )
        # OpenAI allows a tool without parameters; the neutral default is the empty object.
        parameters = function.get("parameters")
        if parameters is None:
            parameters = ToolDef(name).parameters
        parameters = expect_dict(parameters, f"tools[{i}].function.parameters")
        tools.append(ToolDef(name, description, parameters))
    return tuple(tools)


def _legacy_functions(raw: Any) -> list[dict[str, Any]]:
    """The deprecated `functions` list as `tools` entries."""
    return [{"type": "function", "function": f} for f in expect_list(raw, "functions")]


def _tool_choice(raw: Any, left_out: list[str]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in _TOOL_CHOICES:
            raise InvalidRequest(f"tool_choice: expected one of {', '.join(_TOOL_CHOICES)}")
        return raw
    choice = expect_dict(raw, "tool_choice")
    kind = choice.get("type")
    if kind in ("function", "custom"):
        named = expect_dict(choice.get(kind), f"tool_choice.{kind}")
        return expect_str(named.get("name"), f"tool_choice.{kind}.name")
    if kind == "allowed_tools":
        allowed = expect_dict(choice.get("allowed_tools"), "tool_choice.allowed_tools")
        left_out.append("tool_choice allowed_tools (every tool stays offered)")
        mode = allowed.get("mode")
        return "required" if mode == "required" else "auto"
    raise InvalidRequest("tool_choice.type: expected 'function', 'custom' or 'allowed_tools'")


def _legacy_function_call(raw: Any) -> str | None:
    if raw is None or raw in ("auto", "none"):
        return raw
    return expect_str(expect_dict(raw, "function_call").get("name"), "function_call.name")


def _stop(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(expect_str(s, f"stop[{i}]") for i, s in enumerate(expect_list(raw, "stop")))


def _effort(raw: Any) -> str | None:
    if raw is None:
        return None
    effort = expect_str(raw, "reasoning_effort")
    if effort not in _EFFORTS:
        raise InvalidRequest(f"reasoning_effort: expected one of {', '.join(_EFFORTS)}")
    return _EFFORTS[effort]


def _response_format(raw: Any) -> ResponseFormat | None:
    if raw is None:
        return None
    fmt = expect_dict(raw, "response_format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind != "json_schema":
        raise InvalidRequest(
            "response_format.type: expected 'text', 'json_object' or 'json_schema'"
        )
    spec = expect_dict(fmt.get("json_schema"), "response_format.json_schema")
    schema = spec.get("schema")
    strict = spec.get("strict")
    return ResponseFormat(
        "json_schema",
        schema=expect_dict(schema, "response_format.json_schema.schema")
        if schema is not None
        else None,
        name=expect_str(spec.get("name") or "response", "response_format.json_schema.name"),
        description=expect_str(
            spec.get("description") or "", "response_format.json_schema.description"
        ),
        strict=strict if isinstance(strict, bool) else None,
    )


def parse_request(body: dict[str, Any], model: str | None) -> ChatRequest:
    """A neutral request from a Chat Completions body, for an upstream of another dialect.

    Raises:
        InvalidRequest: naming the field that is missing or malformed.
        Untranslatable: the request uses something no other dialect can carry.
    """
    body = expect_dict(body, "body")
    name = body.get("model") or model
    if not isinstance(name, str) or not name:
        raise InvalidRequest("model: expected a model name")
    if body.get("n") not in (None, 1):
        raise Untranslatable("n > 1", "only OpenAI Chat returns several choices", param="n")
    modalities = body.get("modalities")
    if body.get("audio") or (isinstance(modalities, list) and "audio" in modalities):
        raise Untranslatable("audio output", "only OpenAI's audio models speak")
    left_out = left_out_fields(body, _HANDLED, _LEFT_OUT)
    system, messages = _messages(body.get("messages"), left_out)
    if not messages:
        raise InvalidRequest("messages: expected at least one user or assistant message")
    stream_options = body.get("stream_options")
    include_usage = None
    if stream_options is not None:
        include_usage = expect_dict(stream_options, "stream_options").get("include_usage")
    raw_tools = body.get("tools") or _legacy_functions(body.get("functions") or [])
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls")
    return ChatRequest(
        model=name,
        messages=messages,
        system=system,
        tools=_tools(raw_tools or [], left_out),
        tool_choice=(
            _tool_choice(choice, left_out)
            if choice is not None
            else _legacy_function_call(body.get("function_call"))
        ),
        max_tokens=_max_tokens(body),
        temperature=optional_number(body.get("temperature"), "temperature"),
        top_p=optional_number(body.get("top_p"), "top_p"),
        top_k=optional_int(body.get("top_k"), "top_k"),
        seed=optional_int(body.get("seed"), "seed"),
        presence_penalty=optional_number(body.get("presence_penalty"), "presence_penalty"),
        frequency_penalty=optional_number(body.get("frequency_penalty"), "frequency_penalty"),
        stop=_stop(body.get("stop")),
        stream=optional_flag(body.get("stream"), "stream"),
        stream_usage=optional_flag(include_usage, "stream_options.include_usage"),
        user=None if body.get("user") is None else expect_str(body["user"], "user"),
        reasoning_effort=_effort(body.get("reasoning_effort")),
        response_format=_response_format(body.get("response_format")),
        parallel_tool_calls=parallel if isinstance(parallel, bool) else None,
        left_out=tuple(left_out),
    )


# -- request rendering ------------------------------------------------------------------------


def _content_part(part: Part, notes: list[str]) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url if part.data is None else f"data:{part.media_type};base64,{part.data}"
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(part, DocumentPart):
        return _document_part(part)
    return None


def _document_part(part: DocumentPart) -> dict[str, Any]:
    """A document as a `file` part (inline only: Chat takes no file URLs)."""
    if part.text is not None:
        title = f"{part.title}\n\n" if part.title else ""
        return {"type": "text", "text": f"{title}{part.text}"}
    if part.data is None:
        raise Untranslatable(
            "a document by URL", "OpenAI Chat takes documents inline only (a data URL)"
        )
    file = {
        "filename": part.filename or part.title or "document.pdf",
        "file_data": f"data:{part.media_type};base64,{part.data}",
    }
    return {"type": "file", "file": file}


def _render_user(parts: tuple[Part, ...], notes: list[str]) -> list[dict[str, Any]]:
    # Tool results must directly follow the assistant turn that asked, so they go first.
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": p.tool_call_id, "content": p.content}
        for p in parts
        if isinstance(p, ToolResultPart)
    ]
    content = [c for c in (_content_part(p, notes) for p in parts) if c is not None]
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


def _render_tool(tool: ToolDef) -> dict[str, Any]:
    # Freeform tools become functions taking one string: compatible servers know no other kind.
    description = custom_tool_description(tool) if tool.kind == "custom" else tool.description
    function = {
        "name": tool.name,
        "description": description,
        "parameters": function_parameters(tool),
    }
    return {"type": "function", "function": function}


def _render_response_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.kind == "json_object" or fmt.schema is None:
        return {"type": "json_object"}
    spec: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema}
    if fmt.description:
        spec["description"] = fmt.description
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def render_request(
    request: ChatRequest, *, reasoning: bool = True, notes: list[str] | None = None
) -> dict[str, Any]:
    """A Chat Completions body for an OpenAI or OpenAI-compatible upstream. `reasoning` says
    whether the model takes `reasoning_effort`; what is left out is added to `notes`."""
    notes = notes if notes is not None else []
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": "\n\n".join(p.text for p in request.system)})
    for message in request.messages:
        if message.role == "user":
            messages.extend(_render_user(message.parts, notes))
        elif message.role == "system":
            text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
            messages.append({"role": "system", "content": text})
        else:
            messages.append(_render_assistant(message.parts))
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    effort = request.reasoning_effort
    if effort is not None and not reasoning:
        notes.append(f"reasoning effort {effort} (the model does not reason)")
        effort = None
    # max_tokens rather than max_completion_tokens: Ollama, Groq and most compatible servers
    # only know the older name, and OpenAI still accepts it for non-reasoning models.
    optional = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "stop": list(request.stop) or None,
        "reasoning_effort": effort,
        "user": request.user,
        "parallel_tool_calls": request.parallel_tool_calls if request.tools else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if request.top_k is not None:
        notes.append("top_k")
    if request.response_format is not None:
        body["response_format"] = _render_response_format(request.response_format)
    if request.tools:
        body["tools"] = [_render_tool(t) for t in request.tools]
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
