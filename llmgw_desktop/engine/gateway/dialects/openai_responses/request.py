"""OpenAI Responses requests to and from the neutral form (for an upstream of another dialect;
a Responses client on a Responses upstream is forwarded untouched and never comes here).

What needs care, as Codex sends it:
- tools grouped in a `namespace` are offered flat, as `<namespace>__<name>`, and a call of one
  goes back to the client with its namespace (`ir.ToolDef`; see `tools.py`);
- `custom` (freeform) tools become one-string functions elsewhere; their calls go back as
  `custom_tool_call` items with the raw input;
- hosted tools (`web_search`, `tool_search`, `file_search`, ...) and the state OpenAI keeps
  (`store`, `include`, encrypted reasoning) mean nothing to another provider: left out, named;
- pointers to state kept at OpenAI (`previous_response_id`, `conversation`, `item_reference`,
  compaction items) cannot be resolved by a stateless translator: refused, named.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    optional_number,
    optional_positive_int,
    optional_str,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.request import OPENAI_EFFORTS
from llmgw_desktop.engine.gateway.dialects.openai_responses.input_items import (
    parse_input,
    render_input,
)
from llmgw_desktop.engine.gateway.dialects.openai_responses.tools import (
    parse_tool_choice,
    parse_tools,
    render_tool_choice,
    render_tools,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ResponseFormat,
    TextPart,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable, left_out_fields

__all__ = ["parse_request", "render_request"]


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
    tools = parse_tools(body.get("tools"), left_out)
    namespaced: dict[tuple[str | None, str | None], str] = {
        (t.namespace, t.local_name): t.name for t in tools if t.namespace
    }
    messages = parse_input(body.get("input"), system, namespaced, left_out)
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
        tool_choice=parse_tool_choice(body.get("tool_choice"), left_out),
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


def _parse_reasoning(raw: Any, left_out: list[str]) -> str | None:
    if raw is None:
        return None
    raw = expect_dict(raw, "reasoning")
    if raw.get("summary") or raw.get("generate_summary"):
        left_out.append("reasoning.summary")
    effort = raw.get("effort")
    if effort is None:
        return None
    if not isinstance(effort, str) or effort not in OPENAI_EFFORTS:
        raise InvalidRequest(f"reasoning.effort: expected one of {', '.join(OPENAI_EFFORTS)}")
    return OPENAI_EFFORTS[effort]


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
    body = {"model": request.model, "input": render_input(request.messages)}
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
