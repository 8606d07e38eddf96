"""The `messages` list: parsed from a client into the neutral system text and messages, rendered for
an upstream.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.tools import render_tool_call, tool_arguments
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

__all__ = ["parse_messages", "render_assistant", "render_user"]

_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system"}


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


def parse_messages(
    raw: Any, left_out: list[str]
) -> tuple[tuple[TextPart, ...], tuple[Message, ...]]:
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


def render_user(parts: tuple[Part, ...], notes: list[str]) -> list[dict[str, Any]]:
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


def render_assistant(parts: tuple[Part, ...]) -> dict[str, Any]:
    # Thinking is not sent back: OpenAI has no input slot for it, and text would mislead.
    text = "".join(p.text for p in parts if isinstance(p, TextPart))
    calls = [render_tool_call(p) for p in parts if isinstance(p, ToolCallPart)]
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return message
