"""A `generateContent` request body: parsed and validated from a client (system instruction,
contents, generation config), rendered for an upstream.
"""

from __future__ import annotations

from typing import Any, Literal

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_int,
    optional_number,
)
from llmgw_desktop.engine.gateway.dialects.gemini.content import (
    CallIds,
    parse_parts,
    render_parts,
    sign_first_call,
)
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.dialects.gemini.schema import json_schema
from llmgw_desktop.engine.gateway.dialects.gemini.tools import (
    parse_tool_choice,
    parse_tools,
    render_tool,
    render_tool_choice,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    Message,
    Part,
    ResponseFormat,
    TextPart,
    ToolCallPart,
)
from llmgw_desktop.engine.gateway.translation import TargetModel, Untranslatable, left_out_fields

__all__ = [
    "SYSTEM_NOTE_PREFIX",
    "parse_request",
    "parse_response_format",
    "parse_system",
    "parse_thinking",
    "render_config",
    "render_request",
]

_ROLES: dict[str, Literal["user", "assistant"]] = {
    "user": "user",
    "model": "assistant",
    "function": "user",
}


def parse_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    """A Gemini client's request body in neutral form; `model` comes from the URL.

    Raises:
        InvalidRequest: naming the field that is missing or malformed.
        Untranslatable: the request uses something no other dialect can carry.
    """
    if not model:
        raise InvalidRequest("model: required in the URL (models/{model}:generateContent)")
    body = expect_dict(body, "body")
    if field(body, "cachedContent"):
        raise Untranslatable("cachedContent", "the cached content is stored at Google")
    config = field(body, "generationConfig")
    config = {} if config is None else expect_dict(config, "generationConfig")
    count = field(config, "candidateCount")
    if count is not None and count != 1:
        raise Untranslatable(
            "generationConfig.candidateCount > 1", "only Gemini returns several candidates"
        )
    modalities = field(config, "responseModalities") or []
    if any(str(m).upper() not in ("TEXT", "MODALITY_UNSPECIFIED") for m in modalities):
        raise Untranslatable(
            "generationConfig.responseModalities", "other dialects answer in text only"
        )
    if field(config, "speechConfig"):
        raise Untranslatable("generationConfig.speechConfig", "other dialects answer in text")
    stop = field(config, "stopSequences")
    stop = (
        [stop]
        if isinstance(stop, str)
        else expect_list(stop or [], "generationConfig.stopSequences")
    )
    left_out = _left_out(body, config)
    return ChatRequest(
        model=model.removeprefix("models/"),
        messages=_parse_contents(field(body, "contents"), left_out),
        system=parse_system(field(body, "systemInstruction")),
        tools=parse_tools(field(body, "tools"), left_out),
        tool_choice=parse_tool_choice(field(body, "toolConfig")),
        max_tokens=optional_int(
            field(config, "maxOutputTokens"), "generationConfig.maxOutputTokens"
        ),
        temperature=optional_number(field(config, "temperature"), "generationConfig.temperature"),
        top_p=optional_number(field(config, "topP"), "generationConfig.topP"),
        top_k=optional_int(field(config, "topK"), "generationConfig.topK"),
        seed=optional_int(field(config, "seed"), "generationConfig.seed"),
        presence_penalty=optional_number(
            field(config, "presencePenalty"), "generationConfig.presencePenalty"
        ),
        frequency_penalty=optional_number(
            field(config, "frequencyPenalty"), "generationConfig.frequencyPenalty"
        ),
        stop=tuple(
            expect_str(s, f"generationConfig.stopSequences[{i}]") for i, s in enumerate(stop)
        ),
        # Streaming is chosen by the URL (`:streamGenerateContent`), which the front door
        # sets; Gemini streams always carry usage.
        stream_usage=True,
        reasoning_effort=parse_thinking(field(config, "thinkingConfig")),
        response_format=parse_response_format(config),
        left_out=tuple(left_out),
    )


def render_request(
    request: ChatRequest,
    *,
    target: TargetModel | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The body for a Gemini upstream (the model goes in the URL, not here). What Gemini
    cannot take is added to `notes`.

    Raises:
        InvalidRequest: a message cannot be said in Gemini (e.g. an orphan tool result).
    """
    notes = notes if notes is not None else []
    names = {p.id: p.name for m in request.messages for p in m.parts if isinstance(p, ToolCallPart)}
    contents: list[dict[str, Any]] = []
    for i, message in enumerate(request.messages):
        role = "model" if message.role == "assistant" else "user"
        message_parts = message.parts
        if message.role == "system":
            # Gemini has instructions only up front: a later one is said by the user side.
            notes.append("a mid-conversation system message (sent as user text)")
            message_parts = tuple(
                TextPart(f"{SYSTEM_NOTE_PREFIX}{p.text}")
                for p in message.parts
                if isinstance(p, TextPart)
            )
        try:
            parts = render_parts(message_parts, names, f"messages[{i}].parts", with_ids=False)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if not parts:
            continue
        if role == "model":
            sign_first_call(parts)
        if contents and contents[-1]["role"] == role:  # Gemini wants turns to alternate
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": p.text} for p in request.system]}
    reasoning = target is None or target.reasoning
    if config := render_config(request, reasoning=reasoning, notes=notes):
        body["generationConfig"] = config
    if request.parallel_tool_calls is False:
        notes.append("parallel_tool_calls false (Gemini has no switch for it)")
    if request.tools:
        body["tools"] = [{"functionDeclarations": [render_tool(t) for t in request.tools]}]
    if request.tool_choice:
        body["toolConfig"] = {"functionCallingConfig": render_tool_choice(request.tool_choice)}
    return body


# Top-level and generationConfig fields a translation carries; others are named as left out.
_HANDLED = frozenset(
    {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "model"}
)


_LEFT_OUT = {
    "safetySettings": "Gemini's safety filters",
    "labels": "Google's billing labels",
    "serviceTier": "Google's",
}


_CONFIG_HANDLED = frozenset(
    {
        "candidateCount",
        "stopSequences",
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "thinkingConfig",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseModalities",
        "speechConfig",
    }
)


# How a mid-conversation system message reads when it has to be said as user text.
SYSTEM_NOTE_PREFIX = "[system] "


def _left_out(body: dict[str, Any], config: dict[str, Any]) -> list[str]:
    camel = {_camel(k): v for k, v in body.items()}
    left_out = left_out_fields(camel, _HANDLED, _LEFT_OUT)
    in_config = {_camel(k): v for k, v in config.items()}
    left_out += [f"generationConfig.{k}" for k in left_out_fields(in_config, _CONFIG_HANDLED, {})]
    return left_out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def _parse_contents(raw: Any, left_out: list[str]) -> tuple[Message, ...]:
    if raw is None:
        raise InvalidRequest("contents: required")
    if not expect_list(raw, "contents"):
        raise InvalidRequest("contents: must not be empty")
    ids = CallIds()  # one for the whole conversation: results match calls of earlier turns
    messages: list[Message] = []
    for i, item in enumerate(raw):
        item = expect_dict(item, f"contents[{i}]")
        role = field(item, "role") or "user"
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidRequest(f"contents[{i}].role: expected 'user' or 'model', got {role!r}")
        raw_parts = field(item, "parts")
        if not raw_parts:
            raise InvalidRequest(f"contents[{i}].parts: required and must not be empty")
        parts: list[Part] = parse_parts(raw_parts, f"contents[{i}].parts", ids, left_out)
        if parts:
            messages.append(Message(role=_ROLES[role], parts=tuple(parts)))
    return tuple(messages)


_LEVELS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}


# Neutral effort -> thinkingBudget. Budgets, not levels: Gemini 2.5 rejects thinkingLevel and
# Gemini 3 still accepts budgets. 24576 is the largest budget every 2.5 model takes.
_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}


_LOW_BUDGET, _MEDIUM_BUDGET = 2048, 12288  # parse thresholds, so the budgets above round-trip


def parse_system(raw: Any) -> tuple[TextPart, ...]:
    """`systemInstruction` (Content, or the SDK's bare string) as neutral system text."""
    if raw is None:
        return ()
    if isinstance(raw, str):  # the SDK's shorthand, tolerated
        return (TextPart(raw),) if raw else ()
    raw = expect_dict(raw, "systemInstruction")
    texts = []
    for j, part in enumerate(expect_list(field(raw, "parts") or [], "systemInstruction.parts")):
        text = field(expect_dict(part, f"systemInstruction.parts[{j}]"), "text")
        texts.append(TextPart(expect_str(text, f"systemInstruction.parts[{j}].text")))
    return tuple(texts)


def parse_thinking(raw: Any) -> str | None:
    """`thinkingConfig` (a level, or a budget in tokens) as a neutral reasoning effort."""
    if raw is None:
        return None
    raw = expect_dict(raw, "generationConfig.thinkingConfig")
    level = field(raw, "thinkingLevel")
    if level is not None and level != "THINKING_LEVEL_UNSPECIFIED":
        if not isinstance(level, str) or level.lower() not in _LEVELS:
            raise InvalidRequest(
                f"generationConfig.thinkingConfig.thinkingLevel: unknown level {level!r}"
            )
        return _LEVELS[level.lower()]
    budget = optional_int(
        field(raw, "thinkingBudget"), "generationConfig.thinkingConfig.thinkingBudget"
    )
    if budget is None or budget == 0:  # 0 switches thinking off
        return None
    if budget < 0:  # -1: the model decides how much
        return "medium"
    return "low" if budget <= _LOW_BUDGET else "medium" if budget <= _MEDIUM_BUDGET else "high"


def parse_response_format(config: dict[str, Any]) -> ResponseFormat | None:
    """Structured output from `responseMimeType` and a schema (OpenAPI-style `responseSchema`,
    or `responseJsonSchema`)."""
    mime = field(config, "responseMimeType")
    schema = field(config, "responseJsonSchema")
    if schema is None and (raw := field(config, "responseSchema")) is not None:
        schema = json_schema(expect_dict(raw, "generationConfig.responseSchema"))
    if schema is not None:
        return ResponseFormat(
            "json_schema", schema=expect_dict(schema, "generationConfig.responseJsonSchema")
        )
    if mime == "application/json":
        return ResponseFormat("json_object")
    return None


def render_config(
    request: ChatRequest, *, reasoning: bool = True, notes: list[str] | None = None
) -> dict[str, Any]:
    """The `generationConfig` for a neutral request (empty when nothing is set); `reasoning`
    says whether the model thinks, and what is left out is added to `notes`."""
    notes = notes if notes is not None else []
    config: dict[str, Any] = {}
    for key, value in (
        ("topK", request.top_k),
        ("seed", request.seed),
        ("presencePenalty", request.presence_penalty),
        ("frequencyPenalty", request.frequency_penalty),
    ):
        if value is not None:
            config[key] = value
    fmt = request.response_format
    if fmt is not None:
        config["responseMimeType"] = "application/json"
        if fmt.kind == "json_schema" and fmt.schema is not None:
            config["responseJsonSchema"] = fmt.schema
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    budget = _BUDGETS.get(request.reasoning_effort or "")
    if budget is not None and not reasoning:
        notes.append(f"reasoning effort {request.reasoning_effort} (the model does not think)")
        budget = None
    if budget is not None:
        # The client asked for reasoning, so ask Gemini to show its thought summaries too.
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": budget > 0}
    return config
