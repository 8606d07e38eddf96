"""A Messages request body: parsed and validated from a client, rendered for an upstream, with the
thinking budget and sampling settings both ways.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.anthropic.messages import (
    ends_in_unthought_tool_use,
    parse_message,
    parse_system,
    render_messages,
    text_block,
)
from llmgw_desktop.engine.gateway.dialects.anthropic.tools import (
    parse_tool_choice,
    parse_tools,
    render_tool,
    render_tool_choice,
)
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    typed_field,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ResponseFormat,
)
from llmgw_desktop.engine.gateway.translation import TargetModel, left_out_fields

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "EFFORT_BUDGETS",
    "JSON_OBJECT_INSTRUCTION",
    "LOW_BUDGET_MAX",
    "MEDIUM_BUDGET_MAX",
    "parse_output_format",
    "parse_request",
    "parse_thinking",
    "render_request",
    "render_sampling",
    "thinking_budget",
]

# Top-level fields the translation carries, and why the others it knows are left out.
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "max_tokens",
        "stop_sequences",
        "metadata",
        "temperature",
        "top_p",
        "top_k",
        "stream",
        "thinking",
        "output_config",
        "output_format",
    }
)


_LEFT_OUT = {
    "context_management": "context editing is Anthropic's",
    "cache_control": "prompt caching is Anthropic's",
    "container": "Anthropic's code-execution container",
    "mcp_servers": "Anthropic's MCP connector",
    "service_tier": "Anthropic's",
    "inference_geo": "Anthropic's",
    "speed": "Anthropic's",
}


# What a client asking for "any JSON object" is told when the upstream takes only schemas.
JSON_OBJECT_INSTRUCTION = "Answer with one JSON object and nothing else."


def parse_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    """A client's Messages request in neutral form, for an upstream of another dialect.

    Raises:
        InvalidRequest: naming the field that is missing or malformed.
        Untranslatable: the request uses something no other dialect can carry.
    """
    model = model or typed_field(body, "model", "", str, "a string", required=True)
    raw_messages = typed_field(body, "messages", "", list, "a list of messages", required=True)
    if not raw_messages:
        raise InvalidRequest("messages: at least one message is required")
    # Required by Anthropic, but count_tokens takes none; a missing one is no obstacle to
    # another dialect (a limit is only rendered where one is needed).
    max_tokens = typed_field(body, "max_tokens", "", int, "an integer")
    if max_tokens is not None and max_tokens < 1:
        raise InvalidRequest("max_tokens: expected a positive integer")
    stop = typed_field(body, "stop_sequences", "", list, "a list of strings") or []
    if not all(isinstance(s, str) for s in stop):
        raise InvalidRequest("stop_sequences: expected a list of strings")
    metadata = typed_field(body, "metadata", "", dict, "an object") or {}
    temperature = typed_field(body, "temperature", "", (int, float), "a number")
    top_p = typed_field(body, "top_p", "", (int, float), "a number")
    stream = bool(typed_field(body, "stream", "", bool, "a boolean"))
    left_out = left_out_fields(body, _HANDLED, _LEFT_OUT)
    messages = tuple(parse_message(i, m, left_out) for i, m in enumerate(raw_messages))
    tool_choice = body.get("tool_choice")
    return ChatRequest(
        model=str(model),
        messages=messages,
        system=parse_system(body.get("system")),
        tools=parse_tools(body.get("tools"), left_out),
        tool_choice=parse_tool_choice(tool_choice),
        max_tokens=max_tokens,
        temperature=None if temperature is None else float(temperature),
        top_p=None if top_p is None else float(top_p),
        top_k=typed_field(body, "top_k", "", int, "an integer"),
        stop=tuple(stop),
        stream=stream,
        # Anthropic streams always carry usage, so whatever serves this must ask for it.
        stream_usage=stream,
        user=typed_field(metadata, "user_id", "metadata.", str, "a string"),
        reasoning_effort=parse_thinking(body),
        response_format=parse_output_format(body),
        parallel_tool_calls=(
            False
            if isinstance(tool_choice, dict) and tool_choice.get("disable_parallel_tool_use")
            else None
        ),
        left_out=tuple(left_out),
    )


def render_request(
    request: ChatRequest,
    *,
    target: TargetModel | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The body for an Anthropic upstream; what it cannot take is added to `notes`."""
    notes = notes if notes is not None else []
    out: dict[str, Any] = {"model": request.model}
    system = [text_block(p) for p in request.system if p.text]
    fmt = request.response_format
    if fmt is not None and fmt.kind == "json_object":
        # Anthropic constrains output only to a schema; any object is asked for in words.
        system.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
        notes.append("response_format json_object (asked for in the system prompt)")
    if system:
        out["system"] = system
    out["messages"] = render_messages(request.messages)
    render_sampling(request, out, reasoning=target is None or target.reasoning, notes=notes)
    if request.stop:
        out["stop_sequences"] = list(request.stop)
    if request.tools:
        out["tools"] = [render_tool(t) for t in request.tools]
    if request.tool_choice is not None or request.parallel_tool_calls is False:
        choice = render_tool_choice(request.tool_choice or "auto")
        if request.parallel_tool_calls is False and choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
        out["tool_choice"] = choice
    if fmt is not None and fmt.kind == "json_schema" and fmt.schema is not None:
        out["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
    if request.user:
        out["metadata"] = {"user_id": request.user}
    if request.stream:
        out["stream"] = True
    return out


# Sent as `max_tokens` when the neutral request has none: Anthropic requires the field.
DEFAULT_MAX_TOKENS = 4096


# Thinking budgets rendered for each reasoning effort, and the upper bounds parsed back.
EFFORT_BUDGETS = {"low": 2048, "medium": 8192, "high": 24576}


LOW_BUDGET_MAX = 2048


MEDIUM_BUDGET_MAX = 8192


# Efforts other dialects know, folded onto ours ("none" means no thinking at all).
_EFFORT_ALIASES = {"minimal": "low", "xhigh": "high", "max": "high"}


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


def thinking_budget(effort: str | None) -> int | None:
    """The budget to ask for, or None for no thinking."""
    if effort is None or effort == "none":
        return None
    return EFFORT_BUDGETS.get(_EFFORT_ALIASES.get(effort, effort), EFFORT_BUDGETS["medium"])


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
