"""Messages content blocks (text, images, documents, tool calls and results, thinking) between a
request's `system` and `messages` and the neutral form, both ways.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    typed_field,
)
from llmgw_desktop.engine.gateway.dialects.thought_signatures import SKIP_SIGNATURE
from llmgw_desktop.engine.gateway.ir import (
    DocumentPart,
    ImagePart,
    Message,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable

__all__ = [
    "ends_in_unthought_tool_use",
    "is_claude_thinking",
    "parse_message",
    "parse_system",
    "render_messages",
    "safe_tool_id",
    "text_block",
    "tool_input",
]

_TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


_EPHEMERAL = {"type": "ephemeral"}


def _block(value: Any, path: str) -> tuple[dict[str, Any], str]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}: expected a content block object")
    return value, typed_field(value, "type", f"{path}.", str, "a string", required=True)


def parse_system(value: Any) -> tuple[TextPart, ...]:
    """`system` as a string or a list of text blocks (cache breakpoints kept)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (TextPart(value),) if value else ()
    if not isinstance(value, list):
        raise InvalidRequest("system: expected a string or a list of text blocks")
    parts = []
    for i, raw in enumerate(value):
        block, kind = _block(raw, f"system[{i}]")
        if kind != "text":
            raise InvalidRequest(f"system[{i}].type: expected 'text'")
        text = typed_field(block, "text", f"system[{i}].", str, "a string", required=True)
        parts.append(TextPart(text, cache=bool(block.get("cache_control"))))
    return tuple(parts)


def parse_message(i: int, raw: Any, left_out: list[str]) -> Message:
    """One entry of `messages`. A `system` message mid-conversation keeps its place; blocks that
    only mean something to Anthropic are named in `left_out`.

    Raises:
        InvalidRequest: the message is malformed (named by its path).
        Untranslatable: it holds a block no other dialect can carry.
    """
    path = f"messages[{i}]"
    raw = expect_dict(raw, path)
    role = raw.get("role")
    if role not in ("user", "assistant", "system"):
        raise InvalidRequest(f"{path}.role: expected 'user', 'assistant' or 'system'")
    content = raw.get("content")
    if isinstance(content, str):
        return Message(role, (TextPart(content),))
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}.content: expected a string or a list of content blocks")
    parts: list[Part] = []
    for j, block in enumerate(content):
        parts.extend(_parse_block(block, f"{path}.content[{j}]", left_out))
    if role == "system" and not all(isinstance(p, TextPart) for p in parts):
        raise InvalidRequest(f"{path}.content: a system message holds text blocks only")
    return Message(role, tuple(parts))


# Blocks that record what Anthropic's own server tools did: another provider cannot use them.
_SERVER_BLOCKS = (
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
)


def _parse_block(raw: Any, path: str, left_out: list[str]) -> list[Part]:
    block, kind = _block(raw, path)
    at = f"{path}."
    if block.get("citations"):
        left_out.append("citations")
    if kind == "text":
        text = typed_field(block, "text", at, str, "a string", required=True)
        return [TextPart(text, cache=bool(block.get("cache_control")))]
    if kind == "image":
        return [_parse_image(block, path)]
    if kind == "document":
        return [_parse_document(block, path)]
    if kind == "search_result":
        return [_search_result_text(block, path)]
    if kind == "tool_use":
        arguments = typed_field(block, "input", at, dict, "an object")
        return [
            ToolCallPart(
                id=typed_field(block, "id", at, str, "a string", required=True),
                name=typed_field(block, "name", at, str, "a string", required=True),
                arguments=json.dumps(arguments or {}, ensure_ascii=False),
            )
        ]
    if kind == "tool_result":
        return _parse_tool_result(block, path, left_out)
    if kind == "thinking":
        return [
            ThinkingPart(
                text=typed_field(block, "thinking", at, str, "a string", required=True),
                signature=typed_field(block, "signature", at, str, "a string"),
            )
        ]
    if kind == "redacted_thinking":
        left_out.append("redacted_thinking (readable by Claude only)")
        return []
    if kind in _SERVER_BLOCKS:
        left_out.append(f"{kind} blocks (Anthropic's server tools)")
        return []
    raise Untranslatable(
        f"content block type {kind!r}", "the gateway knows no equivalent for it", param=path
    )


def _source_url(source: dict[str, Any], at: str) -> str:
    return str(typed_field(source, "url", at, str, "a string", required=True))


def _parse_image(block: dict[str, Any], path: str) -> ImagePart:
    source = typed_field(block, "source", f"{path}.", dict, "an object", required=True)
    at = f"{path}.source."
    kind = typed_field(source, "type", at, str, "a string", required=True)
    if kind == "base64":
        return ImagePart(
            media_type=typed_field(source, "media_type", at, str, "a string", required=True),
            data=typed_field(source, "data", at, str, "a string", required=True),
        )
    if kind == "url":
        return ImagePart(url=_source_url(source, at))
    if kind == "file":
        raise Untranslatable("an image by file_id", "Anthropic's Files API is Anthropic's own")
    raise InvalidRequest(f"{at}type: expected 'base64', 'url' or 'file'")


def _parse_document(block: dict[str, Any], path: str) -> DocumentPart:
    source = typed_field(block, "source", f"{path}.", dict, "an object", required=True)
    at = f"{path}.source."
    kind = typed_field(source, "type", at, str, "a string", required=True)
    title = typed_field(block, "title", f"{path}.", str, "a string")
    if kind == "base64":
        return DocumentPart(
            media_type=typed_field(source, "media_type", at, str, "a string", required=True),
            data=typed_field(source, "data", at, str, "a string", required=True),
            title=title,
        )
    if kind == "url":
        return DocumentPart(url=_source_url(source, at), title=title)
    if kind == "text":
        text = typed_field(source, "data", at, str, "a string", required=True)
        return DocumentPart(media_type="text/plain", text=text, title=title)
    if kind == "content":
        inner = typed_field(source, "content", at, (str, list), "a string or a list of blocks")
        if isinstance(inner, str):
            return DocumentPart(media_type="text/plain", text=inner, title=title)
        texts = [b.get("text") for b in inner if isinstance(b, dict) and b.get("type") == "text"]
        text = "\n".join(t for t in texts if isinstance(t, str))
        return DocumentPart(media_type="text/plain", text=text, title=title)
    if kind == "file":
        raise Untranslatable("a document by file_id", "Anthropic's Files API is Anthropic's own")
    raise InvalidRequest(f"{at}type: expected 'base64', 'url', 'text', 'content' or 'file'")


def _search_result_text(block: dict[str, Any], path: str) -> TextPart:
    """A search result a client supplies: its title, source and text, as plain text."""
    at = f"{path}."
    title = typed_field(block, "title", at, str, "a string") or ""
    source = typed_field(block, "source", at, str, "a string") or ""
    content = block.get("content")
    texts = []
    if isinstance(content, list):
        texts = [
            b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        ]
    head = " - ".join(x for x in (title, source) if x)
    return TextPart("\n".join([f"[search result] {head}".strip(), *texts]))


def _parse_tool_result(block: dict[str, Any], path: str, left_out: list[str]) -> list[Part]:
    at = f"{path}."
    tool_call_id = typed_field(block, "tool_use_id", at, str, "a string", required=True)
    is_error = bool(typed_field(block, "is_error", at, bool, "a boolean"))
    content = block.get("content")
    texts: list[str] = []
    # The neutral result is text only: images and documents a tool returned follow it as
    # their own parts, so the model still sees them.
    attached: list[Part] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for k, raw in enumerate(content):
            inner = _parse_block(raw, f"{path}.content[{k}]", left_out)
            for part in inner:
                if isinstance(part, TextPart):
                    texts.append(part.text)
                elif isinstance(part, ImagePart | DocumentPart):
                    attached.append(part)
                else:
                    raise InvalidRequest(
                        f"{path}.content[{k}].type: a tool result holds text, images and documents"
                    )
    elif content is not None:
        raise InvalidRequest(f"{path}.content: expected a string or a list of content blocks")
    result = ToolResultPart(tool_call_id=tool_call_id, content="\n".join(texts), is_error=is_error)
    return [result, *attached]


def text_block(part: TextPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache:
        block["cache_control"] = dict(_EPHEMERAL)
    return block


def tool_input(arguments: str) -> dict[str, Any]:
    """Arguments JSON text as the object Anthropic wants; unparsable text becomes {}."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _request_block(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        # Anthropic rejects empty text blocks.
        return text_block(part) if part.text else None
    if isinstance(part, ImagePart):
        if part.data is not None:
            source = {"type": "base64", "media_type": part.media_type, "data": part.data}
        else:
            source = {"type": "url", "url": part.url or ""}
        return {"type": "image", "source": source}
    if isinstance(part, DocumentPart):
        return _document_block(part)
    if isinstance(part, ThinkingPart):
        # Anthropic rejects thinking it did not sign: unsigned thinking, and the empty signed
        # parts that carry another vendor's signature (Gemini's), are left out.
        if not is_claude_thinking(part):
            return None
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_use",
            "id": safe_tool_id(part.id),
            "name": part.name,
            "input": tool_input(part.arguments),
        }
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": safe_tool_id(part.tool_call_id)}
    if part.content:
        block["content"] = part.content
    if part.is_error:
        block["is_error"] = True
    return block


def _document_block(part: DocumentPart) -> dict[str, Any]:
    source: dict[str, Any]
    if part.text is not None:
        source = {"type": "text", "media_type": "text/plain", "data": part.text}
    elif part.data is not None:
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    else:
        source = {"type": "url", "url": part.url or ""}
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.title or part.filename:
        block["title"] = part.title or part.filename
    return block


def is_claude_thinking(part: Part) -> bool:
    """Whether a thinking part can go back to Anthropic: text with a signature that is not a
    placeholder (Gemini's skip value)."""
    return (
        isinstance(part, ThinkingPart)
        and bool(part.text)
        and bool(part.signature)
        and part.signature != SKIP_SIGNATURE
    )


def ends_in_unthought_tool_use(messages: tuple[Message, ...]) -> bool:
    """Whether the last assistant turn calls a tool without a thinking block Anthropic can
    read: with thinking on, Anthropic refuses such a history (another model made that call)."""
    for message in reversed(messages):
        if message.role == "assistant":
            calls = any(isinstance(p, ToolCallPart) for p in message.parts)
            return calls and not any(is_claude_thinking(p) for p in message.parts)
    return False


def safe_tool_id(value: str) -> str:
    """Anthropic tool ids match [A-Za-z0-9_-]+; others' ids are mapped the same way both times."""
    return _TOOL_ID_UNSAFE.sub("_", value)


def render_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages with same-role neighbours merged (Anthropic requires alternation); a system
    message keeps its place in the conversation."""
    merged: list[tuple[str, list[Part]]] = []
    for message in messages:
        if merged and merged[-1][0] == message.role and message.role != "system":
            merged[-1][1].extend(message.parts)
        else:
            merged.append((message.role, list(message.parts)))
    rendered = []
    for role, parts in merged:
        if role == "user":
            # Tool results must open the user turn that answers the tool calls.
            parts.sort(key=lambda p: not isinstance(p, ToolResultPart))
        blocks = [b for b in map(_request_block, parts) if b is not None]
        if blocks:
            rendered.append({"role": role, "content": blocks})
    return rendered
