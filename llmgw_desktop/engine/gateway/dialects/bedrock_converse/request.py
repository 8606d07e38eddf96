"""A Converse request body rendered from the neutral form.

What Converse takes: `messages` of `user` and `assistant` turns that alternate, each a list of
content blocks (`text`, `image` and `document` as base64 bytes, `toolUse`, `toolResult`,
`reasoningContent`, and `cachePoint` markers after a block to cache up to); `system` as text
blocks (and cache points); `inferenceConfig` for the limits and sampling; `toolConfig` for the
tools and the tool choice; `additionalModelRequestFields` for what only the model knows
(Claude's thinking budget and `top_k`). What it cannot take is named in the notes, or refused
(`Untranslatable`) when the request could not mean the same without it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from llmgw_desktop.engine.gateway.dialects.anthropic.messages import (
    ends_in_unthought_tool_use,
    is_claude_thinking,
    safe_tool_id,
    tool_input,
)
from llmgw_desktop.engine.gateway.dialects.anthropic.request import (
    DEFAULT_MAX_TOKENS,
    JSON_OBJECT_INSTRUCTION,
    thinking_budget,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.translation import TargetModel, Untranslatable

__all__ = ["render_request"]

_CACHE_POINT = {"cachePoint": {"type": "default"}}
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "text/html": "html",
    "text/markdown": "md",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


def render_request(
    request: ChatRequest, *, target: TargetModel | None = None, notes: list[str] | None = None
) -> dict[str, Any]:
    """The Converse body for `request` (model and streaming are in the URL).

    Raises:
        Untranslatable: an image or document given by URL (Converse takes bytes).
    """
    notes = notes if notes is not None else []
    claude = _is_claude(target)
    out: dict[str, Any] = {}
    system = _system(request, notes)
    messages = _messages(request.messages, system, claude=claude, notes=notes)
    if system:
        out["system"] = system
    out["messages"] = messages
    out["inferenceConfig"] = _inference(request, out, target=target, claude=claude, notes=notes)
    if request.tools:
        out["toolConfig"] = _tool_config(request, notes)
    if request.user:
        notes.append("user")
    notes.extend(
        name
        for name, value in (
            ("seed", request.seed),
            ("presence_penalty", request.presence_penalty),
            ("frequency_penalty", request.frequency_penalty),
        )
        if value is not None
    )
    return out


def _is_claude(target: TargetModel | None) -> bool:
    return target is not None and "anthropic." in target.model.lower()


def _system(request: ChatRequest, notes: list[str]) -> list[dict[str, Any]]:
    system: list[dict[str, Any]] = []
    for part in request.system:
        if part.text:
            system.append({"text": part.text})
            if part.cache:
                system.append(dict(_CACHE_POINT))
    fmt = request.response_format
    if fmt is not None:
        # Converse constrains no output format for every model: it is asked for in words.
        wanted = JSON_OBJECT_INSTRUCTION
        if fmt.kind == "json_schema" and fmt.schema is not None:
            wanted += f" It must match this JSON Schema: {_compact(fmt.schema)}"
        system.append({"text": wanted})
        notes.append(f"response_format {fmt.kind} (asked for in the system prompt)")
    return system


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _messages(
    messages: tuple[Message, ...],
    system: list[dict[str, Any]],
    *,
    claude: bool,
    notes: list[str],
) -> list[dict[str, Any]]:
    """Alternating turns; an instruction in the middle of the conversation joins `system`
    (Converse has no system turn), said in the notes."""
    merged: list[tuple[str, list[Part]]] = []
    for message in messages:
        if message.role == "system":
            system.extend({"text": p.text} for p in message.parts if isinstance(p, TextPart))
            notes.append("a system message in the conversation (moved to the system prompt)")
            continue
        if merged and merged[-1][0] == message.role:
            merged[-1][1].extend(message.parts)
        else:
            merged.append((message.role, list(message.parts)))
    rendered = []
    for role, parts in merged:
        if role == "user":
            # Tool results open the user turn that answers the tool calls.
            parts.sort(key=lambda p: not isinstance(p, ToolResultPart))
        blocks: list[dict[str, Any]] = []
        for part in parts:
            blocks.extend(_blocks(part, claude=claude))
        if blocks:
            rendered.append({"role": role, "content": blocks})
    return rendered


def _blocks(part: Part, *, claude: bool) -> list[dict[str, Any]]:
    if isinstance(part, TextPart):
        if not part.text:
            return []  # Bedrock refuses blank text blocks
        return [{"text": part.text}, dict(_CACHE_POINT)] if part.cache else [{"text": part.text}]
    if isinstance(part, ImagePart):
        if part.data is None:
            raise Untranslatable(
                "an image by URL", "Converse takes images as bytes (or from S3), not by URL"
            )
        fmt = _IMAGE_FORMATS.get(part.media_type.lower())
        if fmt is None:
            raise Untranslatable(
                f"a {part.media_type} image", "Converse takes png, jpeg, gif, webp"
            )
        return [{"image": {"format": fmt, "source": {"bytes": part.data}}}]
    if isinstance(part, DocumentPart):
        return [_document(part)]
    if isinstance(part, ThinkingPart):
        # Only Claude's own signed thinking goes back; other reasoning is the other model's.
        if not claude or not is_claude_thinking(part):
            return []
        text = {"text": part.text, "signature": part.signature}
        return [{"reasoningContent": {"reasoningText": text}}]
    if isinstance(part, ToolCallPart):
        use = {
            "toolUseId": safe_tool_id(part.id),
            "name": part.name,
            "input": tool_input(part.arguments),
        }
        return [{"toolUse": use}]
    result: dict[str, Any] = {
        "toolUseId": safe_tool_id(part.tool_call_id),
        "content": [{"text": part.content or "(no output)"}],
    }
    if part.is_error:
        result["status"] = "error"
    return [{"toolResult": result}]


def _document(part: DocumentPart) -> dict[str, Any]:
    if part.text is not None:
        data, fmt = base64.b64encode(part.text.encode()).decode(), "txt"
    elif part.data is not None:
        data = part.data
        fmt = _DOCUMENT_FORMATS.get(part.media_type.lower(), "")
        if not fmt:
            raise Untranslatable(f"a {part.media_type} document", "Converse has no such format")
    else:
        raise Untranslatable("a document by URL", "Converse takes documents as bytes, not by URL")
    # Bedrock allows letters, digits, spaces, hyphens, parentheses and brackets in a name.
    given = part.title or part.filename or "document"
    name = "".join(c if c.isalnum() or c in " -()[]" else " " for c in given).strip()[:200]
    return {"document": {"format": fmt, "name": name or "document", "source": {"bytes": data}}}


def _inference(
    request: ChatRequest,
    out: dict[str, Any],
    *,
    target: TargetModel | None,
    claude: bool,
    notes: list[str],
) -> dict[str, Any]:
    """The limits and sampling; Claude's thinking and top_k as model fields."""
    config: dict[str, Any] = {"maxTokens": request.max_tokens or DEFAULT_MAX_TOKENS}
    extra: dict[str, Any] = {}
    budget = thinking_budget(request.reasoning_effort)
    reasoning = target is None or target.reasoning
    if budget is not None and not (claude and reasoning):
        notes.append(f"reasoning effort {request.reasoning_effort} (the model does not think)")
        budget = None
    if budget is not None and ends_in_unthought_tool_use(request.messages):
        notes.append("thinking (the last tool call was made without Claude's thinking)")
        budget = None
    if request.tool_choice not in (None, "auto", "none"):
        budget = None  # Claude refuses thinking with a forced tool; the tool wins
    temperature, top_p = request.temperature, request.top_p
    if budget is not None:
        if config["maxTokens"] <= budget:
            config["maxTokens"] += budget
        extra["thinking"] = {"type": "enabled", "budget_tokens": budget}
        temperature = None
        top_p = top_p if top_p is not None and top_p >= 0.95 else None
    if temperature is not None:
        config["temperature"] = temperature
    if top_p is not None:
        config["topP"] = top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.top_k is not None:
        if claude:
            extra["top_k"] = request.top_k
        else:
            notes.append("top_k")
    if extra:
        out["additionalModelRequestFields"] = extra
    return config


def _tool_config(request: ChatRequest, notes: list[str]) -> dict[str, Any]:
    tools: list[dict[str, Any]] = [
        {
            "toolSpec": {
                "name": tool.name,
                **({"description": tool.description} if tool.description else {}),
                "inputSchema": {"json": tool.parameters},
            }
        }
        for tool in request.tools
    ]
    config: dict[str, Any] = {"tools": tools}
    choice = request.tool_choice
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "none":
        # The tools stay declared (earlier turns used them); Converse has no "none".
        notes.append("tool_choice none")
    elif choice is not None:
        config["toolChoice"] = {"tool": {"name": choice}}
    if request.parallel_tool_calls is False:
        notes.append("parallel_tool_calls false")
    return config
