"""OpenAI Responses requests to and from the neutral form (for an upstream of another dialect;
a Responses client on a Responses upstream is forwarded untouched and never comes here).

What needs care, as Codex sends it:
- tools grouped in a `namespace` are offered flat, as `<namespace>__<name>`, and a call of one
  goes back to the client with its namespace (`ir.ToolDef`);
- `custom` (freeform) tools become one-string functions elsewhere; their calls go back as
  `custom_tool_call` items with the raw input;
- hosted tools (`web_search`, `tool_search`, `file_search`, ...) and the state OpenAI keeps
  (`store`, `include`, encrypted reasoning) mean nothing to another provider: left out, named;
- pointers to state kept at OpenAI (`previous_response_id`, `conversation`, `item_reference`,
  compaction items) cannot be resolved by a stateless translator: refused, named.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects._shared import (
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_number,
    optional_positive_int,
    optional_str,
    required_str,
)
from llmgw_desktop.engine.gateway.ir import (
    CUSTOM_INPUT,
    ChatRequest,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    ResponseFormat,
    Role,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable, left_out_fields

__all__ = ["NAMESPACE_SEPARATOR", "parse_request", "render_request", "render_tool_choice"]

NAMESPACE_SEPARATOR = "__"
# Responses efforts onto the neutral three; "none" means the client asked for no reasoning.
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
_ROLES = ("user", "assistant", "system", "developer")
# Fields that point at state kept by OpenAI; a stateless translator cannot resolve them.
_STATEFUL = {
    "previous_response_id": "the earlier turns are stored at OpenAI; send the whole "
    "conversation in input instead",
    "conversation": "the conversation is stored at OpenAI; send it in input instead",
    "prompt": "stored prompts live at OpenAI; send instructions and input instead",
}
_HANDLED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "temperature",
        "top_p",
        "stream",
        "user",
        "reasoning",
        "text",
        "parallel_tool_calls",
        "background",
        *_STATEFUL,
    }
)
_LEFT_OUT = {
    "store": "responses are not stored",
    "include": "OpenAI's",
    "prompt_cache_key": "OpenAI's cache routing",
    "prompt_cache_retention": "OpenAI's cache routing",
    "client_metadata": "OpenAI's",
    "metadata": "OpenAI's",
    "service_tier": "OpenAI's",
    "truncation": "OpenAI's",
    "safety_identifier": "OpenAI's",
    "max_tool_calls": "OpenAI's",
    "top_logprobs": "log probabilities are OpenAI's",
    "stream_options": "OpenAI's",
    "context_management": "OpenAI's",
}
# Input items that record what OpenAI's hosted tools did, or OpenAI's own reasoning.
_HOSTED_ITEMS = {
    "reasoning": "reasoning items (OpenAI's)",
    "web_search_call": "web_search calls (OpenAI's hosted tool)",
    "file_search_call": "file_search calls (OpenAI's hosted tool)",
    "tool_search_call": "tool_search calls (OpenAI's)",
    "tool_search_output": "tool_search results (OpenAI's)",
    "image_generation_call": "image_generation calls (OpenAI's hosted tool)",
    "code_interpreter_call": "code_interpreter calls (OpenAI's hosted tool)",
    "mcp_list_tools": "remote MCP listings (OpenAI's)",
    "mcp_call": "remote MCP calls (OpenAI's)",
    "mcp_approval_request": "remote MCP approvals (OpenAI's)",
    "mcp_approval_response": "remote MCP approvals (OpenAI's)",
}
_STATE_ITEMS = {
    "item_reference": "it points at an item stored at OpenAI",
    "compaction": "it is history compacted and encrypted by OpenAI",
    "compaction_summary": "it is history compacted and encrypted by OpenAI",
}


# -- parsing -----------------------------------------------------------------------------------


def parse_request(body: Any, model: str | None) -> ChatRequest:
    """A `/v1/responses` body in neutral form.

    Raises:
        InvalidRequest: naming the field that is missing or malformed.
        Untranslatable: the request points at state kept by OpenAI.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("body: expected a JSON object")
    for key, why in _STATEFUL.items():
        if body.get(key) is not None:
            raise Untranslatable(key, why, param=key)
    if body.get("background"):
        raise Untranslatable("background", "background responses are kept and polled at OpenAI")
    name = body.get("model", model)
    if not isinstance(name, str) or not name:
        raise InvalidRequest("model: expected a non-empty string")
    left_out = left_out_fields(body, _HANDLED, _LEFT_OUT)
    system: list[TextPart] = []
    instructions = body.get("instructions")
    instructions = optional_str(instructions, "instructions")
    if instructions:
        system.append(TextPart(instructions))
    tools = _parse_tools(body.get("tools"), left_out)
    namespaced: dict[tuple[str | None, str | None], str] = {
        (t.namespace, t.local_name): t.name for t in tools if t.namespace
    }
    messages = _parse_input(body.get("input"), system, namespaced, left_out)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("stream: expected true or false")
    user = body.get("user")
    user = optional_str(user, "user")
    parallel = body.get("parallel_tool_calls")
    return ChatRequest(
        model=name,
        messages=messages,
        system=tuple(system),
        tools=tools,
        tool_choice=_parse_tool_choice(body.get("tool_choice"), left_out),
        max_tokens=optional_positive_int(body.get("max_output_tokens"), "max_output_tokens"),
        temperature=optional_number(body.get("temperature"), "temperature"),
        top_p=optional_number(body.get("top_p"), "top_p"),
        stream=bool(stream),
        # A Responses stream always ends with usage, so ask any upstream for it.
        stream_usage=bool(stream),
        user=user,
        reasoning_effort=_parse_reasoning(body.get("reasoning"), left_out),
        response_format=_parse_text(body.get("text"), left_out),
        parallel_tool_calls=parallel if isinstance(parallel, bool) else None,
        left_out=tuple(left_out),
    )


class _Turns:
    """Consecutive items of one role as one neutral turn (tool calls join the assistant's)."""

    def __init__(self) -> None:
        self.turns: list[tuple[Role, list[Part]]] = []

    def add(self, role: Role, parts: list[Part]) -> None:
        if not parts:
            return
        if self.turns and self.turns[-1][0] == role and role != "system":
            self.turns[-1][1].extend(parts)
        else:
            self.turns.append((role, list(parts)))

    def messages(self) -> tuple[Message, ...]:
        return tuple(Message(role, tuple(parts)) for role, parts in self.turns)


def _parse_input(
    raw: Any,
    system: list[TextPart],
    namespaced: dict[tuple[str | None, str | None], str],
    left_out: list[str],
) -> tuple[Message, ...]:
    if raw is None:
        raise InvalidRequest("input: required")
    if isinstance(raw, str):
        return (Message("user", (TextPart(raw),)),)
    if not isinstance(raw, list):
        raise InvalidRequest("input: expected a string or a list of items")
    turns = _Turns()
    for i, item in enumerate(raw):
        path = f"input[{i}]"
        item = expect_dict(item, path)
        kind = item.get("type", "message")
        kind = expect_str(kind, f"{path}.type")  # looked up in dicts below: a list cannot be hashed
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise InvalidRequest(f"{path}.role: expected one of {', '.join(_ROLES)}")
            parts = _parse_content(item.get("content"), f"{path}.content", role)
            if role in ("system", "developer"):
                texts = [p for p in parts if isinstance(p, TextPart)]
                if turns.turns:
                    turns.add("system", list(texts))
                else:
                    system.extend(texts)
            else:
                turns.add("user" if role == "user" else "assistant", parts)
        elif kind == "function_call":
            local = required_str(item, "name", path)
            namespace = item.get("namespace")
            name = namespaced.get((namespace, local)) or (
                f"{namespace}{NAMESPACE_SEPARATOR}{local}" if namespace else local
            )
            call = ToolCallPart(required_str(item, "call_id", path), name, _arguments(item, path))
            turns.add("assistant", [call])
        elif kind == "custom_tool_call":
            text = item.get("input")
            arguments = json.dumps({CUSTOM_INPUT: text if isinstance(text, str) else ""})
            call = ToolCallPart(
                required_str(item, "call_id", path), required_str(item, "name", path), arguments
            )
            turns.add("assistant", [call])
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output, attached = _parse_tool_output(item.get("output"), f"{path}.output")
            result = ToolResultPart(required_str(item, "call_id", path), output)
            turns.add("user", [result, *attached])
        elif kind in _HOSTED_ITEMS:
            left_out.append(_HOSTED_ITEMS[kind])
        elif kind in _STATE_ITEMS:
            raise Untranslatable(f"input item type {kind!r}", _STATE_ITEMS[kind], param=path)
        else:
            raise Untranslatable(
                f"input item type {kind!r}", "the gateway knows no equivalent for it", param=path
            )
    return turns.messages()


def _arguments(item: dict[str, Any], path: str) -> str:
    value = item.get("arguments")
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # some compatible clients send an object
        return json.dumps(value)
    raise InvalidRequest(f"{path}.arguments: required string")


def _parse_content(content: Any, path: str, role: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}: expected a string or a list of parts")
    parts: list[Part] = []
    for j, part in enumerate(content):
        where = f"{path}[{j}]"
        part = expect_dict(part, where)
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(TextPart(required_str(part, "text", where)))
        elif kind == "refusal":
            parts.append(TextPart(required_str(part, "refusal", where)))
        elif kind == "input_image":
            if role != "user":
                raise InvalidRequest(f"{where}.type: images are only supported in user messages")
            parts.append(_parse_image(part, where))
        elif kind == "input_file":
            parts.append(_parse_file(part, where))
        elif kind == "input_audio":
            raise Untranslatable("audio input", "only OpenAI's audio models take it", param=where)
        else:
            raise Untranslatable(
                f"content part type {kind!r}", "the gateway knows no equivalent for it", param=where
            )
    return parts


def _parse_image(part: dict[str, Any], path: str) -> ImagePart:
    url = part.get("image_url")
    if isinstance(url, str) and url.startswith("data:"):
        head, comma, data = url[len("data:") :].partition(",")
        if comma and data and head.endswith(";base64"):
            return ImagePart(media_type=head.split(";")[0] or "application/octet-stream", data=data)
        raise InvalidRequest(f"{path}.image_url: expected a base64 data URL")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return ImagePart(url=url)
    if part.get("file_id"):
        raise Untranslatable("an image by file_id", "OpenAI's Files API is OpenAI's own")
    raise InvalidRequest(f"{path}.image_url: expected a data: URL or an http(s) URL")


def _parse_file(part: dict[str, Any], path: str) -> DocumentPart:
    filename = part.get("filename") if isinstance(part.get("filename"), str) else None
    data = part.get("file_data")
    if isinstance(data, str) and data:
        media_type = "application/pdf"
        if data.startswith("data:"):
            head, _, data = data[len("data:") :].partition(",")
            media_type = head.split(";")[0] or media_type
        return DocumentPart(media_type=media_type, data=data, filename=filename)
    url = part.get("file_url")
    if isinstance(url, str) and url:
        return DocumentPart(url=url, filename=filename)
    if part.get("file_id"):
        raise Untranslatable("a file by file_id", "OpenAI's Files API is OpenAI's own")
    raise InvalidRequest(f"{path}: expected file_data or file_url")


def _parse_tool_output(output: Any, path: str) -> tuple[str, list[Part]]:
    """A tool's output as text, and the images or files it returned as parts after it."""
    if isinstance(output, str):
        return output, []
    if not isinstance(output, list):
        raise InvalidRequest(f"{path}: expected a string or a list of parts")
    texts: list[str] = []
    attached: list[Part] = []
    for j, part in enumerate(output):
        where = f"{path}[{j}]"
        part = expect_dict(part, where)
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            texts.append(required_str(part, "text", where))
        elif kind == "input_image":
            attached.append(_parse_image(part, where))
        elif kind == "input_file":
            attached.append(_parse_file(part, where))
        else:
            raise InvalidRequest(f"{where}.type: expected input_text, input_image or input_file")
    return "".join(texts), attached


def _parse_tools(raw: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    if raw is None:
        return ()
    raw = expect_list(raw, "tools")
    tools: list[ToolDef] = []
    for i, tool in enumerate(raw):
        path = f"tools[{i}]"
        tool = expect_dict(tool, path)
        kind = tool.get("type")
        if kind in ("function", "custom"):
            tools.append(_parse_tool(tool, path))
        elif kind == "namespace":
            namespace = required_str(tool, "name", path)
            members = tool.get("tools")
            members = expect_list(members, f"{path}.tools")
            for j, member in enumerate(members):
                where = f"{path}.tools[{j}]"
                if not isinstance(member, dict) or member.get("type") not in ("function", "custom"):
                    raise InvalidRequest(f"{where}: expected a function or custom tool")
                inner = _parse_tool(member, where)
                tools.append(
                    ToolDef(
                        f"{namespace}{NAMESPACE_SEPARATOR}{inner.name}",
                        inner.description,
                        inner.parameters,
                        kind=inner.kind,
                        namespace=namespace,
                        local_name=inner.name,
                        format=inner.format,
                    )
                )
        else:
            left_out.append(f"{kind} tool (OpenAI's)")
    return tuple(tools)


def _parse_tool(tool: dict[str, Any], path: str) -> ToolDef:
    if "name" not in tool and isinstance(tool.get("function"), dict):
        raise InvalidRequest(
            f"{path}.name: required (Responses tools are not nested in 'function')"
        )
    name = required_str(tool, "name", path)
    description = tool.get("description")
    description = optional_str(description, f"{path}.description")
    if tool.get("type") == "custom":
        fmt = tool.get("format")
        return ToolDef(
            name, description or "", kind="custom", format=fmt if isinstance(fmt, dict) else None
        )
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidRequest(f"{path}.parameters: expected a JSON Schema object")
    if parameters:
        return ToolDef(name, description or "", parameters)
    return ToolDef(name, description or "")


def _parse_tool_choice(raw: Any, left_out: list[str]) -> str | None:
    if raw is None or raw in _TOOL_CHOICES:
        return raw
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind in ("function", "custom"):
            return required_str(raw, "name", "tool_choice")
        if kind == "allowed_tools":
            left_out.append("tool_choice allowed_tools (every tool stays offered)")
            return "required" if raw.get("mode") == "required" else "auto"
        left_out.append(f"tool_choice {kind} (OpenAI's hosted tool)")
        return None
    raise InvalidRequest(
        "tool_choice: expected 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": …}"
    )


def _parse_reasoning(raw: Any, left_out: list[str]) -> str | None:
    if raw is None:
        return None
    raw = expect_dict(raw, "reasoning")
    if raw.get("summary") or raw.get("generate_summary"):
        left_out.append("reasoning.summary")
    effort = raw.get("effort")
    if effort is None:
        return None
    if not isinstance(effort, str) or effort not in _EFFORTS:
        raise InvalidRequest(f"reasoning.effort: expected one of {', '.join(_EFFORTS)}")
    return _EFFORTS[effort]


def _parse_text(raw: Any, left_out: list[str]) -> ResponseFormat | None:
    """`text.format` as structured output; `text.verbosity` is GPT-5's alone."""
    if raw is None:
        return None
    raw = expect_dict(raw, "text")
    if raw.get("verbosity"):
        left_out.append("text.verbosity (GPT-5's)")
    fmt = raw.get("format")
    if fmt is None:
        return None
    fmt = expect_dict(fmt, "text.format")
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind != "json_schema":
        raise InvalidRequest("text.format.type: expected 'text', 'json_object' or 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise InvalidRequest("text.format.schema: expected a JSON Schema object")
    name, description, strict = fmt.get("name"), fmt.get("description"), fmt.get("strict")
    return ResponseFormat(
        "json_schema",
        schema=schema,
        name=name if isinstance(name, str) and name else "response",
        description=description if isinstance(description, str) else "",
        strict=strict if isinstance(strict, bool) else None,
    )


# -- rendering ---------------------------------------------------------------------------------


def render_request(
    request: ChatRequest, *, reasoning: bool = True, notes: list[str] | None = None
) -> dict[str, Any]:
    """The `/v1/responses` body for a neutral request (stateless: the whole conversation)."""
    notes = notes if notes is not None else []
    effort = request.reasoning_effort
    if effort is not None and not reasoning:
        notes.append(f"reasoning effort {effort} (the model does not reason)")
        effort = None
    optional = {
        "instructions": "\n\n".join(part.text for part in request.system) or None,
        "tools": render_tools(request.tools) or None,
        "tool_choice": render_tool_choice(request.tool_choice) if request.tool_choice else None,
        "max_output_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "reasoning": {"effort": effort} if effort else None,
        "text": _render_text(request.response_format),
        "parallel_tool_calls": request.parallel_tool_calls if request.tools else None,
        "stream": True if request.stream else None,
        "user": request.user,
    }
    notes.extend(
        name
        for name, value in (
            ("top_k", request.top_k),
            ("seed", request.seed),
            ("presence_penalty", request.presence_penalty),
            ("frequency_penalty", request.frequency_penalty),
            ("stop sequences", request.stop or None),
        )
        if value is not None
    )
    body = {"model": request.model, "input": _render_input(request.messages)}
    return body | {key: value for key, value in optional.items() if value is not None}


def _render_text(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    if fmt is None:
        return None
    if fmt.kind == "json_object" or fmt.schema is None:
        return {"format": {"type": "json_object"}}
    out: dict[str, Any] = {"type": "json_schema", "name": fmt.name, "schema": fmt.schema}
    if fmt.description:
        out["description"] = fmt.description
    if fmt.strict is not None:
        out["strict"] = fmt.strict
    return {"format": out}


def render_tools(tools: tuple[ToolDef, ...]) -> list[dict[str, Any]]:
    # strict defaults to true in Responses; other dialects' schemas are not written for it.
    return [
        {
            "type": "function",
            "name": tool.name,
            "description": custom_tool_description(tool)
            if tool.kind == "custom"
            else tool.description,
            "parameters": function_parameters(tool),
            "strict": False,
        }
        for tool in tools
    ]


def render_tool_choice(choice: str) -> str | dict[str, Any]:
    return choice if choice in _TOOL_CHOICES else {"type": "function", "name": choice}


def _render_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        content: list[TextPart | ImagePart | DocumentPart] = []
        for part in message.parts:
            if isinstance(part, TextPart | ImagePart | DocumentPart):
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


def _message_item(role: str, parts: list[TextPart | ImagePart | DocumentPart]) -> dict[str, Any]:
    if role == "assistant":
        # Plain text is the one assistant content form every Responses server takes.
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        return {"type": "message", "role": "assistant", "content": text}
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url if part.data is None else f"data:{part.media_type};base64,{part.data}"
            content.append({"type": "input_image", "image_url": url, "detail": "auto"})
        else:
            content.append(_file_part(part))
    # A mid-conversation instruction is a developer message, as OpenAI's reasoning models say.
    return {
        "type": "message",
        "role": "developer" if role == "system" else "user",
        "content": content,
    }


def _file_part(part: DocumentPart) -> dict[str, Any]:
    if part.text is not None:
        title = f"{part.title}\n\n" if part.title else ""
        return {"type": "input_text", "text": f"{title}{part.text}"}
    filename = part.filename or part.title or "document.pdf"
    if part.data is not None:
        data = f"data:{part.media_type};base64,{part.data}"
        return {"type": "input_file", "filename": filename, "file_data": data}
    return {"type": "input_file", "file_url": part.url or ""}
