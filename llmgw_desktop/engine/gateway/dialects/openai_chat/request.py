"""A Chat Completions request body: parsed and validated from a client, rendered for an upstream."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_flag,
    optional_int,
    optional_number,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.messages import (
    parse_messages,
    render_assistant,
    render_user,
)
from llmgw_desktop.engine.gateway.dialects.openai_chat.tools import (
    TOOL_CHOICES,
    legacy_function_call,
    legacy_functions,
    parse_tool_choice,
    parse_tools,
    render_tool,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ResponseFormat,
    TextPart,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable, left_out_fields

__all__ = ["OPENAI_EFFORTS", "parse_request", "render_request"]

# The neutral form knows low/medium/high; OpenAI's finer levels fold onto the nearest one, and
# "none" means the client asked for no reasoning. Chat's `reasoning_effort` and Responses'
# `reasoning.effort` take the same words.
OPENAI_EFFORTS: dict[str, str | None] = {
    "none": None,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}


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
    if effort not in OPENAI_EFFORTS:
        raise InvalidRequest(f"reasoning_effort: expected one of {', '.join(OPENAI_EFFORTS)}")
    return OPENAI_EFFORTS[effort]


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
    system, messages = parse_messages(body.get("messages"), left_out)
    if not messages:
        raise InvalidRequest("messages: expected at least one user or assistant message")
    stream_options = body.get("stream_options")
    include_usage = None
    if stream_options is not None:
        include_usage = expect_dict(stream_options, "stream_options").get("include_usage")
    raw_tools = body.get("tools") or legacy_functions(body.get("functions") or [])
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls")
    return ChatRequest(
        model=name,
        messages=messages,
        system=system,
        tools=parse_tools(raw_tools or [], left_out),
        tool_choice=(
            parse_tool_choice(choice, left_out)
            if choice is not None
            else legacy_function_call(body.get("function_call"))
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
            messages.extend(render_user(message.parts, notes))
        elif message.role == "system":
            text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
            messages.append({"role": "system", "content": text})
        else:
            messages.append(render_assistant(message.parts))
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
        body["tools"] = [render_tool(t) for t in request.tools]
    if request.tool_choice in TOOL_CHOICES:
        body["tool_choice"] = request.tool_choice
    elif request.tool_choice:
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
    if request.stream:
        body["stream"] = True
        # Always ask: the gateway needs the final usage whatever the client asked for, and
        # each client's encoder decides whether to pass it on.
        body["stream_options"] = {"include_usage": True}
    return body
