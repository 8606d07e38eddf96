"""Pieces of the Gemini dialect: parts, tool ids, usage, finish reasons, statuses, schemas,
and the request settings (system, tools, tool choice, generation config).

`gemini.py` assembles requests, answers and streams from these. Everything is pure.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects._shared import (
    SKIP_SIGNATURE,
    custom_tool_description,
    function_parameters,
)
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_int,
)
from llmgw_desktop.engine.gateway.ir import (
    MAX_TOKEN_COUNT,
    ChatRequest,
    DocumentPart,
    ImagePart,
    Part,
    ResponseFormat,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    Usage,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable

# Neutral stop reason -> Gemini finishReason. Gemini says STOP for tool calls and stop strings.
FINISH_REASONS: dict[StopReason, str] = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",
    "max_tokens": "MAX_TOKENS",
    "refusal": "SAFETY",
    "error": "OTHER",
}
_REFUSALS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "LANGUAGE",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)
_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_HUMP = re.compile(r"(?<!^)(?=[A-Z])")
_SCHEMA_SUBSCHEMAS = frozenset({"items", "anyOf", "oneOf", "allOf", "not", "additionalProperties"})
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions"})
_SCHEMA_DROPPED = frozenset({"propertyOrdering", "example"})  # no JSON Schema meaning
_MODES = {"AUTO": "auto", "VALIDATED": "auto", "ANY": "required", "NONE": "none"}
_LEVELS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
# Neutral effort -> thinkingBudget. Budgets, not levels: Gemini 2.5 rejects thinkingLevel and
# Gemini 3 still accepts budgets. 24576 is the largest budget every 2.5 model takes.
_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}
_LOW_BUDGET, _MEDIUM_BUDGET = 2048, 12288  # parse thresholds, so the budgets above round-trip


def field(obj: Mapping[str, Any], camel: str) -> Any:
    """`obj[camel]`, else its snake_case spelling: the genai SDK sends some keys each way."""
    if camel in obj:
        return obj[camel]
    return obj.get(_HUMP.sub("_", camel).lower())


class CallIds:
    """Tool call ids for one conversation or answer.

    Gemini may omit ids and matches results to calls by function name, in order, so a missing
    id is made up deterministically (`call_<name>_<n>`) and a result without an id takes the
    oldest unanswered call of its name.
    """

    def __init__(self) -> None:
        self._count = 0
        self._unanswered: defaultdict[str, deque[str]] = defaultdict(deque)

    def _next(self, name: str) -> str:
        call_id = f"call_{name}_{self._count}"
        self._count += 1
        return call_id

    def call(self, name: str, given: Any) -> str:
        call_id = given if isinstance(given, str) and given else self._next(name)
        self._unanswered[name].append(call_id)
        return call_id

    def result(self, name: str, given: Any) -> str:
        unanswered = self._unanswered[name]
        if isinstance(given, str) and given:
            if given in unanswered:
                unanswered.remove(given)
            return given
        return unanswered.popleft() if unanswered else self._next(name)


# -- parts: Gemini -> neutral ----------------------------------------------------------------


def parse_parts(raw: Any, path: str, ids: CallIds, left_out: list[str] | None = None) -> list[Part]:
    """Gemini `parts` as neutral parts.

    A thought signature on a non-thought part (Gemini puts them on function calls and text)
    travels as an empty, signed ThinkingPart just before that part; `render_parts` puts it back.

    Raises:
        InvalidRequest: naming the malformed part.
    """
    parts: list[Part] = []
    for j, item in enumerate(expect_list(raw, path)):
        where = f"{path}[{j}]"
        item = expect_dict(item, where)
        signature = field(item, "thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        if field(item, "thought") is True:
            text = field(item, "text")
            text = "" if text is None else expect_str(text, f"{where}.text")
            if text or signature:
                parts.append(ThinkingPart(text=text, signature=signature))
            continue
        if signature:
            parts.append(ThinkingPart(text="", signature=signature))
        if (
            field(item, "executableCode") is not None
            or field(item, "codeExecutionResult") is not None
        ):
            # Gemini's own code execution: another provider cannot take its record.
            if left_out is not None:
                left_out.append("code execution parts (Gemini's)")
            continue
        part = _parse_part(item, where, ids, signed=signature is not None)
        if part is not None:
            parts.append(part)
    return parts


def _parse_part(item: dict[str, Any], path: str, ids: CallIds, *, signed: bool) -> Part | None:
    if (text := field(item, "text")) is not None:
        text = expect_str(text, f"{path}.text")
        return TextPart(text) if text else None
    if (inline := field(item, "inlineData")) is not None:
        inline = expect_dict(inline, f"{path}.inlineData")
        media_type = expect_str(field(inline, "mimeType"), f"{path}.inlineData.mimeType")
        data = expect_str(field(inline, "data"), f"{path}.inlineData.data")
        return _media_part(media_type, path, data=data)
    if (file := field(item, "fileData")) is not None:
        file = expect_dict(file, f"{path}.fileData")
        media_type = expect_str(field(file, "mimeType") or "", f"{path}.fileData.mimeType")
        url = expect_str(field(file, "fileUri"), f"{path}.fileData.fileUri")
        return _media_part(media_type, path, url=url)
    if (call := field(item, "functionCall")) is not None:
        call = expect_dict(call, f"{path}.functionCall")
        name = expect_str(field(call, "name"), f"{path}.functionCall.name")
        args = field(call, "args")
        args = {} if args is None else expect_dict(args, f"{path}.functionCall.args")
        call_id = ids.call(name, field(call, "id"))
        return ToolCallPart(id=call_id, name=name, arguments=json.dumps(args, ensure_ascii=False))
    if (result := field(item, "functionResponse")) is not None:
        result = expect_dict(result, f"{path}.functionResponse")
        name = expect_str(field(result, "name"), f"{path}.functionResponse.name")
        response = expect_dict(field(result, "response"), f"{path}.functionResponse.response")
        content, is_error = _result_content(response)
        call_id = ids.result(name, field(result, "id"))
        return ToolResultPart(call_id, content, is_error=is_error, name=name)
    if signed:
        return None
    raise InvalidRequest(
        f"{path}: unsupported part; expected text, inlineData, fileData, functionCall"
        " or functionResponse"
    )


def _media_part(
    media_type: str, path: str, *, data: str | None = None, url: str | None = None
) -> Part:
    """Inline or linked media: images and documents travel, audio and video do not."""
    if not media_type or media_type.startswith("image/"):
        return ImagePart(media_type=media_type, data=data, url=url)
    if media_type == "application/pdf" or media_type.startswith("text/"):
        return DocumentPart(media_type=media_type, data=data, url=url)
    raise Untranslatable(
        f"{media_type} media", "other dialects take images and documents only", param=path
    )


def _result_content(response: dict[str, Any]) -> tuple[str, bool]:
    """A functionResponse object as neutral text: unwrap the usual one-key envelopes."""
    if len(response) == 1:
        ((key, value),) = response.items()
        if key == "error":
            return (value if isinstance(value, str) else json.dumps(value)), True
        if key in ("result", "output") and isinstance(value, str):
            return value, False
    return json.dumps(response, ensure_ascii=False), False


# -- parts: neutral -> Gemini ----------------------------------------------------------------


def render_parts(
    parts: Sequence[Part], names: Mapping[str, str], path: str, *, with_ids: bool
) -> list[dict[str, Any]]:
    """Neutral parts as Gemini `parts`; `names` maps tool call ids to function names.

    Raises:
        ValueError: naming the part that cannot be rendered.
    """
    out: list[dict[str, Any]] = []
    signature: str | None = None  # from an empty signed ThinkingPart, for the next part
    for j, part in enumerate(parts):
        if isinstance(part, ThinkingPart) and not part.text:
            if _readable(part.signature):
                if signature:
                    out.append({"text": "", "thoughtSignature": signature})
                signature = part.signature
            continue
        rendered = _render_part(part, names, f"{path}[{j}]", with_ids=with_ids)
        if signature and "thoughtSignature" in rendered:
            out.append({"text": "", "thoughtSignature": signature})
        elif signature:
            rendered["thoughtSignature"] = signature
        signature = None
        out.append(rendered)
    if signature:
        out.append({"text": "", "thoughtSignature": signature})
    return out


def _render_part(
    part: Part, names: Mapping[str, str], path: str, *, with_ids: bool
) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ThinkingPart):
        out: dict[str, Any] = {"text": part.text, "thought": True}
        if _readable(part.signature):
            out["thoughtSignature"] = part.signature
        return out
    if isinstance(part, ImagePart):
        return _render_image(part, path)
    if isinstance(part, DocumentPart):
        return _render_document(part)
    if isinstance(part, ToolCallPart):
        call: dict[str, Any] = {"name": part.name, "args": args_object(part.arguments, path)}
        if with_ids and part.id:
            call["id"] = part.id
        return {"functionCall": call}
    name = part.name or names.get(part.tool_call_id)
    if not name:
        raise ValueError(f"{path}: tool result {part.tool_call_id!r} answers no earlier tool call")
    result: dict[str, Any] = {
        "name": name,
        "response": _result_response(part.content, part.is_error),
    }
    if with_ids and part.tool_call_id:
        result["id"] = part.tool_call_id
    return {"functionResponse": result}


def _readable(signature: str | None) -> bool:
    """Whether Gemini can read a signature: its API and SDK take base64 bytes only, so other
    vendors' signatures (and made-up ones) are left out rather than failing the whole call."""
    if not signature:
        return False
    try:
        base64.b64decode(signature.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error:
        return False
    return True


def _render_image(part: ImagePart, path: str) -> dict[str, Any]:
    if part.data is not None:
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    if part.url and part.url.startswith("data:"):
        head, _, data = part.url[5:].partition(",")
        media_type = head.split(";")[0] or part.media_type
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if part.url:
        file: dict[str, Any] = {"fileUri": part.url}
        if part.media_type:
            file["mimeType"] = part.media_type
        return {"fileData": file}
    raise ValueError(f"{path}: image has neither data nor url")


def _render_document(part: DocumentPart) -> dict[str, Any]:
    if part.text is not None:
        title = f"{part.title}\n\n" if part.title else ""
        return {"text": f"{title}{part.text}"}
    if part.data is not None:
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    return {"fileData": {"fileUri": part.url or "", "mimeType": part.media_type}}


def _result_response(content: str, is_error: bool) -> dict[str, Any]:
    """Neutral tool output as the object Gemini wants; JSON objects go through as they are."""
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if isinstance(value, dict) and not is_error:
        return value
    return {"error" if is_error else "result": value if isinstance(value, dict) else content}


def args_object(arguments: str, path: str) -> dict[str, Any]:
    """Tool call arguments (JSON text) as the object Gemini carries.

    Raises:
        ValueError: the text is not a JSON object.
    """
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: tool call arguments are not a JSON object")
    return value


def sign_first_call(parts: list[dict[str, Any]]) -> None:
    """Give a model turn's first functionCall the skip signature if no call carries one."""
    calls = [p for p in parts if "functionCall" in p]
    if calls and not any("thoughtSignature" in p for p in calls):
        calls[0]["thoughtSignature"] = SKIP_SIGNATURE


# -- usage, finish reasons, statuses, schemas ------------------------------------------------


def _count(meta: Mapping[str, Any], camel: str) -> int:
    value = field(meta, camel)
    believable = isinstance(value, int) and not isinstance(value, bool)
    return value if believable and 0 < value <= MAX_TOKEN_COUNT else 0


def parse_usage(meta: Any) -> Usage:
    """`usageMetadata` in neutral form: the prompt count includes cached tokens, and the
    candidates count excludes thoughts, which neutral output counts."""
    if not isinstance(meta, Mapping):
        return Usage()
    prompt = _count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount")
    cached = min(_count(meta, "cachedContentTokenCount"), prompt)
    thoughts = _count(meta, "thoughtsTokenCount")
    return Usage(
        input_tokens=prompt - cached,
        output_tokens=_count(meta, "candidatesTokenCount") + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    """Neutral usage as `usageMetadata`; cache writes count as uncached prompt (no slot)."""
    thoughts = min(usage.reasoning_tokens, usage.output_tokens)
    meta: dict[str, Any] = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.output_tokens - thoughts,
        "totalTokenCount": usage.prompt_tokens + usage.output_tokens,
    }
    if usage.cache_read_tokens:
        meta["cachedContentTokenCount"] = usage.cache_read_tokens
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    return meta


def parse_finish(reason: Any, called: bool) -> StopReason:
    """A finishReason in neutral form; `called` says a functionCall part was seen."""
    if reason in (None, "", "STOP", "FINISH_REASON_UNSPECIFIED"):
        return "tool_use" if called else "end_turn"
    if reason == "MAX_TOKENS":
        return "max_tokens"
    # An upstream's reason may be any JSON (a list cannot be looked up in the set).
    return "refusal" if isinstance(reason, str) and reason in _REFUSALS else "error"


def status_name(status: int) -> str:
    """The google.rpc status name Gemini pairs with an HTTP status."""
    if status in _STATUSES:
        return _STATUSES[status]
    return "INVALID_ARGUMENT" if 400 <= status < 500 else "INTERNAL"


def json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-style `parameters` Schema as JSON Schema.

    The SDK sends uppercase types ("OBJECT"), `nullable`, and sometimes snake_case keywords;
    other dialects' upstreams want plain JSON Schema. Property names are left alone.
    """
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for raw_key, value in schema.items():
        head, *rest = raw_key.split("_")
        key = head + "".join(word.title() for word in rest) if raw_key[:1] != "$" else raw_key
        if key in _SCHEMA_DROPPED:
            continue
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_SUBSCHEMAS:
            out[key] = json_schema(value)
        else:
            out[key] = value
    if out.pop("nullable", None) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


# -- request settings: system, tools, tool choice, generation config ------------------------


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


def parse_tools(raw: Any, left_out: list[str]) -> tuple[ToolDef, ...]:
    """`tools[].functionDeclarations` as neutral tools; Gemini's built-in tools (Google Search,
    code execution, URL context, ...) are named in `left_out`: another provider cannot run them.
    """
    tools: list[ToolDef] = []
    for i, tool in enumerate(expect_list(raw or [], "tools")):
        tool = expect_dict(tool, f"tools[{i}]")
        for key in tool:
            if (
                key not in ("functionDeclarations", "function_declarations")
                and left_out is not None
            ):
                left_out.append(f"{key} tool (Gemini's)")
        path = f"tools[{i}].functionDeclarations"
        for j, decl in enumerate(expect_list(field(tool, "functionDeclarations") or [], path)):
            decl = expect_dict(decl, f"{path}[{j}]")
            name = expect_str(field(decl, "name"), f"{path}[{j}].name")
            description = expect_str(field(decl, "description") or "", f"{path}[{j}].description")
            if (schema := field(decl, "parametersJsonSchema")) is not None:
                schema = expect_dict(schema, f"{path}[{j}].parametersJsonSchema")
            elif (schema := field(decl, "parameters")) is not None:
                schema = json_schema(expect_dict(schema, f"{path}[{j}].parameters"))
            else:
                tools.append(ToolDef(name, description))
                continue
            tools.append(ToolDef(name, description, schema))
    return tuple(tools)


def parse_tool_choice(raw: Any) -> str | None:
    """`toolConfig.functionCallingConfig` as a neutral tool choice."""
    if raw is None:
        return None
    calling = field(expect_dict(raw, "toolConfig"), "functionCallingConfig")
    if calling is None:
        return None
    path = "toolConfig.functionCallingConfig"
    calling = expect_dict(calling, path)
    mode = field(calling, "mode")
    if mode is None or mode == "MODE_UNSPECIFIED":
        return None
    if not isinstance(mode, str) or mode.upper() not in _MODES:
        raise InvalidRequest(f"{path}.mode: expected AUTO, ANY, NONE or VALIDATED, got {mode!r}")
    allowed = expect_list(
        field(calling, "allowedFunctionNames") or [], f"{path}.allowedFunctionNames"
    )
    if mode.upper() == "ANY" and len(allowed) == 1:
        return expect_str(allowed[0], f"{path}.allowedFunctionNames[0]")
    return _MODES[mode.upper()]


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


def render_tool(tool: ToolDef) -> dict[str, Any]:
    """A neutral tool as a function declaration."""
    # parametersJsonSchema takes full JSON Schema; `parameters` is an OpenAPI subset that
    # rejects common keywords such as additionalProperties.
    decl: dict[str, Any] = {"name": tool.name, "parametersJsonSchema": function_parameters(tool)}
    description = custom_tool_description(tool) if tool.kind == "custom" else tool.description
    if description:
        decl["description"] = description
    return decl


def render_tool_choice(choice: str) -> dict[str, Any]:
    """A neutral tool choice as `functionCallingConfig`."""
    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
    if choice in modes:
        return {"mode": modes[choice]}
    return {"mode": "ANY", "allowedFunctionNames": [choice]}
