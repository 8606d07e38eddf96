"""Gemini: generateContent, streamGenerateContent?alt=sse and countTokens under /v1beta/models."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Final

from .script import (
    GEMINI_CACHED_TOKENS,
    GEMINI_CANDIDATES_TOKENS,
    GEMINI_PROMPT_TOKENS,
    GEMINI_THOUGHTS_TOKENS,
    ToolCall,
)
from .sse import AnswerFacts, JsonObject, StreamAnswer, split_text, sse_event

name = "gemini"

# Google's own frames end with CRLF; parsers that only split on "\n\n" should meet that here.
_EOL = "\r\n"
STATUS_NAMES: Final[Mapping[int, str]] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def usage() -> JsonObject:
    """usageMetadata of every answer: cached inside prompt, thoughts beside candidates."""
    return {
        "promptTokenCount": GEMINI_PROMPT_TOKENS,
        "candidatesTokenCount": GEMINI_CANDIDATES_TOKENS,
        "thoughtsTokenCount": GEMINI_THOUGHTS_TOKENS,
        "cachedContentTokenCount": GEMINI_CACHED_TOKENS,
        "totalTokenCount": GEMINI_PROMPT_TOKENS + GEMINI_CANDIDATES_TOKENS + GEMINI_THOUGHTS_TOKENS,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": GEMINI_PROMPT_TOKENS}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": GEMINI_CACHED_TOKENS}],
    }


def facts(body: JsonObject) -> AnswerFacts:
    """Content count and the last user text."""
    contents = body.get("contents") or []
    return AnswerFacts(len(contents), _last_user_text(contents))


def _last_user_text(contents: list[JsonObject]) -> str:
    for content in reversed(contents):
        if content.get("role", "user") != "user":
            continue
        for part in reversed(content.get("parts") or []):
            if "text" in part:
                return str(part["text"])
    return ""


def wanted_schema(body: JsonObject) -> JsonObject | None:
    """The schema a JSON-mode request asks for, or None when it wants prose."""
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") != "application/json":
        return None
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return schema if isinstance(schema, dict) else {"type": "object"}


def _chunk(model: str, response_id: str, parts: list[JsonObject], last: bool) -> JsonObject:
    candidate: JsonObject = {"content": {"parts": parts, "role": "model"}, "index": 0}
    chunk: JsonObject = {
        "candidates": [candidate],
        "modelVersion": model,
        "responseId": response_id,
    }
    if last:
        # A function call ends the turn with STOP too: Gemini has no "tool use" reason.
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = usage()
    return chunk


def _function_call_part(call: ToolCall) -> JsonObject:
    # The Gemini API leaves functionCall.id unset, so call.call_id does not appear.
    return {"functionCall": {"name": call.name, "args": call.arguments}}


def json_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> JsonObject:
    """A complete GenerateContentResponse; with `call`, a functionCall part after any text."""
    parts = [{"text": text}] if text or call is None else []
    if call is not None:
        parts.append(_function_call_part(call))
    return _chunk(model, "fake-" + uuid.uuid4().hex[:16], parts, last=True)


def stream_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> StreamAnswer:
    """Unnamed data frames, each a GenerateContentResponse; usage only on the last one.

    Text comes in pieces; a function call comes whole in its own chunk after them.
    """
    response_id = "fake-" + uuid.uuid4().hex[:16]
    # JSON answers go in one piece: a client may parse each chunk of a JSON-mode stream.
    pieces = [text] if wanted_schema(body) is not None else split_text(text)
    chunk_parts = [[{"text": piece}] for piece in pieces] if text or call is None else []
    if call is not None:
        chunk_parts.append([_function_call_part(call)])
    frames = [
        sse_event(_chunk(model, response_id, parts, last=i == len(chunk_parts) - 1), eol=_EOL)
        for i, parts in enumerate(chunk_parts)
    ]
    return StreamAnswer(frames, cut_after=0)


def malformed_json() -> bytes:
    """A GenerateContentResponse that stops inside the first candidate."""
    return b'{"candidates":[{"content":'


def malformed_stream() -> list[bytes]:
    """A chunk cut inside a string, then a data line that is not JSON."""
    return [
        b'data: {"candidates":[{"content":{"parts":[{"text":"bro\r\n\r\n',
        sse_event("not json", eol=_EOL),
    ]


def error(status: int, message: str) -> tuple[JsonObject, dict[str, str]]:
    """The Google error envelope {"error": {code, message, status}}."""
    default = "UNAVAILABLE" if status >= 500 else "FAILED_PRECONDITION"
    return {
        "error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, default)}
    }, {}


def key_refused() -> tuple[int, JsonObject]:
    """What the Gemini API answers a key it does not know: not a 401 but a 400
    `INVALID_ARGUMENT` whose `ErrorInfo` detail gives the reason `API_KEY_INVALID`."""
    message = "API key not valid. Please pass a valid API key."
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }
    localized = {
        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
        "locale": "en-US",
        "message": message,
    }
    error = {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
    return 400, {"error": error | {"details": [info, localized]}}


def count_tokens_answer(total_tokens: int) -> JsonObject:
    """POST :countTokens."""
    return {"totalTokens": total_tokens}


DEFAULT_MODEL_IDS = ("gemini-2.5-pro", "gemini-2.5-flash")


def models_list(
    ids: Sequence[str] | None = None, *, page_token: str | None = None, page_size: int | None = None
) -> JsonObject:
    """GET /v1beta/models: a page of at most `page_size` models from `page_token` (the index
    to start at), with `nextPageToken` while more remain. An id ending in "-embedding" is
    listed as an embedding model (it cannot `generateContent`), as Gemini lists those too."""
    listed = list(DEFAULT_MODEL_IDS if ids is None else ids)
    start = int(page_token) if page_token and page_token.isdigit() else 0
    end = len(listed) if page_size is None else start + page_size
    page: JsonObject = {
        "models": [
            {
                "name": f"models/{m}",
                "displayName": f"{m} (fake)",
                "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": (
                    ["embedContent"]
                    if m.endswith("-embedding")
                    else ["generateContent", "countTokens"]
                ),
            }
            for m in listed[start:end]
        ]
    }
    if end < len(listed):
        page["nextPageToken"] = str(end)
    return page
