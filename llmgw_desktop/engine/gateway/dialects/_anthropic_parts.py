"""Anthropic Messages content blocks, tools, thinking and usage, to and from the neutral form.

The private half of `anthropic.py`: request parsing (with field-path errors), block rendering,
and the small mappings (stop reasons, tool choice, thinking budget) both directions share.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects._shared import SKIP_SIGNATURE
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    typed_field,
)
from llmgw_desktop.engine.gateway.ir import (
    MAX_TOKEN_COUNT,
    ChatRequest,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    ResponseFormat,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable

# Sent as `max_tokens` when the neutral request has none: Anthropic requires the field.
DEFAULT_MAX_TOKENS = 4096
# Thinking budgets rendered for each reasoning effort, and the upper bounds parsed back.
EFFORT_BUDGETS = {"low": 2048, "medium": 8192, "high": 24576}
LOW_BUDGET_MAX = 2048
MEDIUM_BUDGET_MAX = 8192
# Efforts other dialects know, folded onto ours ("none" means no thinking at all).
_EFFORT_ALIASES = {"minimal": "low", "xhigh": "high", "max": "high"}

_STOP_IN: dict[str, StopReason] = {
    **{r: r for r in ("end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal")},
    # A server-tool loop paused: the turn is over as far as a neutral client can tell.
    "pause_turn": "end_turn",
    "model_context_window_exceeded": "max_tokens",
}
# Anthropic has no "error" stop reason; the error itself travels separately.
_STOP_OUT: dict[StopReason, str] = {"error": "end_turn"}

_TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_EPHEMERAL = {"type": "ephemeral"}


def stop_reason_in(value: Any) -> StopReason:
    """Anthropic's stop reason in neutral form (unknown or missing means a normal end)."""
    return _STOP_IN.get(value, "end_turn") if isinstance(value, str) else "end_turn"


def stop_reason_out(value: StopReason) -> str:
    return _STOP_OUT.get(value, value)


# -- parsing requests ------------------------------------------------------------------------


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


def parse_tool_choice(value: Any) -> str | None:
    if value is None:
        return None
    value = expect_dict(value, "tool_choice")
    kind = value.get("type")
    if kind == "tool":
        return str(typed_field(value, "name", "tool_choice.", str, "a string", required=True))
    choice = (
        {"auto": "auto", "any": "required", "none": "none"}.get(kind)
        if isinstance(kind, str)
        else None
    )
    if choice is None:
        raise InvalidRequest("tool_choice.type: expected 'auto', 'any', 'none' or 'tool'")
    return choice


def parse_thinking(body: dict[str, Any]) -> str | None:
    """`thinking` as a neutral reasoning effort (budget thresholds: 2048 low, 8192 medium)."""
    value = body.get("thinking")
    if value is None:
        return None
    value = expect_dict(value, "thinking")
    kind = value.get("type")
    if kind == "disabled":
        return None
    if kind == "enabled":
        budget = typed_field(value, "budget_tokens", "thinking.", int, "an integer", required=True)
        if budget <= LOW_BUDGET_MAX:
            return "low"
        return "medium" if budget <= MEDIUM_BUDGET_MAX else "high"
    if kind in ("adaptive", "between_tools"):
        # The model picks its own budget; `output_config.effort` says how hard to try.
        config = body.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        effort = _EFFORT_ALIASES.get(effort, effort) if isinstance(effort, str) else None
        return effort if effort in EFFORT_BUDGETS else "medium"
    raise InvalidRequest("thinking.type: expected 'enabled', 'adaptive' or 'disabled'")


def parse_output_format(body: dict[str, Any]) -> ResponseFormat | None:
    """Structured output: `output_config.format`, or the beta's top-level `output_format`."""
    config = body.get("output_config")
    value = config.get("format") if isinstance(config, dict) else None
    path = "output_config.format"
    if value is None:
        value, path = body.get("output_format"), "output_format"
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        raise InvalidRequest(f'{path}: expected {{"type": "json_schema", "schema": ...}}')
    schema = typed_field(value, "schema", f"{path}.", dict, "a JSON Schema object", required=True)
    return ResponseFormat("json_schema", schema=schema)


# -- rendering ---------------------------------------------------------------------------------


def thinking_budget(effort: str | None) -> int | None:
    """The budget to ask for, or None for no thinking."""
    if effort is None or effort == "none":
        return None
    return EFFORT_BUDGETS.get(_EFFORT_ALIASES.get(effort, effort), EFFORT_BUDGETS["medium"])


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


# -- answers -----------------------------------------------------------------------------------


def upstream_error(body: dict[str, Any]) -> str:
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    return f"upstream error: {error.get('type', 'unknown')}: {error.get('message', '')}"


def response_part(block: Any) -> Part | None:
    """A content block of an answer; block kinds with no neutral form are skipped."""
    if not isinstance(block, dict):
        raise ValueError("not an Anthropic message: content blocks must be objects")
    kind = block.get("type")
    if kind == "text":
        return TextPart(str(block.get("text") or ""))
    if kind == "thinking":
        return ThinkingPart(str(block.get("thinking") or ""), block.get("signature") or None)
    if kind == "tool_use":
        arguments = block.get("input")
        return ToolCallPart(
            id=str(block.get("id") or ""),
            name=str(block.get("name") or ""),
            arguments=json.dumps(
                arguments if isinstance(arguments, dict) else {}, ensure_ascii=False
            ),
        )
    return None


def response_block(part: Part) -> dict[str, Any] | None:
    """A content block of an answer; parts an answer cannot hold give None."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ThinkingPart):
        return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": tool_input(part.arguments),
        }
    return None


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


def render_tool_choice(choice: str) -> dict[str, Any]:
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


def render_sampling(
    request: ChatRequest, out: dict[str, Any], *, reasoning: bool, notes: list[str]
) -> None:
    """max_tokens, thinking and sampling knobs, reconciled with thinking's constraints.
    `reasoning` says whether the target model thinks at all."""
    max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
    budget = thinking_budget(request.reasoning_effort)
    if budget is not None and not reasoning:
        notes.append(f"reasoning effort {request.reasoning_effort} (the model does not think)")
        budget = None
    if budget is not None and ends_in_unthought_tool_use(request.messages):
        notes.append("thinking (the last tool call was made without Anthropic's thinking)")
        budget = None
    # Anthropic refuses thinking when the tool choice forces a tool; the forced tool wins.
    if request.tool_choice not in (None, "auto", "none"):
        budget = None
    temperature, top_p = request.temperature, request.top_p
    if budget is not None:
        # The budget is part of max_tokens: keep the client's room for the visible answer.
        if max_tokens <= budget:
            max_tokens += budget
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
        # With thinking on, Anthropic only accepts temperature 1 and top_p >= 0.95.
        temperature = None
        top_p = top_p if top_p is not None and top_p >= 0.95 else None
    out["max_tokens"] = max_tokens
    if temperature is not None:
        out["temperature"] = temperature
    if top_p is not None:
        out["top_p"] = top_p
    if request.top_k is not None:
        out["top_k"] = request.top_k
    notes.extend(
        name
        for name, value in (
            ("seed", request.seed),
            ("presence_penalty", request.presence_penalty),
            ("frequency_penalty", request.frequency_penalty),
        )
        if value is not None
    )


# -- errors ------------------------------------------------------------------------------------

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_KNOWN_ERROR_TYPES = {*_ERROR_TYPES.values(), "api_error"}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """The error envelope, typed by HTTP status (an Anthropic type given as code is kept)."""
    kind = code if code in _KNOWN_ERROR_TYPES else _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# -- usage -------------------------------------------------------------------------------------


def _count(value: Any) -> int:
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 <= value <= MAX_TOKEN_COUNT else 0


def parse_usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("output_tokens_details")
    return Usage(
        input_tokens=_count(raw.get("input_tokens")),
        output_tokens=_count(raw.get("output_tokens")),
        cache_read_tokens=_count(raw.get("cache_read_input_tokens")),
        cache_write_tokens=_count(raw.get("cache_creation_input_tokens")),
        reasoning_tokens=_count(details.get("thinking_tokens")) if isinstance(details, dict) else 0,
    )


def merge_usage(start: Usage, final: Usage) -> Usage:
    """The final usage of a stream: output from the end, input and cache from either end."""
    return Usage(
        input_tokens=max(start.input_tokens, final.input_tokens),
        output_tokens=final.output_tokens or start.output_tokens,
        cache_read_tokens=max(start.cache_read_tokens, final.cache_read_tokens),
        cache_write_tokens=max(start.cache_write_tokens, final.cache_write_tokens),
        reasoning_tokens=final.reasoning_tokens or start.reasoning_tokens,
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out
