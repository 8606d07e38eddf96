"""The Google Gemini `generateContent` dialect, to and from the neutral form.

Requests come to `POST /v1beta/models/{model}:generateContent` (or `:streamGenerateContent
?alt=sse`); the model is in the URL, so `parse_request` takes it as an argument and
`render_request` leaves it out of the body. The REST API and the google-genai SDK write keys in
camelCase, though the SDK sends a few in snake_case: both are read.

What Gemini does differently from the other dialects:
- Function calls may come without ids, and results are matched to calls by name, in order.
  Missing ids are made up deterministically (`call_<name>_<n>`), and results take the id of the
  oldest unanswered call of their name; a neutral result without a name takes it from the call.
- Thought signatures ride on any part; they travel through the neutral form on empty, signed
  ThinkingParts (see `_gemini_parts.parse_parts`). A history without them gets Google's
  documented skip value, so Gemini 3 accepts tool calls made by another vendor's model.
- `promptTokenCount` includes cached tokens and `candidatesTokenCount` excludes thoughts.
- Streams are unnamed `data:` frames, each a whole response chunk; no `[DONE]`.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import InvalidRequest, ProviderFailure
from llmgw_desktop.engine.gateway.dialects._gemini_parts import (
    FINISH_REASONS,
    CallIds,
    args_object,
    field,
    parse_finish,
    parse_parts,
    parse_response_format,
    parse_system,
    parse_thinking,
    parse_tool_choice,
    parse_tools,
    parse_usage,
    render_config,
    render_parts,
    render_tool,
    render_tool_choice,
    render_usage,
    sign_first_call,
    status_name,
)
from llmgw_desktop.engine.gateway.dialects.base import SseFrame
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
    optional_int,
    optional_number,
)
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    Message,
    MessageEnd,
    MessageStart,
    Part,
    StopReason,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
    Usage,
)
from llmgw_desktop.engine.gateway.sse import frame
from llmgw_desktop.engine.gateway.translation import TargetModel, Untranslatable, left_out_fields

__all__ = ["GeminiDialect", "GeminiStreamDecoder", "GeminiStreamEncoder"]

_ROLES: dict[str, Literal["user", "assistant"]] = {
    "user": "user",
    "model": "assistant",
    "function": "user",
}
# Gemini's stream error statuses -> (neutral failure code, worth retrying).
_FAILURES = {
    "RESOURCE_EXHAUSTED": ("rate_limited", True),
    "UNAUTHENTICATED": ("auth_required", False),
    "PERMISSION_DENIED": ("auth_required", False),
    "DEADLINE_EXCEEDED": ("timeout", True),
    "UNAVAILABLE": ("provider_error", True),
    "INTERNAL": ("provider_error", True),
}


class GeminiDialect:
    """Google Gemini `generateContent` / `streamGenerateContent`."""

    name = "gemini"

    def parse_request(self, body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
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
            temperature=optional_number(
                field(config, "temperature"), "generationConfig.temperature"
            ),
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
        self,
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
        names = {
            p.id: p.name for m in request.messages for p in m.parts if isinstance(p, ToolCallPart)
        }
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

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        """A Gemini upstream's complete answer.

        Raises:
            ValueError: the body is not a Gemini answer.
        """
        if not isinstance(body, dict):
            raise ValueError("Gemini response: expected a JSON object")
        if isinstance(body.get("error"), dict):
            raise ValueError(f"Gemini response is an error: {body['error'].get('message')!r}")
        candidates = field(body, "candidates")
        feedback = field(body, "promptFeedback")
        if candidates is None and not isinstance(feedback, dict):
            raise ValueError("Gemini response: neither candidates nor promptFeedback")
        response_id = field(body, "responseId")
        response_id = response_id if isinstance(response_id, str) and response_id else _new_id()
        model = str(field(body, "modelVersion") or "")
        usage = parse_usage(field(body, "usageMetadata"))
        if not candidates:  # the prompt itself was blocked
            blocked = isinstance(feedback, dict) and field(feedback, "blockReason")
            return ChatResponse(response_id, model, (), "refusal" if blocked else "error", usage)
        if not isinstance(candidates, list) or not isinstance(candidates[0], dict):
            raise ValueError("Gemini response: candidates[0] is not an object")
        content = field(candidates[0], "content")
        raw_parts = field(content, "parts") if isinstance(content, dict) else None
        try:
            parts = parse_parts(raw_parts or [], "candidates[0].content.parts", CallIds())
        except InvalidRequest as exc:
            raise ValueError(f"Gemini response: {exc.message}") from exc
        called = any(isinstance(p, ToolCallPart) for p in parts)
        stop_reason = parse_finish(field(candidates[0], "finishReason"), called)
        return ChatResponse(response_id, model, tuple(parts), stop_reason, usage)

    def render_response(
        self, response: ChatResponse, request: ChatRequest | None = None
    ) -> dict[str, Any]:
        """The body a Gemini client expects.

        Raises:
            ValueError: a tool call's arguments are not a JSON object.
        """
        names = {p.id: p.name for p in response.parts if isinstance(p, ToolCallPart)}
        parts = render_parts(response.parts, names, "parts", with_ids=True)
        candidate: dict[str, Any] = {}
        if parts:  # Gemini leaves content out of a candidate it blocked
            candidate["content"] = {"role": "model", "parts": parts}
        candidate["finishReason"] = FINISH_REASONS[response.stop_reason]
        candidate["index"] = 0
        return {
            "candidates": [candidate],
            "usageMetadata": render_usage(response.usage),
            "modelVersion": response.model,
            "responseId": response.id,
        }

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder()

    def stream_encoder(self, request: ChatRequest) -> GeminiStreamEncoder:
        return GeminiStreamEncoder(request.model)

    def render_error(self, status: int, code: str, message: str) -> dict[str, Any]:
        """Google's error envelope: the HTTP status, the message and the rpc status name."""
        return {"error": {"code": status, "message": message, "status": status_name(status)}}


# -- requests --------------------------------------------------------------------------------


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


def _new_id() -> str:
    return f"gemini-{uuid.uuid4().hex}"


# -- streams ---------------------------------------------------------------------------------


class GeminiStreamDecoder:
    """Reads `streamGenerateContent?alt=sse` chunks into neutral events."""

    def __init__(self) -> None:
        self._started = False
        self._ended = False
        self._called = False
        self._ids = CallIds()
        self._usage: dict[str, Any] = {}  # every usageMetadata seen, later fields winning
        self._next_index = 0
        self._open: tuple[str, int] | None = None  # the text or thinking block still growing

    def feed(self, frame: SseFrame) -> list[StreamEvent]:
        """Events for one chunk.

        Raises:
            ValueError: the frame is not a Gemini chunk.
            ProviderFailure: the upstream reported an error mid-stream.
        """
        data = frame[1].strip()
        if self._ended or not data or data == "[DONE]":
            return []
        try:
            chunk = jsonio.loads(data)
        except ValueError as exc:
            raise ValueError(f"Gemini stream: frame is not JSON: {data[:80]!r}") from exc
        if not isinstance(chunk, dict):
            raise ValueError("Gemini stream: frame is not a JSON object")
        if isinstance(chunk.get("error"), dict):
            raise _failure(chunk["error"])
        if isinstance(meta := field(chunk, "usageMetadata"), dict):
            self._usage.update(meta)
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            known = parse_usage(self._usage)
            response_id = field(chunk, "responseId")
            events.append(
                MessageStart(
                    id=response_id if isinstance(response_id, str) and response_id else _new_id(),
                    model=str(field(chunk, "modelVersion") or ""),
                    usage=Usage(
                        input_tokens=known.input_tokens, cache_read_tokens=known.cache_read_tokens
                    ),
                )
            )
        candidates = field(chunk, "candidates")
        if not isinstance(candidates, list) or not candidates:
            feedback = field(chunk, "promptFeedback")
            if isinstance(feedback, dict) and field(feedback, "blockReason"):
                events.append(self._end("refusal"))
            return events
        candidate = _expect_candidate(candidates[0])
        content = field(candidate, "content")
        if isinstance(content, dict) and field(content, "parts"):
            try:
                parts = parse_parts(
                    field(content, "parts"), "candidates[0].content.parts", self._ids
                )
            except InvalidRequest as exc:
                raise ValueError(f"Gemini stream: {exc.message}") from exc
            events.extend(self._deltas(parts))
        if reason := field(candidate, "finishReason"):
            events.append(self._end(parse_finish(reason, self._called)))
        return events

    def close(self) -> list[StreamEvent]:
        """Nothing is owed after a finishReason.

        Raises:
            ValueError: the stream ended before the chunk with the finishReason.
        """
        if self._ended:
            return []
        if not self._started:
            raise ValueError("Gemini stream ended before its first chunk")
        raise ValueError("Gemini stream ended without a finishReason")

    def _deltas(self, parts: list[Part]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for part in parts:
            if isinstance(part, TextPart):
                events.append(TextDelta(self._block("text"), part.text))
            elif isinstance(part, ThinkingPart) and part.text:
                events.append(ThinkingDelta(self._block("thinking"), part.text))
            elif isinstance(part, ToolCallPart):
                # Gemini sends each call whole: one start and one delta with all the arguments.
                index, self._open, self._called = self._next_index, None, True
                self._next_index += 1
                events.append(ToolCallStart(index, part.id, part.name))
                events.append(ToolCallDelta(index, part.arguments))
            # Signatures, images and tool results have no neutral stream event.
        return events

    def _block(self, kind: str) -> int:
        if self._open is None or self._open[0] != kind:
            self._open = (kind, self._next_index)
            self._next_index += 1
        return self._open[1]

    def _end(self, reason: StopReason) -> MessageEnd:
        self._ended = True
        return MessageEnd(reason, parse_usage(self._usage))


def _expect_candidate(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("Gemini stream: candidates[0] is not an object")
    return raw


def _failure(error: dict[str, Any]) -> ProviderFailure:
    status = str(error.get("status") or "")
    code, retryable = _FAILURES.get(status, ("provider_error", False))
    message = f"Gemini stream error {error.get('code')} {status}: {error.get('message')}"
    return ProviderFailure(message, code=code, retryable=retryable, status=error.get("code"))


class GeminiStreamEncoder:
    """Writes neutral events as the chunks `streamGenerateContent?alt=sse` sends."""

    def __init__(self, model: str) -> None:
        self._id = _new_id()
        self._model = model
        self._start_usage = Usage()
        self._call: tuple[int, str, str] | None = None  # index, id, name of a call being built
        self._arguments: list[str] = []

    def encode(self, event: StreamEvent) -> bytes:
        """The chunk(s) due for this event (tool calls wait until their arguments are whole).

        Raises:
            ValueError: a finished tool call's arguments are not a JSON object.
        """
        if isinstance(event, MessageStart):
            self._id = event.id or self._id
            self._model = event.model or self._model
            self._start_usage = event.usage
            return b""
        if isinstance(event, ToolCallDelta):
            if self._call is not None and self._call[0] == event.index:
                self._arguments.append(event.arguments)
            return b""
        if isinstance(event, MessageEnd):
            usage = self._final_usage(event.usage)
            parts = self._finished_call() or [{"text": ""}]
            return self._chunk(parts, finish=FINISH_REASONS[event.stop_reason], usage=usage)
        pending = self._finished_call()
        out = self._chunk(pending) if pending else b""
        if isinstance(event, ToolCallStart):
            self._call, self._arguments = (event.index, event.id, event.name), []
        elif event.text:
            part: dict[str, Any] = {"text": event.text}
            if isinstance(event, ThinkingDelta):
                part["thought"] = True
            out += self._chunk([part])
        return out

    def close(self) -> bytes:
        return b""  # Gemini streams just end

    def error(self, status: int, code: str, message: str) -> bytes:
        return frame({"error": {"code": status, "message": message, "status": status_name(status)}})

    def _finished_call(self) -> list[dict[str, Any]]:
        if self._call is None:
            return []
        index, call_id, name = self._call
        args = args_object("".join(self._arguments), f"tool call {index}")
        self._call, self._arguments = None, []
        return [{"functionCall": {"name": name, "args": args, "id": call_id}}]

    def _final_usage(self, end: Usage) -> Usage:
        # MessageEnd should carry the full total; keep what MessageStart announced regardless.
        start = self._start_usage
        return Usage(
            input_tokens=max(end.input_tokens, start.input_tokens),
            output_tokens=end.output_tokens,
            cache_read_tokens=max(end.cache_read_tokens, start.cache_read_tokens),
            cache_write_tokens=max(end.cache_write_tokens, start.cache_write_tokens),
            reasoning_tokens=end.reasoning_tokens,
        )

    def _chunk(
        self, parts: list[dict[str, Any]], *, finish: str | None = None, usage: Usage | None = None
    ) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = render_usage(usage)
        elif prompt := self._start_usage.prompt_tokens:
            # Like Gemini, say the prompt count on every chunk once it is known.
            chunk["usageMetadata"] = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            if self._start_usage.cache_read_tokens:
                chunk["usageMetadata"]["cachedContentTokenCount"] = (
                    self._start_usage.cache_read_tokens
                )
        chunk["modelVersion"] = self._model
        chunk["responseId"] = self._id
        return frame(chunk)
