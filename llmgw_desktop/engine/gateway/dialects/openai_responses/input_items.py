"""A request's `input` items (messages, function calls and their outputs, reasoning) to and from the
neutral conversation; items that point at state kept at OpenAI are refused.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_str,
    required_str,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.tools import NAMESPACE_SEPARATOR
from llmgw_desktop.engine.gateway.ir import (
    CUSTOM_INPUT,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    Role,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable

__all__ = ["input_message_item", "parse_input", "render_input"]

_ROLES = ("user", "assistant", "system", "developer")


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


def parse_input(
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


def render_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
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
                items.append(input_message_item(message.role, content))
                content = []
            if isinstance(part, ToolCallPart):
                call = {"call_id": part.id, "name": part.name, "arguments": part.arguments}
                items.append({"type": "function_call", **call})
            else:
                result = {"call_id": part.tool_call_id, "output": part.content}
                items.append({"type": "function_call_output", **result})
        if content:
            items.append(input_message_item(message.role, content))
    return items


def input_message_item(
    role: str, parts: list[TextPart | ImagePart | DocumentPart]
) -> dict[str, Any]:
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
